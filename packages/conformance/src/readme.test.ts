// The README's "Thirty seconds" example must compile against the published
// entry points: its ts block is written to a scratch module and type-checked
// with the repository's TypeScript settings. (It binds a fixed port and runs
// forever, so it is compiled, not run; examples/quickstart runs the same code
// in its own test.)
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const scratch = join(here, `../.readme-snippet-${process.pid}`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it("README: the thirty-second example type-checks", () => {
  const readme = readFileSync(join(here, "../../../README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  expect(blocks.length).toBeGreaterThan(0);
  mkdirSync(scratch, { recursive: true });
  for (const [i, code] of blocks.entries()) writeFileSync(join(scratch, `readme-${i}.ts`), code);
  writeFileSync(
    join(scratch, "tsconfig.json"),
    JSON.stringify({
      extends: "../../../tsconfig.base.json",
      compilerOptions: { noEmit: true, composite: false, incremental: false, declaration: false, declarationMap: false, sourceMap: false },
      include: ["*.ts"],
    }),
  );
  const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", join(scratch, "tsconfig.json")], { encoding: "utf8", timeout: 120_000 });
  expect(result.stdout + result.stderr).toBe("");
  expect(result.status).toBe(0);
});

it("README and docs never bind with a callback that ignores the error (a port in use would go unnoticed)", () => {
  const ignoring = /bindAsync\([^;]*?\(\)\s*=>\s*\{\s*\}\s*\)/;
  for (const file of ["README.md", "docs/server.md", "docs/getting-started.md", "docs/status.md", "docs/testing.md"]) {
    const text = readFileSync(join(here, "../../..", file), "utf8");
    expect(ignoring.test(text), `${file} ignores a bindAsync error`).toBe(false);
  }
});
