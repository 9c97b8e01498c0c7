// fleet.ts --published loads the workspace as npm users get it: the bundles
// named by each package's publishConfig.exports, reached under the
// xdskit-bundle condition (packages/*/package.json exports).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BUNDLE_CONDITION, hasPublishedBundles } from "./published.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../../..");
const BUNDLED = ["envoy-api", "resources", "cache", "server"];
type Target = string | { types?: string; "xdskit-bundle"?: string; default?: string };
const manifest = (name: string) =>
  JSON.parse(readFileSync(join(ROOT, "packages", name, "package.json"), "utf8")) as {
    exports: Record<string, Target>;
    publishConfig: { exports: Record<string, Target> };
  };

/** Runs an ES module body in a fresh node with the condition, from packages/benchmarks (which depends on the four). */
function run(script: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [BUNDLE_CONDITION, "--input-type=module", "-e", script], {
    cwd: join(ROOT, "packages/benchmarks"),
    encoding: "utf8",
  });
}

describe("the published form inside the workspace (fleet.ts --published)", () => {
  it("maps every entry point of the bundled packages to what it publishes", () => {
    for (const name of BUNDLED) {
      const { exports, publishConfig } = manifest(name);
      for (const [subpath, target] of Object.entries(exports)) {
        if (typeof target === "string") continue;
        const published = publishConfig.exports[subpath];
        expect(typeof published === "object" ? published.default : published, `${name} ${subpath}`).toBe(target["xdskit-bundle"]);
      }
    }
  });

  it("resolves the packages' imports of each other to the bundles, so one copy of each is loaded", () => {
    expect(existsSync(join(ROOT, "packages/server/dist/bundle/index.js")), "no bundles: run pnpm build (scripts/bundle.mjs)").toBe(true);
    expect(hasPublishedBundles(ROOT)).toBe(true);
    const specifiers = [
      "@xdskit/server",
      "@xdskit/cache",
      "@xdskit/resources",
      "@xdskit/resources/descriptors",
      "@xdskit/envoy-api",
      "@xdskit/envoy-api/envoy/config/cluster/v3/cluster",
    ];
    const child = run(`
      const resolved = ${JSON.stringify(specifiers)}.map((s) => import.meta.resolve(s));
      const { XdsServer } = await import("@xdskit/server");
      const { SnapshotCache } = await import("@xdskit/cache");
      const { TypeUrl, XdskitError } = await import("@xdskit/envoy-api");
      const { Cluster } = await import("@xdskit/envoy-api/envoy/config/cluster/v3/cluster");
      const cache = new SnapshotCache();
      cache.setSnapshot("n", { version: "1", resources: { [TypeUrl.Cluster]: [Cluster.fromPartial({ name: "web" })] } });
      new XdsServer({ cache });
      // The bundle of the cache throws the XdskitError class of envoy-api's root: one copy of envoy-api.
      let sameClass = false;
      try { cache.setSnapshot("n", { version: "2", resources: { [TypeUrl.Cluster]: [{ name: 1 }] } }); }
      catch (error) { sameClass = error instanceof XdskitError; }
      console.log(JSON.stringify({ resolved, sameClass }));`);
    expect(child.stderr).toBe("");
    const { resolved, sameClass } = JSON.parse(child.stdout);
    for (const url of resolved) expect(url).toMatch(/\/packages\/[a-z-]+\/dist\/bundle\//);
    expect(sameClass).toBe(true);
  });

  it("bundles the modules of the resources a server serves into one chunk (scripts/bundle.mjs)", () => {
    const subpaths = [
      "envoy/config/cluster/v3/cluster",
      "envoy/config/endpoint/v3/endpoint",
      "envoy/config/listener/v3/listener",
      "envoy/config/route/v3/route",
      "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager",
      "envoy/extensions/filters/http/router/v3/router",
    ];
    const child = run(
      `console.log(JSON.stringify(${JSON.stringify(subpaths)}.map((p) => import.meta.resolve("@xdskit/envoy-api/" + p))));`,
    );
    expect(child.stderr).toBe("");
    const chunks = new Set<string>();
    for (const url of JSON.parse(child.stdout) as string[]) {
      // Each subpath file only re-exports from the chunk: no module of its own, no other import.
      const imports = [...readFileSync(fileURLToPath(url), "utf8").matchAll(/from "([^"]+)"/g)].map((m) => m[1]!);
      expect(imports, url).toHaveLength(1);
      chunks.add(new URL(imports[0]!, url).pathname);
    }
    expect([...chunks]).toHaveLength(1);
    expect([...chunks][0]).toMatch(/\/dist\/bundle\/shared-resources-[^/]+\.js$/);
  });
});
