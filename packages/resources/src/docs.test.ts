// Type-checks and runs every `ts` code block of the resources docs pages, so
// the examples there stay true. Each block is written to a scratch module
// (importing this package's source instead of its published name); the
// scratch folder is compiled with the repository's TypeScript settings, and
// each module is imported: a block fails the test by not compiling or by
// throwing.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(here, "../../../docs");
const scratch = join(here, `../.docs-snippets-${process.pid}`);
const pages = ["builders.md", "validation.md", "resource-types.md"];

function blocks(page: string): { title: string; code: string }[] {
  const text = readFileSync(join(docs, page), "utf8");
  const out: { title: string; code: string }[] = [];
  let heading = page;
  const re = /^(#{1,3} .+)$|^```ts\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1]) heading = m[1].replace(/^#+ /, "");
    else if (m[2] !== undefined) out.push({ title: `${page}: ${heading} (#${out.length + 1})`, code: m[2] });
  }
  return out;
}

mkdirSync(scratch, { recursive: true });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const files = pages.flatMap((page) =>
  blocks(page).map(({ title, code }, i) => {
    const file = join(scratch, `${page.replace(".md", "")}-${i}.ts`);
    writeFileSync(file, code.replaceAll('from "@xdskit/resources"', 'from "../src/index.js"'));
    return { page, title, file };
  }),
);

describe("docs code blocks", () => {
  it("type-check with the repository's TypeScript settings", () => {
    writeFileSync(
      join(scratch, "tsconfig.json"),
      JSON.stringify({
        extends: "../../../tsconfig.base.json",
        compilerOptions: {
          noEmit: true,
          composite: false,
          incremental: false,
          declaration: false,
          declarationMap: false,
          sourceMap: false,
        },
        include: ["*.ts"],
      }),
    );
    const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
    const result = spawnSync(process.execPath, [tsc, "-p", join(scratch, "tsconfig.json")], { encoding: "utf8", timeout: 120_000 });
    expect(`${result.stdout}${result.stderr}`.trim()).toBe("");
    expect(result.status).toBe(0);
  }, 130_000);

  for (const { page, title, file } of files) {
    it(`run: ${title}`, async () => {
      expect(page).toBeTruthy();
      await import(file);
    });
  }
});
