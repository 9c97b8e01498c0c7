// `xdskit serve` steering a real proxyless gRPC client (@grpc/grpc-js-xds)
// through its admin API, over real sockets: the first config, a 90/10 split
// between weighted clusters rolled out as a canary, a shift to the new
// cluster, a bad update refused with a 400 while the last good config keeps
// serving, an update the client NACKs (shown in /v1/status; traffic
// unaffected), a rollback, and a canary the client NACKs, rolled back by
// itself.
import { type Serving, serve } from "@xdskit/cli";
import { type JsonValue, type MessageType, TypeUrl, toJson } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import type { Route } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import { afterAll, beforeAll, expect, it } from "vitest";
import { callInLoop, Echo, EchoBackend } from "./support/echo-backend.js";
import { apiListener, edsCluster, endpoints, routeConfig, toCluster } from "./support/grpc-resources.js";
import { xdsChannelOptions } from "./support/xds-client.js";

const NODE = "client-1"; // group "client" (the node id's prefix)
let stable: EchoBackend;
let canary: EchoBackend;
let running: Serving;
const logs: string[] = [];

beforeAll(async () => {
  [stable, canary] = await Promise.all([EchoBackend.start("stable"), EchoBackend.start("canary")]);
  running = await serve({ xdsAddress: "127.0.0.1:0", adminPort: 0, log: (line) => logs.push(line) });
});
afterAll(async () => {
  await running?.close();
  await Promise.all([stable?.stop(), canary?.stop()]);
});

/** A resource as the Envoy JSON the admin API takes. */
function envoyJson<T>(typeUrl: string, type: MessageType<T>, message: T): JsonValue {
  return { "@type": typeUrl, ...(toJson(type, message, { useProtoNames: true }) as Record<string, JsonValue>) };
}
const listener = (lastFilter: "router" | "fault" = "router") =>
  envoyJson(TypeUrl.Listener, Listener, apiListener("echo", "echo-routes", { lastFilter }));
const routes = (route: Parameters<typeof routeConfig>[1][number]) =>
  envoyJson(TypeUrl.RouteConfiguration, RouteConfiguration, routeConfig("echo-routes", [route]));
const weighted = (stableWeight: number, canaryWeight: number): Partial<Route> =>
  ({
    match: { prefix: "" },
    route: {
      weightedClusters: {
        clusters: [
          { name: "stable", weight: stableWeight },
          { name: "canary", weight: canaryWeight },
        ],
      },
    },
  }) as never;

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`http://127.0.0.1:${running.adminPort}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

/** Calls until `backend` answers `times` in a row (the client applied a change), or fails after 10 s. */
async function settlesOn(echo: Echo, backend: string, times = 20): Promise<void> {
  const deadline = Date.now() + 10_000;
  let streak = 0;
  while (streak < times) {
    streak = (await echo.call()) === backend ? streak + 1 : 0;
    if (Date.now() > deadline) throw new Error(`the client never settled on ${backend}`);
  }
}

const listenerStatus = async () => {
  const { body } = await admin("GET", "/v1/status");
  return body.nodes.find((n: { nodeId: string }) => n.nodeId === NODE)?.types[TypeUrl.Listener];
};

it("first config, a 90/10 canary, a shift, a refused update, a NACKed one and a rollback, with a real grpc-js-xds client", async () => {
  // 1. First config: everything to "stable".
  const first = await admin("PUT", "/v1/groups/client/resources", {
    resources: [
      listener(),
      routes(toCluster("stable")),
      envoyJson(TypeUrl.Cluster, Cluster, edsCluster("stable")),
      envoyJson(TypeUrl.Cluster, Cluster, edsCluster("canary")),
      envoyJson(TypeUrl.ClusterLoadAssignment, ClusterLoadAssignment, endpoints("stable", [stable.port])),
      envoyJson(TypeUrl.ClusterLoadAssignment, ClusterLoadAssignment, endpoints("canary", [canary.port])),
    ],
  });
  expect(first).toMatchObject({ status: 200, body: { version: 1 } });
  const echo = new Echo("xds:///echo", xdsChannelOptions(`127.0.0.1:${running.xdsPort}`, NODE));
  try {
    expect(await echo.call()).toBe("stable");

    // 2. 90/10 between weighted clusters, rolled out as a canary of the group (one node: 100% of it), promoted on its ACK.
    const split = await admin("POST", "/v1/groups/client/canary?wait=1", { percentage: 100, resources: [routes(weighted(90, 10))] });
    expect(split.body).toMatchObject({ state: "promoted", selected: [NODE], acked: [NODE], promotedVersion: 2 });
    const counts = new Map<string, number>();
    const N = 400;
    // The first calls after promotion may still be on the canary snapshot's identical route: the split is the same.
    for (let i = 0; i < N; i++) {
      const b = await echo.call();
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
    // Binomial(400, 0.1): mean 40, sd 6; 16..64 is 4 sd (see grpc-xds-weighted.test.ts).
    const canaryCount = counts.get("canary") ?? 0;
    console.info(`serve 90/10 canary: canary ${canaryCount} of ${N} RPCs (expected 40, accepted 16..64)`);
    expect(canaryCount).toBeGreaterThanOrEqual(16);
    expect(canaryCount).toBeLessThanOrEqual(64);

    // 3. Shift: everything to "canary".
    expect((await admin("PATCH", "/v1/groups/client/resources", { resources: [routes(toCluster("canary"))] })).body.version).toBe(3);
    await settlesOn(echo, "canary");

    // While a busy client calls: 4. a bad update is refused with every violation; 5. one the client NACKs is sent.
    const load = callInLoop(echo);
    try {
      const bad = await admin("PATCH", "/v1/groups/client/resources", {
        resources: [{ ...(envoyJson(TypeUrl.Cluster, Cluster, edsCluster("canary")) as object), connect_timeout: "-1s" }],
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toBe("refused; the last good config keeps serving");
      expect(bad.body.violations[0]).toMatchObject({ typeUrl: TypeUrl.Cluster, resource: "canary", path: "connect_timeout" });
      expect((await admin("GET", "/v1/groups/client")).body.version).toBe("files-1.api-3");

      await waitFor(async () => (await listenerStatus())?.lastAck);
      const nacked = await admin("PATCH", "/v1/groups/client/resources", { resources: [listener("fault")] });
      expect(nacked.body.version).toBe(4); // valid Envoy config: serve accepts it (--profile grpc would have refused it)
      const nack = await waitFor(async () => {
        const t = await listenerStatus();
        return t?.lastNack && t.lastSent && t.lastNack.nonce === t.lastSent.nonce ? t.lastNack : undefined;
      });
      expect(nack.rejectedVersion).toMatch(/^files-1\.api-4~/);
      expect(nack.keptVersion).toMatch(/^files-1\.api-[123]~/);
      expect(nack.error.message).toContain("final filter");

      // 6. Rollback to version 3: the client ACKs the listener again; traffic never noticed.
      const back = await admin("POST", "/v1/groups/client/rollback", { version: 3 });
      expect(back.body).toMatchObject({ version: 5, changed: ["Listener/echo"] });
      await waitFor(async () => {
        const t = await listenerStatus();
        return t?.lastAck?.version.startsWith("files-1.api-5~") ? t.lastAck : undefined;
      });
    } finally {
      await load.stop();
    }
    expect(load.failures).toEqual([]);
    expect(new Set(load.answers)).toEqual(new Set(["canary"]));
    expect(load.answers.length).toBeGreaterThan(0);

    // 7. A canary the client NACKs is rolled back by itself; nothing is committed.
    const refusedCanary = await admin("POST", "/v1/groups/client/canary?wait=1", { percentage: 100, resources: [listener("fault")] });
    expect(refusedCanary.body).toMatchObject({ state: "rolled-back", nacked: [{ nodeId: NODE, typeUrl: TypeUrl.Listener }] });
    expect(refusedCanary.body.reason).toMatch(/^NACK from client-1 for Listener: .*final filter/);
    expect((await admin("GET", "/v1/groups/client/history")).body.versions[0]).toEqual({ version: 5, current: true });
    // The client kept version 5's listener (it rejected the canary's), so the group has nothing new to send it.
    expect((await listenerStatus()).lastAck.version).toMatch(/^files-1\.api-5~/);
    for (let i = 0; i < 20; i++) expect(await echo.call()).toBe("canary");

    // And back to the first config, by rollback: the client follows.
    expect((await admin("POST", "/v1/groups/client/rollback", { version: 1 })).body.version).toBe(6);
    await settlesOn(echo, "stable");
  } finally {
    echo.close();
  }
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms; logs: ${logs.slice(-5).join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
