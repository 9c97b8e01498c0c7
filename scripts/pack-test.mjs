#!/usr/bin/env node
// Proves the packages are publishable as users consume them: packs every
// public package with `pnpm pack` (which rewrites workspace:^ to versions),
// installs the tarballs with plain npm into a scratch project outside the
// workspace, and runs scripts/pack-smoke.mjs there, which imports every
// package through its public entry points and serves config to a FakeEnvoy
// over a real socket.
//
// Then it copies every example (examples/*) and two consumer projects
// (scripts/consumers/esm, scripts/consumers/cjs: a TypeScript ESM project and
// a CommonJS one as `npm init -y` makes it) out of the repository, installs
// them with plain npm against the tarballs, builds them with their own
// tsconfig and runs their tests: what a user who copies a starter gets.
//
// Run after `pnpm build`: `pnpm test:pack`. `--skip-examples` stops after the
// consumers. `--keep-app <dir>` installs the tarballs in <dir> and keeps it
// (`node packages/benchmarks/dist/import-time.js --installed <dir>` measures
// the import time of the packages as published).
//
// envoy-api, resources, cache and server publish bundles of their entry
// points (scripts/bundle.mjs, `publishConfig.exports`): this bundles them
// again first, so that what is packed is what was built.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUNDLED, bundlePackage } from "./bundle.mjs";
import { copyOut, npm, tarballsByName } from "./copy-out.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const packagesDir = join(root, "packages");
const publicPackages = readdirSync(packagesDir)
  .map((dir) => ({ dir: join(packagesDir, dir), manifest: JSON.parse(readFileSync(join(packagesDir, dir, "package.json"), "utf8")) }))
  .filter((p) => !p.manifest.private);

/**
 * What a user gets from npm: the license, the changelog, a README whose links
 * work on npmjs.com (absolute), and source maps that carry their sources (no
 * maps into src/ files that are not shipped).
 */
function checkTarballContents(name, tarball) {
  const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8", maxBuffer: 64 << 20 })
    .split("\n")
    .filter(Boolean);
  for (const required of ["package/LICENSE", "package/README.md", "package/CHANGELOG.md"]) {
    if (!listing.includes(required)) {
      throw new Error(
        `${name}: the tarball has no ${required.slice(8)} (add the file to the package folder and to "files"; LICENSE is a copy of the root one)`,
      );
    }
  }
  const license = execFileSync("tar", ["-xzOf", tarball, "package/LICENSE"], { encoding: "utf8" });
  if (license !== readFileSync(join(root, "LICENSE"), "utf8"))
    throw new Error(`${name}: LICENSE differs from the repository's Apache-2.0 LICENSE`);
  const readme = execFileSync("tar", ["-xzOf", tarball, "package/README.md"], { encoding: "utf8" });
  const relative = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]).filter((href) => !/^(https?:|#)/.test(href));
  if (relative.length > 0) throw new Error(`${name}: README links that break on npm (use absolute URLs): ${relative.join(", ")}`);
  const declarationMaps = listing.filter((f) => f.endsWith(".d.ts.map"));
  if (declarationMaps.length > 0) {
    throw new Error(`${name}: ships declaration maps into unshipped sources: ${declarationMaps[0]} (add "!dist/**/*.d.ts.map" to "files")`);
  }
  const maps = listing.filter((f) => f.endsWith(".js.map"));
  if (maps.length > 0) {
    const sample = JSON.parse(execFileSync("tar", ["-xzOf", tarball, maps[0]], { encoding: "utf8" }));
    if (!Array.isArray(sample.sourcesContent) || sample.sourcesContent.length !== sample.sources.length) {
      throw new Error(`${name}: ${maps[0]} does not embed its sources (add "inlineSources": true to the package's tsconfig.json)`);
    }
  }
}

const scratch = mkdtempSync(join(tmpdir(), "xdskit-pack-"));
const tarballs = join(scratch, "tarballs");
mkdirSync(tarballs);
let failed = 0;
let passed = 0;
const check = (name, fn) => {
  try {
    fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${name}\n${error.stdout ?? ""}${error.stderr ?? ""}${error.message}`);
  }
};

const keepApp = process.argv.includes("--keep-app") ? process.argv[process.argv.indexOf("--keep-app") + 1] : undefined;

try {
  for (const name of BUNDLED) await bundlePackage(name);
  for (const { dir, manifest } of publicPackages) {
    check(`pack ${manifest.name}`, () => {
      const before = new Set(readdirSync(tarballs));
      execFileSync("pnpm", ["pack", "--pack-destination", tarballs], { cwd: dir, stdio: "pipe" });
      for (const field of ["exports", "files", "version", "types", "license", "repository", "homepage", "bugs"]) {
        if (!manifest[field])
          throw new Error(`${manifest.name}: package.json has no "${field}" (see packages/cache/package.json for the shape)`);
      }
      const tarball = readdirSync(tarballs).find((f) => !before.has(f));
      checkTarballContents(manifest.name, join(tarballs, tarball));
    });
  }
  const app = keepApp ?? join(scratch, "app");
  if (keepApp) rmSync(keepApp, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch-app", private: true, type: "module" }, null, 2));
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  check("npm install the tarballs outside the workspace", () => {
    for (const file of files) {
      const listing = execFileSync("tar", ["-tzf", file], { encoding: "utf8" });
      if (listing.includes("workspace:")) throw new Error(`${file} still mentions workspace:`);
      const manifest = execFileSync("tar", ["-xzOf", file, "package/package.json"], { encoding: "utf8" });
      if (manifest.includes("workspace:")) throw new Error(`${file}: package.json still has a workspace: dependency`);
      const { name, exports } = JSON.parse(manifest);
      const bundle = BUNDLED.includes(name.replace("@xdskit/", "")) ? exports["."]?.default : undefined;
      if (bundle !== undefined && (bundle !== "./dist/bundle/index.js" || !listing.includes("package/dist/bundle/index.js"))) {
        throw new Error(`${name}: the packed exports do not point to its bundle (publishConfig.exports; scripts/bundle.mjs)`);
      }
      // envoy-api's generated subpaths are entries of its bundle too, sharing their codecs with the root entry.
      const generated = name === "@xdskit/envoy-api" ? exports["./*"]?.default : undefined;
      const discovery = "package/dist/bundle/gen/envoy/service/discovery/v3/discovery.js";
      if (name === "@xdskit/envoy-api" && (generated !== "./dist/bundle/gen/*.js" || !listing.includes(discovery))) {
        throw new Error(`${name}: the packed subpath exports do not point to the bundled generated modules (scripts/bundle.mjs)`);
      }
    }
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...files, "@grpc/grpc-js@^1.14.0"], {
      cwd: app,
      stdio: "pipe",
    });
  });
  copyFileSync(join(root, "scripts", "pack-smoke.mjs"), join(app, "smoke.mjs"));
  check("the installed packages import and serve a FakeEnvoy", () => {
    const out = execFileSync("node", ["smoke.mjs"], { cwd: app, encoding: "utf8", stdio: "pipe", timeout: 60_000 });
    process.stdout.write(out);
  });
  check('the published import "@xdskit/server" loads few files (docs/benchmarks.md, "Import time")', () => {
    // Every module file V8 compiles, from an inspector session opened first: ES
    // modules, CommonJS and require(esm) alike.
    const script = `
      import { Session } from "node:inspector";
      const urls = new Set();
      const session = new Session();
      session.connect();
      session.on("Debugger.scriptParsed", ({ params: { url } }) => url.startsWith("file:") && urls.add(url));
      session.post("Debugger.enable");
      await import("@xdskit/server");
      console.log(JSON.stringify([...urls]));`;
    const urls = JSON.parse(execFileSync("node", ["--input-type=module", "-e", script], { cwd: app, encoding: "utf8", timeout: 60_000 }));
    const ours = urls.filter((u) => u.includes("/node_modules/@xdskit/"));
    const generated = ours.filter((u) => u.includes("/dist/bundle/gen/"));
    const protobuf = urls.filter((u) => u.includes("/@bufbuild/protobuf/"));
    // The bundles and envoy-api's core chunk: no generated subpath (the server imports the
    // protocol messages from envoy-api's root), no tsc output, no protobuf reflection.
    // Sources V8 keeps as one-byte strings (scripts/bundle.mjs: charset).
    const nonAscii = ours.filter((u) => /[^\t\n\r -~]/.test(readFileSync(new URL(u), "utf8")));
    if (nonAscii.length > 0) throw new Error(`bundles with non-ASCII characters:\n${nonAscii.join("\n")}`);
    if (ours.some((u) => !u.includes("/dist/bundle/")) || generated.length > 0 || protobuf.length > 4) {
      throw new Error(`the server's import loads more than expected:\n${[...ours, ...protobuf].join("\n")}`);
    }
    console.log(
      `     ${ours.length} files of @xdskit packages (${generated.length} generated subpaths), ${protobuf.length} of @bufbuild/protobuf`,
    );
  });

  const byName = tarballsByName(tarballs);
  const typescript = { typescript: rootManifest.devDependencies.typescript, "@types/node": rootManifest.devDependencies["@types/node"] };
  for (const kind of ["esm", "cjs"]) {
    check(`a TypeScript ${kind.toUpperCase()} project builds against the tarballs and runs`, () => {
      const dir = join(scratch, `consumer-${kind}`);
      copyOut(join(root, "scripts", "consumers", kind), dir, byName, { ...typescript, "@grpc/grpc-js": "^1.14.0" });
      npm(dir, "install");
      npm(dir, "run", "build");
      process.stdout.write(execFileSync("node", ["dist/index.js"], { cwd: dir, encoding: "utf8", timeout: 60_000 }));
    });
  }

  const examples = process.argv.includes("--skip-examples")
    ? []
    : readdirSync(join(root, "examples"), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort();
  for (const example of examples) {
    check(`examples/${example} copied out: npm install, build, test`, () => {
      const started = Date.now();
      const dir = join(scratch, "starters", example);
      copyOut(join(root, "examples", example), dir, byName);
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      for (const script of ["build", "test"])
        if (!manifest.scripts?.[script]) throw new Error(`examples/${example} has no "${script}" script`);
      npm(dir, "install");
      npm(dir, "run", "build");
      npm(dir, "test");
      console.log(`     (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`pack test: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
