// maxPushesPerTurn over real gRPC: a change that wakes every stream starts at
// most that many pushes per turn of the event loop, and every FakeEnvoy still
// converges on the last version (docs/server.md, docs/benchmarks.md).
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { expect, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { cluster } from "./support/envoy-resources.js";

it("maxPushesPerTurn: pushes of one update spread over turns of the event loop, and every stream converges", async () => {
  await using plane = await ControlPlane.start({ cache: { nodeGroup: () => "all" }, server: { maxPushesPerTurn: 2 } });
  plane.cache.setSnapshot("all", { version: "v1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
  const envoys = await Promise.all(
    Array.from({ length: 12 }, (_, i) => FakeEnvoy.start({ address: plane.address, node: { id: `n${i}` } })),
  );
  try {
    expect((await plane.xds.waitForAck({ group: "all", version: "v1", timeoutMs: 10_000 })).outcome).toBe("acked");
    // Count turns of the event loop while the update is pushed, and the responses started in each.
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const perTurn = new Map<number, number>();
    const subscription = plane.xds.events.subscribe((e) => {
      if (e.kind === "response") perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
    });
    plane.cache.setSnapshot("all", { version: "v2", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });
    const result = await plane.xds.waitForAck({ group: "all", version: "v2", timeoutMs: 10_000 });
    ticking = false;
    subscription.unsubscribe();
    expect(result.outcome).toBe("acked");
    expect(result.acked).toHaveLength(12);
    expect([...perTurn.values()].reduce((a, b) => a + b, 0)).toBe(12);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(2);
    expect(perTurn.size).toBeGreaterThanOrEqual(6);
  } finally {
    await Promise.all(envoys.map((e) => e.close()));
  }
});
