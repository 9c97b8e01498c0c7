// Conformance, docs/protocol.md "Responses" and "Size and clients": the
// xdskit server against FakeEnvoy.
import { EntryStore } from "@xdskit/cache";
import { type DeltaDiscoveryResponse, type DiscoveryResponse, ErrorCode, Resource, TypeUrl } from "@xdskit/envoy-api";
import { defineResourceType, ResourceTypes } from "@xdskit/resources";
import type { XdsServerEvent } from "@xdskit/server";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { assignment, cluster } from "./support/envoy-resources.js";
import { VARIANTS } from "./support/variants.js";

const settle = () => new Promise((r) => setTimeout(r, 300));

describe.each(VARIANTS)("$name", (variant) => {
  const options = (plane: ControlPlane) => ({ address: plane.address, protocol: variant.protocol, ads: variant.ads, node: { id: "n1" } });

  it("xdstp-names: federation names work like any other", async () => {
    await using plane = await ControlPlane.start();
    const name = "xdstp://mesh.example/envoy.config.cluster.v3.Cluster/web";
    const eds = "xdstp://mesh.example/envoy.config.endpoint.v3.ClusterLoadAssignment/web";
    plane.cache.setSnapshot("n1", {
      version: "1",
      resources: {
        [TypeUrl.Cluster]: [cluster(name, { edsClusterConfig: { edsConfig: { ads: {} }, serviceName: eds } })],
        [TypeUrl.ClusterLoadAssignment]: [assignment(eds, 1, 2)],
      },
    });
    await using envoy = await FakeEnvoy.start(options(plane));
    await envoy.waitForEndpoints(name, 2);
  });

  it('legacy-wildcard-off: server option types[].legacyWildcard "never": an empty first request subscribes to nothing; `*` still works', async () => {
    const clusters = defineResourceType({ ...ResourceTypes.Cluster, legacyWildcard: "never" });
    await using plane = await ControlPlane.start({ server: { types: [clusters] } });
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
    await using legacy = await FakeEnvoy.start({ ...options(plane), follow: false, types: [TypeUrl.Cluster] });
    await using explicit = await FakeEnvoy.start({ ...options(plane), follow: false, types: [TypeUrl.Cluster], wildcard: "explicit" });
    await explicit.waitForResource(TypeUrl.Cluster, "a");
    await settle();
    expect(legacy.clusters.size).toBe(0);
  });

  it("legacy-wildcard-off: by default a gRPC client's empty first request is not a wildcard", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
    const grpcNode = { id: "n1", userAgentName: "grpc-node-js" };
    await using legacy = await FakeEnvoy.start({ ...options(plane), node: grpcNode, follow: false, types: [TypeUrl.Cluster] });
    await using envoy = await FakeEnvoy.start({ ...options(plane), follow: false, types: [TypeUrl.Cluster] });
    await envoy.waitForResource(TypeUrl.Cluster, "a");
    await settle();
    expect(legacy.clusters.size).toBe(0);
  });
});

describe.each(VARIANTS)("$name", (variant) => {
  it("ttl: resources with a TTL go wrapped in Resource, and heartbeats refresh them without a body", async () => {
    const entries = new EntryStore();
    await using plane = await ControlPlane.start({ cache: { entries, heartbeatIntervalMs: 100 } });
    plane.cache.setSnapshot("n1", {
      version: "1",
      resources: { [TypeUrl.Cluster]: [entries.entry(TypeUrl.Cluster, cluster("a"), { ttlMs: 60_000 })] },
    });
    await using envoy = await FakeEnvoy.start({
      address: plane.address,
      protocol: variant.protocol,
      ads: variant.ads,
      node: { id: "n1" },
      follow: false,
      types: [TypeUrl.Cluster],
    });
    await envoy.waitForResource(TypeUrl.Cluster, "a");
    const first = envoy.history[0]!.raw;
    if (variant.protocol === "sotw") {
      const any = (first as DiscoveryResponse).resources[0]!;
      expect(any.typeUrl).toBe(TypeUrl.Resource);
      expect(Resource.decode(any.value).ttl?.seconds.toNumber()).toBe(60);
    } else {
      expect((first as DeltaDiscoveryResponse).resources[0]!.ttl?.seconds.toNumber()).toBe(60);
    }
    // Heartbeats: the same resource without a body; the client keeps running it.
    await envoy.waitFor((e) => e.history.length >= 3, { description: "two heartbeats" });
    const heartbeat = envoy.history.at(-1)!.raw;
    if (variant.protocol === "sotw") expect(Resource.decode((heartbeat as DiscoveryResponse).resources[0]!.value).resource).toBeUndefined();
    else expect((heartbeat as DeltaDiscoveryResponse).resources[0]!.resource).toBeUndefined();
    expect(envoy.clusters.has("a")).toBe(true);
    expect(envoy.nacks).toEqual([]);
  });
});

describe.each(VARIANTS.filter((v) => v.protocol === "sotw"))("$name", (variant) => {
  it("max-message-size: a SotW response over the client's limit is not sent, and an error event names it", async () => {
    await using plane = await ControlPlane.start({ server: { maxResponseBytes: 20_000 } });
    const events: XdsServerEvent[] = [];
    const subscription = plane.xds.events.subscribe((e) => events.push(e));
    const big = Array.from({ length: 100 }, (_, i) => cluster(`c${i}`, { altStatName: "x".repeat(500) }));
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: big } });
    await using envoy = await FakeEnvoy.start({
      address: plane.address,
      ads: variant.ads,
      node: { id: "n1" },
      follow: false,
      types: [TypeUrl.Cluster],
    });
    const error = await until("an error event", () => events.find((e) => e.kind === "error"));
    subscription.unsubscribe();
    expect(error.kind === "error" && error.error.code).toBe(ErrorCode.RESPONSE_TOO_LARGE);
    expect(envoy.history.filter((r) => r.typeUrl === TypeUrl.Cluster)).toEqual([]);
  });
});

describe.each(VARIANTS.filter((v) => v.protocol === "delta"))("$name", (variant) => {
  it("max-message-size: delta responses over the client's limit are split", async () => {
    await using plane = await ControlPlane.start({ server: { maxResponseBytes: 20_000 } });
    const big = Array.from({ length: 100 }, (_, i) => cluster(`c${i}`, { altStatName: "x".repeat(500) }));
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: big } });
    await using envoy = await FakeEnvoy.start({
      address: plane.address,
      protocol: "delta",
      ads: variant.ads,
      node: { id: "n1" },
      follow: false,
      types: [TypeUrl.Cluster],
    });
    await envoy.waitFor((e) => e.clusters.size === 100, { description: "100 clusters" });
    expect(envoy.history.filter((r) => r.typeUrl === TypeUrl.Cluster).length).toBeGreaterThan(1);
  });
});
