// docs/protocol.md cites server tests after a `server:` label (optionally
// scoped, `server (delta):`) as `<path under packages/server/src> › <full test name>`.
// Every cited file must exist and hold a test with exactly that name, and no
// row may be left without a tested cell.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const page = readFileSync(new URL("../../../docs/protocol.md", import.meta.url), "utf8");
// Tolerates padded (formatted) tables.
const rows = page.split("\n").filter((l) => /^\| *[a-z][a-z0-9-]* +\|/.test(l));

/** The server citations of one table row: every `file › name` between a `server:` label and the next `conformance` label. */
function serverCitations(row: string): Array<{ row: string; file: string; name: string }> {
  const id = /^\| *([a-z0-9-]+) +\|/.exec(row)![1]!;
  const tested = row.split(" | ").at(-1)!;
  const out: Array<{ row: string; file: string; name: string }> = [];
  for (const label of tested.matchAll(/\bserver(?: \([^)]*\))?: /g)) {
    const rest = tested.slice(label.index + label[0].length);
    const segment = rest.split(/\. conformance|\bserver(?: \([^)]*\))?: /)[0]!;
    for (const m of segment.matchAll(/`([a-z][a-z/-]*\.test\.ts) › ([^`]+)`/g)) out.push({ row: id, file: m[1]!, name: m[2]! });
  }
  return out;
}

const cited = rows.flatMap(serverCitations);

/** Literal test titles of a file: `it("...")` and `test("...")`, with \" and \\ unescaped. */
function testNames(file: string): Set<string> {
  const source = readFileSync(new URL(`./${file}`, import.meta.url), "utf8");
  const names = new Set<string>();
  for (const m of source.matchAll(/\b(?:it|test)(?:\.only|\.skip)?\(\s*"((?:[^"\\]|\\.)*)"/g)) names.add(m[1]!.replace(/\\(.)/g, "$1"));
  return names;
}

describe("docs/protocol.md server citations", () => {
  it("cites server tests", () => {
    expect(cited.length).toBeGreaterThan(30);
  });

  it.each(cited.map((c) => [c.row, c.file, c.name] as const))("%s: %s › %s exists", (_row, file, name) => {
    expect(existsSync(new URL(`./${file}`, import.meta.url)), `packages/server/src/${file}`).toBe(true);
    expect([...testNames(file)]).toContain(name);
  });

  it("leaves no row pending, and every `server:` label names a test or says why there is none", () => {
    expect(page).not.toMatch(/\(pending\)/);
    for (const row of rows) {
      const tested = row.split(" | ").at(-1)!;
      for (const label of tested.matchAll(/\bserver(?: \([^)]*\))?: /g)) {
        const after = tested.slice(label.index + label[0].length);
        expect(after, row.slice(0, 60)).toMatch(/^(`[a-z][a-z/-]*\.test\.ts › |not the server's)/);
      }
    }
  });
});
