// Copies a project (an example, a consumer) out of the repository and installs
// it the way a user would, with plain npm, except that the @xdskit packages
// come from the packed tarballs instead of the registry. Used by
// scripts/pack-test.mjs.
import { execFileSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

/** `@xdskit/cache` -> the tarball `xdskit-cache-0.1.0.tgz` in `tarballs`. */
export function tarballsByName(tarballs) {
  const byName = new Map();
  for (const file of readdirSync(tarballs)) {
    const manifest = JSON.parse(execFileSync("tar", ["-xzOf", join(tarballs, file), "package/package.json"], { encoding: "utf8" }));
    byName.set(manifest.name, join(tarballs, file));
  }
  return byName;
}

/**
 * Copies `source` to `target` without node_modules, dist and build info, then
 * points every @xdskit dependency at its tarball. The other @xdskit packages
 * are added as dev dependencies from their tarballs too, so that npm resolves
 * the packages' own @xdskit dependencies to them and never asks the registry.
 */
export function copyOut(source, target, byName, extraDevDependencies = {}) {
  cpSync(source, target, {
    recursive: true,
    filter: (path) => !["node_modules", "dist", "tsconfig.tsbuildinfo"].includes(basename(path)),
  });
  const file = join(target, "package.json");
  const manifest = JSON.parse(readFileSync(file, "utf8"));
  manifest.dependencies ??= {};
  manifest.devDependencies = { ...manifest.devDependencies, ...extraDevDependencies };
  for (const deps of [manifest.dependencies, manifest.devDependencies]) {
    for (const name of Object.keys(deps)) {
      if (!name.startsWith("@xdskit/")) continue;
      if (!byName.has(name)) throw new Error(`${source}: depends on ${name}, which is not a packed public package`);
      deps[name] = `file:${byName.get(name)}`;
    }
  }
  for (const [name, tarball] of byName) {
    if (!manifest.dependencies[name] && !manifest.devDependencies[name]) manifest.devDependencies[name] = `file:${tarball}`;
  }
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * Runs an npm command in `cwd`; the output is shown only when it fails.
 * `--prefer-offline` reuses the npm cache across the projects (each still
 * gets its own install), which keeps the whole run within a few minutes.
 */
export function npm(cwd, ...args) {
  return execFileSync("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    stdio: "pipe",
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });
}
