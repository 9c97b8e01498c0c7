import { readdirSync, readFileSync } from "node:fs";
import { expect, it } from "vitest";

// docs/getting-started.md shows the quickstart starter's files; CI runs those
// (in the repo and copied out), so the guide cannot drift from code that works.
it("docs/getting-started.md shows the quickstart files verbatim", () => {
  const root = new URL("../../../", import.meta.url);
  const docs = readFileSync(new URL("docs/getting-started.md", root), "utf8");
  const blocks = [...docs.matchAll(/<!-- file: ([^ ]+) -->\n```\w+\n([\s\S]*?)```/g)];
  expect(blocks.map((b) => b[1])).toEqual([
    "examples/quickstart/tsconfig.json",
    "examples/quickstart/src/control-plane.ts",
    "examples/quickstart/src/main.ts",
    "examples/quickstart/src/control-plane.test.ts",
  ]);
  for (const [, file, block] of blocks) expect(block, file).toBe(readFileSync(new URL(file!, root), "utf8"));
});

it("docs/getting-started.md lists every example as a starter", () => {
  const root = new URL("../../../", import.meta.url);
  const docs = readFileSync(new URL("docs/getting-started.md", root), "utf8");
  const listed = [...docs.matchAll(/^\| \[([a-z-]+)\]\(\.\.\/examples\/\1\) \|/gm)].map((m) => m[1]).sort();
  expect(listed).toEqual(
    readdirSync(new URL("examples/", root), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort(),
  );
});
