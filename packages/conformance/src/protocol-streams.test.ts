// Conformance, docs/protocol.md "Streams": the xdskit server (SnapshotCache
// behind XdsServer) against FakeEnvoy, SotW and delta, ADS and per-type.
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { assignment, cluster, listener, routes } from "./support/envoy-resources.js";
import { VARIANTS } from "./support/variants.js";

const FULL = {
  version: "1",
  resources: {
    [TypeUrl.Cluster]: [cluster("web")],
    [TypeUrl.ClusterLoadAssignment]: [assignment("web", 80, 81)],
    [TypeUrl.Listener]: [listener("ingress", 8080, "web-routes")],
    [TypeUrl.RouteConfiguration]: [routes("web-routes", "web")],
  },
};

describe.each(VARIANTS)("$name", (variant) => {
  it("streams-variants: a client gets and ACKs clusters, endpoints, listeners and routes", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", FULL);
    await using envoy = await FakeEnvoy.start({ address: plane.address, protocol: variant.protocol, ads: variant.ads, node: { id: "n1" } });
    await envoy.waitForEndpoints("web", 2);
    await envoy.waitForResource(TypeUrl.RouteConfiguration, "web-routes");
    expect([...envoy.listeners.keys()]).toEqual(["ingress"]);
    expect(envoy.nacks).toEqual([]);
    for (const typeUrl of [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration]) {
      await until(`node status: an ACK of ${typeUrl}`, () => plane.status.nodeStatus("n1")?.types[typeUrl]?.lastAck);
    }
  });

  it("node-first-request: later requests without a node are served as the stream's node", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", FULL);
    // Default FakeEnvoy: node on the first request of each stream only.
    await using envoy = await FakeEnvoy.start({ address: plane.address, protocol: variant.protocol, ads: variant.ads, node: { id: "n1" } });
    await envoy.waitForEndpoints("web", 2);
    // Later requests (ACKs, new EDS subscriptions) carry no node, yet the server keeps serving this node's snapshot.
    plane.cache.setSnapshot("n1", {
      ...FULL,
      version: "2",
      resources: { ...FULL.resources, [TypeUrl.ClusterLoadAssignment]: [assignment("web", 80)] },
    });
    await envoy.waitForEndpoints("web", 1);
    expect(plane.status.nodeStatus("n1")?.openStreams).toBe(variant.ads ? 1 : 4);
  });

  it("nonce-per-stream: every response has a nonce, unique within its stream", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", FULL);
    await using envoy = await FakeEnvoy.start({ address: plane.address, protocol: variant.protocol, ads: variant.ads, node: { id: "n1" } });
    await envoy.waitForEndpoints("web", 2);
    plane.cache.setSnapshot("n1", {
      ...FULL,
      version: "2",
      resources: { ...FULL.resources, [TypeUrl.ClusterLoadAssignment]: [assignment("web", 82)] },
    });
    await envoy.waitForEndpoints("web", 1);
    // Unique within a stream: one ADS stream, or one stream per type.
    const streams = new Map<string, string[]>();
    for (const r of envoy.history) {
      const key = variant.ads ? "ads" : r.typeUrl;
      streams.set(key, [...(streams.get(key) ?? []), r.nonce]);
    }
    for (const nonces of streams.values()) {
      expect(nonces.every((n) => n.length > 0)).toBe(true);
      expect(new Set(nonces).size).toBe(nonces.length);
    }
  });
});

describe("ADS", () => {
  it("ads-type-url: an ADS request without a type URL ends the stream with INVALID_ARGUMENT", async () => {
    await using plane = await ControlPlane.start();
    await using envoy = await FakeEnvoy.start({ address: plane.address, types: [] });
    envoy.sendRaw({ typeUrl: "", resourceNames: ["x"], node: { id: "n1" } });
    const end = await envoy.waitForStreamEnd();
    expect(end.code).toBe(3);
    expect(end.details).toMatch(/type.?url/i);
  });
});
