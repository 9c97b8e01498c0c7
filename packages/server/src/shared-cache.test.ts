// Two XdsServers over one cache (e.g. one per listening address), over loopback gRPC.
import { NodeStatusTracker, SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { afterEach, describe, expect, it } from "vitest";
import { adsClient, type Harness, NODE, openSotw, startServer, until } from "../test-support/harness.js";

const harnesses: Harness[] = [];
let cache: SnapshotCache | undefined;
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  cache?.dispose();
  cache = undefined;
});

describe("XdsServer sharing a cache", () => {
  it("gives streams ids unique across servers, so the cache counts a node's streams on both", async () => {
    cache = new SnapshotCache();
    cache.setSnapshot(NODE.id, { version: "1", resources: { [TypeUrl.Cluster]: [Cluster.fromPartial({ name: "a" })] } });
    // One status tracker fed by both servers merges their view of the node.
    const status = new NodeStatusTracker();
    const one = await startServer(cache, { status });
    harnesses.push(one);
    const two = await startServer(cache, { status });
    harnesses.push(two);
    const first = openSotw(adsClient(one.address));
    first.send({ node: NODE, typeUrl: TypeUrl.Cluster });
    await first.next();
    const second = openSotw(adsClient(two.address));
    second.send({ node: NODE, typeUrl: TypeUrl.Cluster });
    await second.next();
    const ids = [one, two].map((h) => h.events.find((e) => e.kind === "stream-opened")!.context!.streamId);
    expect(ids[0]).not.toBe(ids[1]);
    expect(status.nodeStatus(NODE.id)!.openStreams).toBe(2);
    first.close();
    await until(() => one.events.some((e) => e.kind === "stream-closed"), 2000, "the first stream closed");
    expect(status.nodeStatus(NODE.id)!.openStreams).toBe(1);
    expect(status.nodeStatus(NODE.id)!.disconnectedAt).toBeUndefined();
    second.close();
  });
});
