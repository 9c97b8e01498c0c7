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
// - other packages, @xdskit ones included (a bundle never inlines another
//   package: one XdskitError class, one codec registry, one rxjs);
// - the generated modules of @xdskit/envoy-api (dist/gen/), which are public
//   subpaths (`@xdskit/envoy-api/envoy/config/cluster/v3/cluster`) and load
//   each other; the bundle imports them from the same files.
// Entry points of one package share their modules through chunks.
//
// Runs after `tsc -b` (`pnpm build`); `pnpm test:pack` runs it again before
// packing. The workspace itself (tests, tools) keeps using the tsc output.
import { existsSync, readFileSync, rmSync } from "node:fs";
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

export async function bundlePackage(name) {
  const dir = join(root, "packages", name);
  const dist = join(dir, "dist");
  const { input } = entriesOf(dir);
  for (const file of Object.values(input)) {
    if (!existsSync(file)) throw new Error(`${relative(root, file)} is missing: run tsc -b (pnpm build) first`);
  }
  const { rolldown } = await import("rolldown");
  const bundle = await rolldown({
    input,
    platform: "node",
    // Keep every module's top-level code, as Node would run it.
    treeshake: { moduleSideEffects: true },
    // Bare specifiers stay imports: node builtins, dependencies, other @xdskit packages.
    external: (id) => !id.startsWith(".") && !id.startsWith("/"),
    plugins: [
      {
        // A generated module is imported by its public subpath (as the codec
        // registry loads them), which resolves to the same file.
        name: "generated-modules-by-subpath",
        resolveId(id, importer) {
          if (!importer || !id.startsWith(".")) return null;
          const path = join(dirname(importer), id);
          const gen = join(dist, "gen");
          if (!path.startsWith(`${gen}/`)) return null;
          return { id: `@xdskit/${name}/${relative(gen, path).replace(/\.js$/, "")}`, external: true };
        },
      },
    ],
  });
  const out = join(dist, "bundle");
  rmSync(out, { recursive: true, force: true });
  await bundle.write({ dir: out, format: "esm", entryFileNames: "[name].js", chunkFileNames: "shared-[hash].js" });
  await bundle.close();
  return Object.keys(input);
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
