// Every example is a starter a user can copy out of the repository: its own
// README saying how, a package.json naming published packages and versions
// (never workspace: or file: links) with build and test scripts, and a
// tsconfig that stands alone. scripts/pack-test.mjs then proves it in CI by
// copying each one out, installing the packed packages with npm, building and
// testing it; this test catches the mistakes early, in `pnpm test`.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../../", import.meta.url);
const examples = readdirSync(new URL("examples/", root), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);
const read = (example: string, file: string) => readFileSync(new URL(`examples/${example}/${file}`, root), "utf8");
const publicVersions = new Map(
  readdirSync(new URL("packages/", root))
    .map((dir) => JSON.parse(readFileSync(new URL(`packages/${dir}/package.json`, root), "utf8")))
    .filter((m) => !m.private)
    .map((m) => [m.name as string, m.version as string]),
);

describe.each(examples)("examples/%s", (example) => {
  it("has a README that says what it shows, how to run it and how to copy it out", () => {
    const readme = read(example, "README.md");
    expect(readme).toMatch(/^# xdskit example: /);
    expect(readme).toContain(`cp -r examples/${example} `);
    expect(readme).toContain("npm install");
    expect(readme).toMatch(/npm (test|start)/);
  });

  it("depends on published @xdskit packages by version and has build, start and test scripts", () => {
    const manifest = JSON.parse(read(example, "package.json"));
    expect(manifest.private).toBe(true);
    expect(manifest.type).toBe("module");
    for (const script of ["build", "start", "test"]) expect(manifest.scripts?.[script], script).toBeTypeOf("string");
    const deps = { ...manifest.dependencies, ...manifest.devDependencies } as Record<string, string>;
    for (const [name, range] of Object.entries(deps)) {
      expect(range, name).not.toMatch(/^(workspace|file|link):/);
      if (name.startsWith("@xdskit/")) {
        expect(publicVersions.has(name), `${name} is a public package`).toBe(true);
        expect(range, name).toBe(`^${publicVersions.get(name)}`);
      }
    }
    if (manifest.scripts.test.includes("vitest")) expect(deps.vitest).toBeDefined();
    expect(deps.typescript).toBeDefined();
  });

  it("has a tsconfig that stands alone (no extends, no project references)", () => {
    const tsconfig = JSON.parse(read(example, "tsconfig.json"));
    expect(tsconfig.extends).toBeUndefined();
    expect(tsconfig.references).toBeUndefined();
    expect(tsconfig.compilerOptions.module).toBe("nodenext");
    expect(existsSync(new URL(`examples/${example}/src/main.ts`, root))).toBe(true);
  });
});
