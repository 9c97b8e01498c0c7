// The package graph stays acyclic and points one way:
//   envoy-api ← resources ← (mesh) ← cache ← server ← (testing, stores ← store-etcd) ← cli
// Each published package may depend only on packages of a lower layer, both in
// its package.json and in the `@xdskit/*` imports of its sources. Tools that
// are never published (conformance tests, benchmarks, API docs) may use any.
// docs/design/architecture.md draws this graph.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = new URL("../../../", import.meta.url).pathname;

/** The layer of each package; a package may depend on strictly lower layers only. */
const LAYERS: Record<string, number> = {
  "@xdskit/envoy-api": 0,
  "@xdskit/resources": 1,
  "@xdskit/mesh": 2,
  "@xdskit/cache": 3,
  "@xdskit/server": 4,
  "@xdskit/testing": 5,
  "@xdskit/stores": 5,
  "@xdskit/store-etcd": 6,
  "@xdskit/cli": 7,
};
const TOOLS = new Set(["@xdskit/conformance", "@xdskit/benchmarks", "@xdskit/api-docs"]);

interface Manifest {
  name: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const packages = readdirSync(join(root, "packages"))
  .filter((dir) => existsSync(join(root, "packages", dir, "package.json")))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")) as Manifest }));

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts)$/.test(entry) && !/\.test\.ts$/.test(entry) ? [path] : [];
  });
}

/** The `@xdskit/*` packages a source file imports (static imports, re-exports and dynamic imports). */
function importedPackages(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*["'](@xdskit\/[a-z0-9-]+)/g)) found.add(match[1]!);
  return [...found];
}

describe("package graph", () => {
  it("knows the layer of every package in packages/ (add a new package to LAYERS or TOOLS)", () => {
    const unknown = packages.map((p) => p.manifest.name).filter((name) => !(name in LAYERS) && !TOOLS.has(name));
    expect(unknown).toEqual([]);
  });

  for (const { dir, manifest } of packages) {
    const layer = LAYERS[manifest.name];
    if (layer === undefined) continue;
    it(`${manifest.name} depends only on lower layers`, () => {
      const declared = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.optionalDependencies }).filter(
        (d) => d.startsWith("@xdskit/"),
      );
      const upward = declared.filter((d) => (LAYERS[d] ?? Number.POSITIVE_INFINITY) >= layer);
      expect(upward, `${manifest.name} (layer ${layer}) declares dependencies on the same or a higher layer`).toEqual([]);
      const imported = new Set(sourceFiles(join(root, "packages", dir, "src")).flatMap(importedPackages));
      imported.delete(manifest.name);
      const undeclared = [...imported].filter((d) => !declared.includes(d));
      expect(undeclared, `${manifest.name} imports packages it does not declare`).toEqual([]);
    });
  }
});
