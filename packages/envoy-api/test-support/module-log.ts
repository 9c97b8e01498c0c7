// What a fresh Node process loads, for the tests that guard import cost
// (envoy-api's lazy codecs, resources' descriptors, the server's entry point;
// the packages above import this file by path, as tests of a lower layer).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Runs `script` (the body of an ES module, given the path of the log) in a
 * fresh process (what is loaded is per process) whose loader hook appends the
 * URL of every ES module it loads to that log, one per line; CommonJS modules
 * and require(esm) lookups show in `require.cache` instead. `cwd` decides how
 * `@xdskit/*` resolves. Returns what the process printed.
 */
export function runWithModuleLog(cwd: string, script: (log: string) => string): { stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "xdskit-modules-"));
  try {
    const log = join(dir, "loaded.txt");
    writeFileSync(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
      export async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + "\\n"); return next(url, context); }`,
    );
    writeFileSync(
      join(dir, "register.mjs"),
      `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});`,
    );
    const child = spawnSync(process.execPath, ["--import", join(dir, "register.mjs"), "--input-type=module", "-e", script(log)], {
      cwd,
      encoding: "utf8",
    });
    return { stdout: child.stdout, stderr: child.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
