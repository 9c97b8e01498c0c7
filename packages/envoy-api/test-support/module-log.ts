// What a fresh Node process loads, for the tests that guard import cost
// (envoy-api's lazy codecs, resources' descriptors, the server's entry point;
// the packages above import this file by path, as tests of a lower layer).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Runs `script` (the body of an ES module, given the path of the log) in a
 * fresh process (what is loaded is per process) that appends the URL of every
 * module file V8 compiles to that log, once each, one per line: ES modules,
 * CommonJS modules and the ES modules `require()` loads (which no loader hook
 * sees), from an inspector session opened before the script runs. CommonJS
 * modules and require(esm) lookups also show in `require.cache`. `cwd`
 * decides how `@xdskit/*` resolves. Returns what the process printed.
 */
export function runWithModuleLog(cwd: string, script: (log: string) => string): { stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "xdskit-modules-"));
  try {
    const log = join(dir, "loaded.txt");
    writeFileSync(log, "");
    writeFileSync(
      join(dir, "register.mjs"),
      `import { appendFileSync } from "node:fs";
      import { Session } from "node:inspector";
      const seen = new Set();
      const session = new Session();
      session.connect();
      session.on("Debugger.scriptParsed", ({ params: { url } }) => {
        if (!url.startsWith("file:") || seen.has(url)) return;
        seen.add(url);
        appendFileSync(${JSON.stringify(log)}, url + "\\n");
      });
      session.post("Debugger.enable");`,
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
