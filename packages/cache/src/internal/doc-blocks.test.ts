// Runs every `ts` block of a docs page, so the examples stay true. Each block
// becomes a module in a scratch folder inside this package (so its
// dependencies resolve), importing this package's source for "@xdskit/cache".
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));

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

/** Declares one test per `ts` block of `docs/<page>`, and one that there are at least `minimum`. */
export function runDocBlocks(page: string, minimum: number): void {
  const blocks = codeBlocks(readFileSync(join(here, `../../../../docs/${page}`), "utf8"));
  const scratch = join(here, `../../.doc-blocks-${page.replace(/\W/g, "-")}-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  describe(`docs/${page}`, () => {
    it("has examples", () => {
      expect(blocks.length).toBeGreaterThanOrEqual(minimum);
    });

    blocks.forEach((block, i) => {
      it(`example ${i + 1} runs (${block.section})`, async () => {
        const file = join(scratch, `block-${i}.ts`);
        writeFileSync(file, block.code.replaceAll('from "@xdskit/cache"', `from ${JSON.stringify(join(here, "../index.ts"))}`));
        await import(file);
      });
    });
  });
}

describe("doc blocks", () => {
  it("finds the ts blocks of a page, under their section", () => {
    const page = ["## One", "```ts", "a();", "```", "```text", "b", "```", "## Two", "```ts", "c();", "```"].join("\n");
    expect(codeBlocks(page)).toEqual([
      { section: "One", code: "a();" },
      { section: "Two", code: "c();" },
    ]);
  });
});
