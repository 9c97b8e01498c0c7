// Real client: @grpc/grpc-js-xds dials xds:///echo; the xdskit server gives it
// a listener (api_listener + HCM) whose routes come from RDS or inline, to a
// cluster whose endpoints come from EDS; RPCs reach real backends. The RDS/EDS
// case runs on both server transports (grpc-js and node:http2).
import { TypeUrl } from "@xdskit/envoy-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { Echo, EchoBackend } from "./support/echo-backend.js";
import { apiListener, edsCluster, endpoints, routeConfig, toCluster } from "./support/grpc-resources.js";
import { xdsChannelOptions } from "./support/xds-client.js";

let backend: EchoBackend;
beforeAll(async () => {
  backend = await EchoBackend.start("backend-1");
});
afterAll(async () => {
  await backend.stop();
});

describe("grpc-js-xds against the xdskit server", () => {
  // On both transports: grpc-js (xds.register) and node:http2 (xds.serveHttp2).
  it.each(["grpc-js", "http2"] as const)(
    "routes RPCs through a listener with an RDS route to an EDS cluster (served on %s)",
    async (transport) => {
      await using plane = await ControlPlane.start({ transport });
      const nodeId = `client-rds-${transport}`;
      plane.cache.setSnapshot(nodeId, {
        version: "1",
        resources: {
          [TypeUrl.Listener]: [apiListener("echo", "echo-routes")],
          [TypeUrl.RouteConfiguration]: [routeConfig("echo-routes", [toCluster("echo-cluster")])],
          [TypeUrl.Cluster]: [edsCluster("echo-cluster")],
          [TypeUrl.ClusterLoadAssignment]: [endpoints("echo-cluster", [backend.port])],
        },
      });
      const echo = new Echo("xds:///echo", xdsChannelOptions(plane.address, nodeId));
      try {
        for (let i = 0; i < 5; i++) expect(await echo.call()).toBe("backend-1");
      } finally {
        echo.close();
      }
      // The client ACKed every type and NACKed none (visible in the cache's node status).
      for (const typeUrl of [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment]) {
        await until(`an ACK of ${typeUrl}`, () => plane.status.nodeStatus(nodeId)?.types[typeUrl]?.lastAck);
        expect(plane.status.nodeStatus(nodeId)?.types[typeUrl]?.lastNack, typeUrl).toBeUndefined();
      }
    },
  );

  it("routes RPCs through a listener with an inline route configuration", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("client-inline", {
      version: "1",
      resources: {
        [TypeUrl.Listener]: [apiListener("echo", routeConfig("inline", [toCluster("echo-cluster")]))],
        [TypeUrl.Cluster]: [edsCluster("echo-cluster")],
        [TypeUrl.ClusterLoadAssignment]: [endpoints("echo-cluster", [backend.port])],
      },
    });
    const echo = new Echo("xds:///echo", xdsChannelOptions(plane.address, "client-inline"));
    try {
      expect(await echo.call()).toBe("backend-1");
    } finally {
      echo.close();
    }
    expect(plane.status.nodeStatus("client-inline")?.types[TypeUrl.RouteConfiguration]).toBeUndefined();
  });
});
