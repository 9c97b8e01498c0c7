// Real client: a resource grpc-js-xds rejects (an HTTP connection manager
// whose last filter is not the router) is NACKed; the NACK shows in the
// server's node status (naming the rejected listener) and events, the server does not resend it,
// and the client keeps serving with the previous config.

import { TypeUrl } from "@xdskit/envoy-api";
import type { XdsServerEvent } from "@xdskit/server";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { Echo, EchoBackend } from "./support/echo-backend.js";
import { apiListener, edsCluster, endpoints, routeConfig, toCluster } from "./support/grpc-resources.js";
import { xdsChannelOptions } from "./support/xds-client.js";

const NODE = "client-nack";
let first: EchoBackend;
let second: EchoBackend;
beforeAll(async () => {
  [first, second] = await Promise.all([EchoBackend.start("first"), EchoBackend.start("second")]);
});
afterAll(async () => {
  await Promise.all([first.stop(), second.stop()]);
});

function snapshot(version: string, cluster: string, lastFilter: "router" | "fault") {
  return {
    version,
    resources: {
      [TypeUrl.Listener]: [apiListener("echo", routeConfig("inline", [toCluster(cluster)]), { lastFilter })],
      [TypeUrl.Cluster]: [edsCluster("first"), edsCluster("second")],
      [TypeUrl.ClusterLoadAssignment]: [endpoints("first", [first.port]), endpoints("second", [second.port])],
    },
  };
}

it("grpc-nacks: grpc-js-xds NACKs an HCM whose last filter is not the router; the NACK shows in node status and the previous config keeps serving", async () => {
  await using plane = await ControlPlane.start();
  const events: XdsServerEvent[] = [];
  const subscription = plane.xds.events.subscribe((e) => events.push(e));
  plane.cache.setSnapshot(NODE, snapshot("1", "first", "router"));
  const echo = new Echo("xds:///echo", xdsChannelOptions(plane.address, NODE));
  try {
    expect(await echo.call()).toBe("first");
    const listenerStatus = () => plane.status.nodeStatus(NODE)?.types[TypeUrl.Listener];
    const accepted = (await until("the listener ACK", () => listenerStatus()?.lastAck)).version;

    plane.cache.setSnapshot(NODE, snapshot("2", "second", "fault"));
    const nack = await until("the listener NACK in node status", () => listenerStatus()?.lastNack);
    expect(nack.keptVersion).toBe(accepted);
    expect(nack.rejectedVersion).not.toBe(accepted);
    // grpc-js-xds 1.14 reports NACKs with code 14 (UNAVAILABLE), Envoy with 3 (INVALID_ARGUMENT).
    expect(nack.error.code).toBe(14);
    expect(nack.error.message).toContain("final filter");
    // The detail indexes the rejected resource (gRFC A46): status names it.
    expect(nack.resourceNames).toEqual(plane.status.nodeStatus(NODE)!.types[TypeUrl.Listener]!.lastSent!.resourceNames);
    expect(nack.resourceNames).toHaveLength(1);
    expect(events.some((e) => e.kind === "nack")).toBe(true);

    // The previous config keeps serving, and the server does not resend the rejected version.
    const sentBefore = events.filter((e) => e.kind === "response").length;
    for (let i = 0; i < 20; i++) expect(await echo.call()).toBe("first");
    await new Promise((r) => setTimeout(r, 200));
    expect(events.filter((e) => e.kind === "response").length).toBe(sentBefore);

    // A fixed config is accepted and used.
    plane.cache.setSnapshot(NODE, snapshot("3", "second", "router"));
    const deadline = Date.now() + 10_000;
    while ((await echo.call()) !== "second") {
      if (Date.now() > deadline) throw new Error("the client never used the fixed config (version 3)");
    }
  } finally {
    subscription.unsubscribe();
    echo.close();
  }
});
