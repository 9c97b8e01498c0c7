// docs/protocol.md names the test behind each cache rule; this keeps the page
// and the tests in step: every `file › test-id` it cites must exist.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const page = readFileSync(join(here, "../../../docs/protocol.md"), "utf8");

describe("docs/protocol.md", () => {
  const cited = [...page.matchAll(/`([a-z-]+\.test\.ts) › ([a-z0-9-]+)`/g)].map((m) => [m[1]!, m[2]!] as const);

  it("cites cache tests", () => {
    expect(cited.length).toBeGreaterThan(40);
  });

  it.each(cited)("%s › %s exists", (file, id) => {
    const source = readFileSync(join(here, file), "utf8");
    expect(source).toMatch(new RegExp(`it(\\.each\\([^)]*\\))?\\("${id}[:"]`));
  });

  it("gives every row a tested column citing a test", () => {
    const rows = page.split("\n").filter((l) => /^\| [a-z][a-z0-9-]* \|/.test(l));
    expect(rows.length).toBeGreaterThan(30);
    for (const row of rows) expect(row).toMatch(/\.test\.ts › /);
  });
});
