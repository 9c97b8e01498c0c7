// Runs every `ts` block of docs/status.md, so the examples stay true. Each
// block becomes a module in a scratch folder inside this package (so its
// dependencies resolve), importing this package's source for "@xdskit/cache".
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const page = readFileSync(join(here, "../../../docs/status.md"), "utf8");
const scratch = join(here, `../.status-doc-blocks-${process.pid}`);

interface Block {
  readonly section: string;
  readonly code: string;
}

function codeBlocks(markdown: string): Block[] {
  const found: Block[] = [];
  let section = "(top)";
  let inside: string[] | undefined;
  for (const line of markdown.split("\n")) {
    if (inside) {
      if (line === "```") {
        found.push({ section, code: inside.join("\n") });
        inside = undefined;
      } else {
        inside.push(line);
      }
    } else if (line.startsWith("## ")) {
      section = line.slice(3);
    } else if (line === "```ts") {
      inside = [];
    }
  }
  return found;
}

const blocks = codeBlocks(page);
mkdirSync(scratch, { recursive: true });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("docs/status.md", () => {
  it("has examples", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });

  blocks.forEach((block, i) => {
    it(`example ${i + 1} runs (${block.section})`, async () => {
      const file = join(scratch, `block-${i}.ts`);
      writeFileSync(file, block.code.replaceAll('from "@xdskit/cache"', `from ${JSON.stringify(join(here, "index.ts"))}`));
      await import(file);
    });
  });
});
