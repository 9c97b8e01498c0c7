// The rollout against a real proxyless gRPC client (@grpc/grpc-js-xds) and two
// real backends: the measured shares follow each step, and mobile clients are
// on v2 throughout.
import { afterAll, beforeAll, expect, it } from "vitest";
import { canarySnapshot, rollout, startControlPlane, useControlPlane } from "./canary.js";
import { greeterClient, startBackend } from "./greeter.js";

const NODE = "canary-test";
let controlPlane: Awaited<ReturnType<typeof startControlPlane>>;
let backends: Awaited<ReturnType<typeof startBackend>>[];
let client: ReturnType<typeof greeterClient>;

beforeAll(async () => {
  controlPlane = await startControlPlane(0);
  backends = await Promise.all([startBackend("greeter-v1"), startBackend("greeter-v2")]);
  useControlPlane(controlPlane.port, NODE);
  client = greeterClient("xds:///greeter");
});
afterAll(async () => {
  client.close();
  await controlPlane.close();
  for (const b of backends) b.stop();
});

it("moves traffic 5% -> 50% -> 100% to v2, waiting for the client's ACK between steps; mobile is on v2 throughout", async () => {
  const [v1, v2] = backends as [(typeof backends)[0], (typeof backends)[0]];
  // Before the rollout everyone is on v1.
  controlPlane.cache.setSnapshot(NODE, canarySnapshot("start", 0, { v1: [v1.address], v2: [v2.address] }));
  expect(await client.count(20)).toEqual({ "greeter-v1": 20 });

  const measured: Record<number, { web: number; mobile: number }> = {};
  await rollout({
    cache: controlPlane.cache,
    xds: controlPlane.xds,
    group: NODE,
    backends: { v1: [v1.address], v2: [v2.address] },
    afterStep: async (v2Percent) => {
      const web = await client.count(200);
      const mobile = await client.count(20, { "x-platform": "mobile" });
      measured[v2Percent] = { web: web["greeter-v2"] ?? 0, mobile: mobile["greeter-v2"] ?? 0 };
    },
  });

  // 200 RPCs per step. At 5%: Binomial(200, 0.05) has mean 10, sd 3.1; at 50%:
  // mean 100, sd 7.1. The bounds are beyond 3.5 sd on both sides. The ACK wait
  // guarantees each step's routes were in force before measuring.
  expect(measured[5]!.web).toBeGreaterThanOrEqual(1);
  expect(measured[5]!.web).toBeLessThanOrEqual(25);
  expect(measured[50]!.web).toBeGreaterThanOrEqual(75);
  expect(measured[50]!.web).toBeLessThanOrEqual(125);
  expect(measured[100]!.web).toBe(200);
  for (const step of [5, 50, 100]) expect(measured[step]!.mobile).toBe(20);
  // 700 RPCs and three ACK waits: seconds on a loaded machine, beyond vitest's
  // default 5 s when the example runs copied out (the repository's config gives 30 s).
}, 30_000);
