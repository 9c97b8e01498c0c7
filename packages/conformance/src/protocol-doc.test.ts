// docs/protocol.md cites conformance tests as
// `packages/conformance/src/<file> › <row-id>`; every cited file must have a
// test whose name starts with that row id, and every row id a conformance
// test starts with must be a row of the page.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const page = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");
const cited = [...page.matchAll(/`packages\/conformance\/src\/([a-z-]+\.test\.ts) › ([a-z0-9-]+)`/g)].map((m) => [m[1]!, m[2]!] as const);
const rowIds = new Set([...page.matchAll(/^\| ([a-z][a-z0-9-]*) \|/gm)].map((m) => m[1]!));

describe("docs/protocol.md conformance citations", () => {
  it("cites conformance tests", () => {
    expect(cited.length).toBeGreaterThan(25);
  });

  it.each(cited)("%s › %s exists", (file, id) => {
    const source = readFileSync(new URL(`./${file}`, import.meta.url), "utf8");
    expect(source).toMatch(new RegExp(`it(\\.each\\([^)]*\\))?\\(\\s*"${id}[:"]`));
  });

  it("names protocol tests after existing rows", () => {
    const files = readdirSync(new URL(".", import.meta.url)).filter(
      (f) => /^(protocol|grpc-xds)-.*\.test\.ts$/.test(f) && f !== "protocol-doc.test.ts",
    );
    for (const file of files) {
      const source = readFileSync(new URL(`./${file}`, import.meta.url), "utf8");
      for (const m of source.matchAll(/it(?:\.each\([^)]*\))?\(\s*"([a-z][a-z0-9-]*): /g))
        expect(rowIds, `${file}: ${m[1]}`).toContain(m[1]);
    }
  });
});
