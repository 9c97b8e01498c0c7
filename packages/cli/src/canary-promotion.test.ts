// A canary whose promotion fails (the group changed in the store since the
// canary was planned, as another replica sharing etcd would do) is rolled
// back: its nodes return to the group's config, nothing half-applied.
// In-process: ControlPlane, XdsServer and CanaryController as serve wires them.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { NodeStatusTracker } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { XdsServer } from "@xdskit/server";
import { MemoryConfigStore } from "@xdskit/stores";
import { FakeEnvoy } from "@xdskit/testing";
import { expect, it } from "vitest";
import { CanaryController } from "./canary.js";
import { ControlPlane } from "./control-plane.js";

const cluster = (seconds: number) => ({ "@type": TypeUrl.Cluster, name: "api", connect_timeout: `${seconds}s`, type: "STATIC" });

it("a canary whose promotion loses a compare-and-set is rolled back, and its nodes get the group's config again", async () => {
  const store = new MemoryConfigStore();
  const plane = new ControlPlane(store, "prefix", 10);
  expect(await plane.load(new Map())).toEqual([]);
  const status = new NodeStatusTracker({ nodeGroup: plane.baseGroupOf });
  const xds = new XdsServer({ cache: plane.watcher, status });
  const server = new Server();
  xds.register(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const canary = new CanaryController({ plane, xds });
  await using proxy = await FakeEnvoy.start({ address: `127.0.0.1:${port}`, node: { id: "edge-1" } });
  try {
    await plane.change("edge", { replace: [cluster(1)] });
    await proxy.waitFor((e) => e.clusters.get("api")?.connectTimeout?.seconds.toNumber() === 1, { description: "api at 1s" });

    proxy.pauseReading(); // the canary cannot be promoted before the store changes under it
    const { status: started, done } = canary.start("edge", { upsert: [cluster(2)] }, { percentage: 100 });
    expect(started).toMatchObject({ state: "running", selected: ["edge-1"], version: "files-1.api-2.canary-1" });
    // Another writer (a replica sharing the store) changes the group: the canary's planned revision is stale.
    const stored = (await store.get("groups/edge"))?.value as Record<string, unknown>;
    await store.put("groups/edge", { ...stored, version: 2 } as never);
    proxy.resumeReading();

    const ended = await done;
    expect(ended.state).toBe("rolled-back");
    expect(ended.reason).toMatch(/^promotion failed, rolled back: .*/);
    expect(plane.canaryRunning("edge")).toBe(false);
    expect(plane.cache.getSnapshot("edge~canary")).toBeUndefined();
    await proxy.waitFor((e) => e.clusters.get("api")?.connectTimeout?.seconds.toNumber() === 1, { description: "api back at 1s" });
    // The group takes writes again.
    await expect(
      plane.change("edge", { upsert: [cluster(3)], expectedRevision: (await store.get("groups/edge"))?.modRevision }),
    ).resolves.toMatchObject({
      changed: ["Cluster/api"],
    });
  } finally {
    await xds.shutdown({ deadlineMs: 100 });
    server.forceShutdown();
    plane.watcher.dispose();
    status.dispose();
  }
});
