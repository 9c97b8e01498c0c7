// A held fetch is not a current one: gRPC Fetch* and REST answer a request
// the cache would hold (names that do not exist, a node whose group has no
// snapshot) with NOT_FOUND / 404 and the reason, and keep FAILED_PRECONDITION
// / 304 for a client that really holds the current version of what exists.
// Real SnapshotCache, real grpc-js and node:http sockets on loopback.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { credentials, status } from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import {
  ClusterDiscoveryServiceClient,
  DiscoveryRequest,
  type DiscoveryResponse,
  EndpointDiscoveryServiceClient,
  TypeUrl,
} from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Harness, node, startServer } from "../test-support/harness.js";

let harness: Harness;
let http: Server;
let base: string;
let cache: SnapshotCache;

beforeEach(async () => {
  cache = new SnapshotCache();
  cache.setSnapshot("known", {
    version: "1",
    resources: {
      [TypeUrl.Cluster]: [Cluster.fromPartial({ name: "web", type: 3, edsClusterConfig: { serviceName: "web" } })],
      [TypeUrl.ClusterLoadAssignment]: [ClusterLoadAssignment.fromPartial({ clusterName: "web" })],
    },
  });
  harness = await startServer(cache);
  http = createServer(harness.xds.restListener());
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await harness.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  cache.dispose();
});

type Outcome = { ok: true; response: DiscoveryResponse } | { ok: false; code: number; details: string };

/** A gRPC Fetch* over a real channel. */
async function grpcFetch(type: "clusters" | "endpoints", request: Record<string, unknown>): Promise<Outcome> {
  const client =
    type === "clusters"
      ? new ClusterDiscoveryServiceClient(harness.address, credentials.createInsecure())
      : new EndpointDiscoveryServiceClient(harness.address, credentials.createInsecure());
  const call = (
    type === "clusters"
      ? (client as ClusterDiscoveryServiceClient).fetchClusters
      : (client as EndpointDiscoveryServiceClient).fetchEndpoints
  ).bind(client) as (r: DiscoveryRequest, cb: (e: { code: number; details: string } | null, r: DiscoveryResponse) => void) => void;
  try {
    return await new Promise<Outcome>((resolve) =>
      call(DiscoveryRequest.fromPartial(request), (error, response) =>
        resolve(error ? { ok: false, code: error.code, details: error.details } : { ok: true, response }),
      ),
    );
  } finally {
    client.close();
  }
}

/** A REST-JSON POST over a real HTTP socket. */
async function restFetch(type: "clusters" | "endpoints", request: Record<string, unknown>): Promise<{ status: number; body: string }> {
  const response = await fetch(`${base}/v3/discovery:${type}`, { method: "POST", body: JSON.stringify(request) });
  return { status: response.status, body: await response.text() };
}

describe("Fetch and REST for what does not exist", () => {
  it("answers names that do not exist with NOT_FOUND / 404 naming them, whatever version the client claims", async () => {
    const current = await grpcFetch("clusters", { node: node("known"), resourceNames: ["web"] });
    if (!current.ok) throw new Error(current.details);
    for (const versionInfo of ["", current.response.versionInfo, "stale"]) {
      for (const type of ["clusters", "endpoints"] as const) {
        const request = { node: node("known"), resourceNames: ["nope", "gone"], versionInfo };
        const viaGrpc = await grpcFetch(type, request);
        expect(viaGrpc, `${type} ${versionInfo}`).toMatchObject({ ok: false, code: status.NOT_FOUND });
        expect(!viaGrpc.ok && viaGrpc.details).toMatch(/none of the requested \S+ resources exist for node "known": "nope", "gone"/);
        const viaRest = await restFetch(type, request);
        expect(viaRest.status, `${type} ${versionInfo}`).toBe(404);
        expect(JSON.parse(viaRest.body).error).toMatch(/none of the requested \S+ resources exist for node "known": "nope", "gone"/);
      }
    }
    expect(harness.events.filter((e) => e.kind === "fetch").length).toBe(1);
    // A miss is an answer, not a fault: no error event (and so no error log line per poll).
    expect(harness.events.filter((e) => e.kind === "error")).toEqual([]);
  });

  it("answers a node whose group has no snapshot with NOT_FOUND / 404 saying so", async () => {
    for (const resourceNames of [[], ["web"]]) {
      const request = { node: node("stranger"), resourceNames, versionInfo: "" };
      const viaGrpc = await grpcFetch("clusters", request);
      expect(viaGrpc).toMatchObject({
        ok: false,
        code: status.NOT_FOUND,
        details: expect.stringContaining('no snapshot for the node group of node "stranger"'),
      });
      const viaRest = await restFetch("clusters", request);
      expect(viaRest.status).toBe(404);
      expect(JSON.parse(viaRest.body).error).toContain('no snapshot for the node group of node "stranger"');
    }
    // Endpoints have no wildcard, so a named miss cannot tell a missing group from a missing name.
    const endpoints = await restFetch("endpoints", { node: node("stranger"), resourceNames: ["web"] });
    expect(endpoints.status).toBe(404);
    expect(JSON.parse(endpoints.body).error).toContain('none of the requested endpoints resources exist for node "stranger": "web"');
    const noNames = await grpcFetch("endpoints", { node: node("known") });
    expect(noNames).toMatchObject({ ok: false, code: status.NOT_FOUND, details: expect.stringContaining("has no wildcard") });
  });

  it("keeps FAILED_PRECONDITION / 304 for a client holding the current version of what exists, and 200 for a stale one", async () => {
    const wildcard = await grpcFetch("clusters", { node: node("known") });
    const named = await grpcFetch("endpoints", { node: node("known"), resourceNames: ["web"] });
    if (!wildcard.ok || !named.ok) throw new Error("the snapshot was not served");
    const cases = [
      { type: "clusters" as const, resourceNames: [], versionInfo: wildcard.response.versionInfo },
      { type: "endpoints" as const, resourceNames: ["web"], versionInfo: named.response.versionInfo },
      // Some names missing, the rest current: the client is up to date with what exists.
      { type: "endpoints" as const, resourceNames: ["web", "nope"], versionInfo: named.response.versionInfo },
    ];
    for (const { type, resourceNames, versionInfo } of cases) {
      const request = { node: node("known"), resourceNames, versionInfo };
      expect(await grpcFetch(type, request), type).toMatchObject({
        ok: false,
        code: status.FAILED_PRECONDITION,
        details: expect.stringContaining("is current"),
      });
      expect((await restFetch(type, request)).status, type).toBe(304);
      const stale = await restFetch(type, { ...request, versionInfo: "old" });
      expect(stale.status, type).toBe(200);
      expect(JSON.parse(stale.body).resources.length).toBe(1);
    }
  });
});
