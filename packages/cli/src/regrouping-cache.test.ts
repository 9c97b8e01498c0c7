// RegroupingCache: watches waiting in one node group move to the group the
// node belongs to now, and answer from its snapshot at once (SotW and delta).
import { type DeltaResponse, SnapshotCache, type SotwResponse } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { describe, expect, it } from "vitest";
import { RegroupingCache } from "./regrouping-cache.js";

const cluster = (name: string, seconds: number) => Cluster.fromPartial({ name, connectTimeout: { seconds } });

function setup() {
  const placement = new Map<string, string>();
  const cache = new SnapshotCache({ nodeGroup: (node: Node) => placement.get(node.id) ?? "base" });
  cache.setSnapshot("base", { version: "b1", resources: { [TypeUrl.Cluster]: [cluster("web", 1)] } });
  cache.setSnapshot("canary", { version: "c1", resources: { [TypeUrl.Cluster]: [cluster("web", 2)] } });
  const watcher = new RegroupingCache(cache);
  return { placement, cache, watcher };
}

const node = (id: string, metadata?: Record<string, unknown>) => ({ id, metadata }) as unknown as Node;
const base = { streamId: 1, typeUrl: TypeUrl.Cluster, ads: true, wildcard: true, names: new Set<string>(), forceResponse: false };

describe("RegroupingCache", () => {
  it("moves a waiting SotW watch to its node's new group, which answers at once; others stay", async () => {
    const { placement, cache, watcher } = setup();
    const held = cache.servedVersion("base") as string;
    const first = await new Promise<SotwResponse>((resolve) =>
      watcher.watchSotw({ ...base, node: node("n1"), versionInfo: "" }).subscribe(resolve),
    );
    const responses: SotwResponse[] = [];
    watcher.watchSotw({ ...base, node: node("n1"), versionInfo: first.version }).subscribe((r) => responses.push(r));
    const other: SotwResponse[] = [];
    watcher.watchSotw({ ...base, streamId: 2, node: node("n2"), versionInfo: first.version }).subscribe((r) => other.push(r));
    expect(responses).toEqual([]);
    expect(held).toBe("b1");

    placement.set("n1", "canary");
    expect(watcher.regroup()).toBe(1);
    expect(responses).toHaveLength(1);
    expect(responses[0]?.version).toMatch(/^c1~/);
    expect(responses[0]?.resources.map((r) => r.name)).toEqual(["web"]);
    expect(other).toEqual([]);
    expect(watcher.regroup()).toBe(0); // nothing else changed group
  });

  it("moves a resumed delta watch and compares everything the client holds, not only its forced names", async () => {
    const { placement, watcher } = setup();
    const delta = { ...base, clientVersions: new Map<string, string>(), forceNames: new Set<string>() };
    const first = await new Promise<DeltaResponse>((resolve) => watcher.watchDelta({ ...delta, node: node("n1") }).subscribe(resolve));
    const holds = new Map(first.resources.map((r) => [r.name, r.version]));
    const responses: DeltaResponse[] = [];
    watcher.watchDelta({ ...delta, node: node("n1"), clientVersions: holds, resumed: true }).subscribe((r) => responses.push(r));
    expect(responses).toEqual([]);

    placement.set("n1", "canary");
    watcher.regroup();
    expect(responses).toHaveLength(1);
    expect(responses[0]?.resources.map((r) => r.name)).toEqual(["web"]);
    expect(responses[0]?.resources[0]?.version).not.toBe(holds.get("web"));
  });

  it("forgets a watch once answered or cancelled, and remembers nodes with open watches (with their metadata)", () => {
    const { placement, watcher } = setup();
    const subscription = watcher.watchSotw({ ...base, node: node("n3", { canary: "true" }), versionInfo: "x~y" }).subscribe();
    // versionInfo "x~y" is not what base serves: answered at once, nothing left waiting.
    expect(subscription.closed).toBe(true);
    const waiting = watcher.watchSotw({ ...base, node: node("n4", { zone: "a" }), versionInfo: "" });
    const answered: SotwResponse[] = [];
    const s1 = waiting.subscribe((r) => answered.push(r));
    expect(answered).toHaveLength(1);
    s1.unsubscribe();
    const open = watcher.watchSotw({ ...base, node: node("n5", { zone: "b" }), versionInfo: answered[0]?.version as string }).subscribe();
    expect(watcher.knownNodes().map((n) => [n.id, n.metadata])).toEqual([
      ["n3", { canary: "true" }],
      ["n4", { zone: "a" }],
      ["n5", { zone: "b" }],
    ]);
    open.unsubscribe();
    placement.set("n5", "canary");
    expect(watcher.regroup()).toBe(0); // cancelled: not moved
    watcher.dispose();
  });
});
