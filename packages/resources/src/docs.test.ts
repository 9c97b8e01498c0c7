// Runs every `ts` code block of the resources docs pages, so the examples
// there stay true. Each block is written to a scratch module (importing this
// package's source instead of its published name) and imported; a block
// fails the test by throwing.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, it } from "vitest";

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

for (const page of pages) {
  describe(`docs/${page}`, () => {
    blocks(page).forEach(({ title, code }, i) => {
      it(`runs: ${title}`, async () => {
        const file = join(scratch, `${page.replace(".md", "")}-${i}.ts`);
        writeFileSync(file, code.replaceAll('from "@xdskit/resources"', `from ${JSON.stringify(join(here, "index.ts"))}`));
        await import(file);
      });
    });
  });
}
