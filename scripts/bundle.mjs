#!/usr/bin/env node
// Bundles the built entry points of the packages `import "@xdskit/server"`
// goes through (envoy-api, resources, cache, server) into one file per entry
// (dist/bundle/), what their published package.json points to
// (`publishConfig.exports`). Why: most of the import time is Node loading
// files one by one (resolving, reading, compiling each), not running them;
// the four packages are about 70 files of tsc output. See docs/benchmarks.md,
// "Import time".
//
// What stays a file of its own, so that every module has one instance:
// other packages, @xdskit ones included (a bundle never inlines another
// package: one XdskitError class, one codec registry, one rxjs).
//
// envoy-api's generated modules are public subpaths
// (`@xdskit/envoy-api/envoy/config/cluster/v3/cluster`, which the codec
// registry also loads by name): each is an entry of envoy-api's bundle, published
// as dist/bundle/gen/<path>.js (`publishConfig.exports["./*"]`). Those that
// `import "@xdskit/server"` loads (the discovery messages, the service
// definitions and what they import, about 40; not CSDS, LRS nor JSON, which
// only the root entry imports: packages/envoy-api/src/core.ts) share one chunk,
// `shared-core-*.js`, with envoy-api's runtime modules; those of the resources
// every HTTP control plane serves (clusters, endpoints, listeners, routes, the
// HTTP connection manager and router, about 45 more) share another,
// `shared-resources-*.js`; each subpath file of theirs only re-exports from its
// chunk. Other generated modules are one file each or share automatic chunks.
// Entry points of one package share their modules through chunks.
//
// Runs after `tsc -b` (`pnpm build`); `pnpm test:pack` runs it again before
// packing. The workspace itself (tests, tools) keeps using the tsc output.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** The bundled packages: each `exports` entry of a `.js` file under dist/ becomes a bundle entry. */
export const BUNDLED = ["envoy-api", "resources", "cache", "server"];

/** `{ "./descriptors": "descriptors", ... }` → rolldown input `{ descriptors: dist/descriptors.js }`. */
function entriesOf(dir) {
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const input = {};
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const file = typeof target === "object" ? target.default : target;
    if (subpath.includes("*") || !file?.startsWith("./dist/") || !file.endsWith(".js")) continue;
    input[file.slice("./dist/".length, -".js".length)] = join(dir, file);
  }
  return { manifest, input };
}

/** Every `.js` file under `dir`, recursively. */
function jsFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...jsFiles(path));
    else if (entry.endsWith(".js") && !entry.endsWith(".test.js")) out.push(path);
  }
  return out;
}

const STATIC_IMPORT = /^(?:import|export)\s[^;]*?\sfrom\s"([^"]+)";/gm;

/**
 * The generated modules (and envoy-api's internal modules) that
 * `import "@xdskit/server"` loads: what the entry points on its import path
 * import (server, cache, resources/descriptors, envoy-api's root), followed
 * through relative imports and `@xdskit/envoy-api/<path>` subpaths. They become
 * one chunk of envoy-api's bundle (`shared-core-*.js`) instead of about 40 files.
 */
function coreModulesOf(envoyDist) {
  const entries = ["server/dist/index.js", "cache/dist/index.js", "resources/dist/descriptors.js", "envoy-api/dist/core.js"];
  const seen = closureOf(
    envoyDist,
    entries.map((entry) => join(root, "packages", entry)),
  );
  // With them, the runtime modules core.js re-exports (errors, registry, schema,
  // type URLs): one file where they would be a chunk of their own. What only the
  // root entry imports (CSDS, LRS, JSON, YAML) stays out of it.
  const entryFiles = [join(envoyDist, "core.js"), join(envoyDist, "index.js")];
  return new Set([...seen].filter((file) => file.startsWith(`${envoyDist}/`) && !entryFiles.includes(file)));
}

/**
 * The generated modules of the resources every HTTP control plane serves
 * (Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, the
 * HttpConnectionManager and router filters) and what they import, less the
 * core chunk: one chunk of envoy-api's bundle (`shared-resources-*.js`), which
 * a server loads with its first of them, instead of about 45 files (each of
 * which Node resolves, reads and links on its own).
 */
function resourceModulesOf(envoyDist, core) {
  const paths = [
    "envoy/config/cluster/v3/cluster",
    "envoy/config/endpoint/v3/endpoint",
    "envoy/config/listener/v3/listener",
    "envoy/config/route/v3/route",
    "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager",
    "envoy/extensions/filters/http/router/v3/router",
  ];
  const seen = closureOf(
    envoyDist,
    paths.map((path) => join(envoyDist, "gen", `${path}.js`)),
  );
  return new Set([...seen].filter((file) => file.startsWith(`${join(envoyDist, "gen")}/`) && !core.has(file)));
}

/** `files` and every module they import statically, through relative imports and envoy-api's subpaths. */
function closureOf(envoyDist, files) {
  const gen = join(envoyDist, "gen");
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, specifier] of readFileSync(file, "utf8").matchAll(STATIC_IMPORT)) {
      if (specifier.startsWith(".")) visit(join(dirname(file), specifier));
      else if (specifier === "@xdskit/envoy-api/core") visit(join(envoyDist, "core.js"));
      else if (specifier.startsWith("@xdskit/envoy-api/")) visit(join(gen, `${specifier.slice("@xdskit/envoy-api/".length)}.js`));
    }
  };
  for (const file of files) visit(file);
  return seen;
}

export async function bundlePackage(name) {
  const dir = join(root, "packages", name);
  const dist = join(dir, "dist");
  const { input } = entriesOf(dir);
  for (const file of Object.values(input)) {
    if (!existsSync(file)) throw new Error(`${relative(root, file)} is missing: run tsc -b (pnpm build) first`);
  }
  // envoy-api: every generated module is an entry of its own (the public
  // subpaths `@xdskit/envoy-api/<path>`, published as dist/bundle/gen/<path>.js),
  // and those the server's import needs share one chunk.
  const generated = name === "envoy-api";
  let core = new Set();
  let resources = new Set();
  if (generated) {
    for (const file of jsFiles(join(dist, "gen"))) input[`gen/${relative(join(dist, "gen"), file).slice(0, -".js".length)}`] = file;
    core = coreModulesOf(dist);
    resources = resourceModulesOf(dist, core);
  }
  const { rolldown } = await import("rolldown");
  const bundle = await rolldown({
    input,
    platform: "node",
    // Keep every module's top-level code, as Node would run it.
    treeshake: { moduleSideEffects: true },
    // Bare specifiers stay imports: node builtins, dependencies, other @xdskit packages.
    external: (id) => !id.startsWith(".") && !id.startsWith("/"),
    // An entry's exports are its public API: keep them as they are.
    preserveEntrySignatures: "strict",
  });
  const out = join(dist, "bundle");
  rmSync(out, { recursive: true, force: true });
  await bundle.write({
    dir: out,
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "shared-[name]-[hash].js",
    // ASCII only, without comments (the doc comments are in the .d.ts files):
    // V8 keeps each module's source for as long as the module lives, and one
    // non-ASCII character (a "—" in a comment) makes the whole file a two-byte
    // string, twice the memory. The bundles on the server's import path hold
    // about 1 MiB less heap this way.
    charset: "ascii",
    comments: false,
    ...(generated
      ? {
          codeSplitting: {
            groups: [
              { name: "core", test: (id) => core.has(id) },
              { name: "resources", test: (id) => resources.has(id) },
            ],
          },
        }
      : {}),
  });
  await bundle.close();
  return Object.keys(input).filter((entry) => !entry.startsWith("gen/"));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  try {
    await import("rolldown");
  } catch {
    // A worktree installed before rolldown became a devDependency: the build
    // still works for tests, which use the tsc output; packing needs bundles
    // and fails loudly (pnpm test:pack bundles before packing).
    console.warn("bundle: skipped, rolldown is not installed (run pnpm install); only packing needs the bundles");
    process.exit(0);
  }
  for (const name of BUNDLED) {
    const entries = await bundlePackage(name);
    console.log(`bundle: @xdskit/${name} (${entries.join(", ")}) -> packages/${name}/dist/bundle/`);
  }
  console.log(`bundle: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
