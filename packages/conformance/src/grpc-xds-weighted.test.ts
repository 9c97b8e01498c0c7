// Real client: a route with weighted clusters (90/10) splits RPCs accordingly.
import { TypeUrl } from "@xdskit/envoy-api";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { Echo, EchoBackend } from "./support/echo-backend.js";
import { apiListener, edsCluster, endpoints, routeConfig } from "./support/grpc-resources.js";
import { xdsChannelOptions } from "./support/xds-client.js";

let stable: EchoBackend;
let canary: EchoBackend;
beforeAll(async () => {
  [stable, canary] = await Promise.all([EchoBackend.start("stable"), EchoBackend.start("canary")]);
});
afterAll(async () => {
  await Promise.all([stable.stop(), canary.stop()]);
});

it("splits RPCs 90/10 between weighted clusters", async () => {
  await using plane = await ControlPlane.start();
  plane.cache.setSnapshot("client-weighted", {
    version: "1",
    resources: {
      [TypeUrl.Listener]: [apiListener("echo", "echo-routes")],
      [TypeUrl.RouteConfiguration]: [
        routeConfig("echo-routes", [
          {
            match: { prefix: "" },
            route: {
              weightedClusters: {
                clusters: [
                  { name: "stable", weight: 90 },
                  { name: "canary", weight: 10 },
                ],
              },
            },
          },
        ]),
      ],
      [TypeUrl.Cluster]: [edsCluster("stable"), edsCluster("canary")],
      [TypeUrl.ClusterLoadAssignment]: [endpoints("stable", [stable.port]), endpoints("canary", [canary.port])],
    },
  });
  const echo = new Echo("xds:///echo", xdsChannelOptions(plane.address, "client-weighted"));
  const N = 400;
  const counts = new Map<string, number>();
  try {
    for (let i = 0; i < N; i++) {
      const backend = await echo.call();
      counts.set(backend, (counts.get(backend) ?? 0) + 1);
    }
  } finally {
    echo.close();
  }
  // grpc-js-xds picks a weighted cluster independently at random for each
  // RPC, so the canary count is Binomial(N = 400, p = 0.1): mean 40, standard
  // deviation sqrt(400 * 0.1 * 0.9) = 6. Accepting 40 ± 24 (4 standard
  // deviations) fails a correct split with probability below 1e-4, while a
  // broken split (50/50, 100/0, or 80/20 with mean 80) lands far outside.
  const canaryCount = counts.get("canary") ?? 0;
  expect(canaryCount + (counts.get("stable") ?? 0)).toBe(N);
  console.info(`weighted split: canary ${canaryCount} of ${N} RPCs (expected 40, accepted 16..64)`);
  expect(canaryCount).toBeGreaterThanOrEqual(16);
  expect(canaryCount).toBeLessThanOrEqual(64);
});
