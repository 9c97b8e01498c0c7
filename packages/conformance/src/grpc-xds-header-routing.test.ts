// Real client: routes match on a request header and send RPCs to different clusters.
import { TypeUrl } from "@xdskit/envoy-api";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { Echo, EchoBackend } from "./support/echo-backend.js";
import { apiListener, edsCluster, endpoints, routeConfig, toCluster } from "./support/grpc-resources.js";
import { xdsChannelOptions } from "./support/xds-client.js";

let stable: EchoBackend;
let beta: EchoBackend;
beforeAll(async () => {
  [stable, beta] = await Promise.all([EchoBackend.start("stable"), EchoBackend.start("beta")]);
});
afterAll(async () => {
  await Promise.all([stable.stop(), beta.stop()]);
});

it("routes by header: x-tier: beta goes to the beta cluster, everything else to stable", async () => {
  await using plane = await ControlPlane.start();
  plane.cache.setSnapshot("client-headers", {
    version: "1",
    resources: {
      [TypeUrl.Listener]: [apiListener("echo", "echo-routes")],
      [TypeUrl.RouteConfiguration]: [
        routeConfig("echo-routes", [
          { match: { prefix: "", headers: [{ name: "x-tier", stringMatch: { exact: "beta" } }] }, route: { cluster: "beta" } },
          toCluster("stable"),
        ]),
      ],
      [TypeUrl.Cluster]: [edsCluster("stable"), edsCluster("beta")],
      [TypeUrl.ClusterLoadAssignment]: [endpoints("stable", [stable.port]), endpoints("beta", [beta.port])],
    },
  });
  const echo = new Echo("xds:///echo", xdsChannelOptions(plane.address, "client-headers"));
  try {
    for (let i = 0; i < 20; i++) {
      expect(await echo.call({ "x-tier": "beta" })).toBe("beta");
      expect(await echo.call()).toBe("stable");
      expect(await echo.call({ "x-tier": "gamma" })).toBe("stable");
    }
  } finally {
    echo.close();
  }
});
