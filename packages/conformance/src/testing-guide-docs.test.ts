import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

// Docs examples that run cannot rot: the first test of docs/testing.md is
// testing-guide.test.ts, verbatim.
it("docs/testing.md shows testing-guide.test.ts verbatim", () => {
  const docs = readFileSync(new URL("../../../docs/testing.md", import.meta.url), "utf8");
  const block = /<!-- Keep this block[^\n]*-->\n```ts\n([\s\S]*?)```/.exec(docs)?.[1];
  const test = readFileSync(new URL("./testing-guide.test.ts", import.meta.url), "utf8");
  const code = test.split("\n").slice(2).join("\n");
  expect(block).toBeDefined();
  expect(code).toBe(block);
});
