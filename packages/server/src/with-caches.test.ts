// The server with the real caches from @xdskit/cache.

import { credentials } from "@grpc/grpc-js";
import { EntryStore, LinearCache, SnapshotCache } from "@xdskit/cache";
import { DeltaDiscoveryRequest, EndpointDiscoveryServiceClient, TypeUrl, unpack } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { afterEach, describe, expect, it } from "vitest";
import { adsClient, type Harness, NODE, openDelta, openSotw, StreamReader, startServer, until } from "../test-support/harness.js";

let harness: Harness | undefined;
let cache: SnapshotCache | LinearCache | undefined;
afterEach(async () => {
  await harness?.close();
  cache?.dispose();
  harness = undefined;
});

function snapshot(version: string, cluster: string, generation = 1) {
  return {
    version,
    resources: {
      [TypeUrl.Cluster]: [
        Cluster.fromPartial({
          name: cluster,
          type: 3 /* EDS */,
          edsClusterConfig: { serviceName: cluster },
          connectTimeout: { seconds: generation },
        }),
      ],
      [TypeUrl.ClusterLoadAssignment]: [
        ClusterLoadAssignment.fromPartial({ clusterName: cluster, policy: { overprovisioningFactor: 100 + generation } }),
      ],
      [TypeUrl.Listener]: [Listener.fromPartial({ name: "ingress", statPrefix: `gen${generation}` })],
      [TypeUrl.RouteConfiguration]: [
        RouteConfiguration.fromPartial({ name: "routes", virtualHosts: [{ name: `gen${generation}`, domains: ["*"] }] }),
      ],
    },
  };
}

describe("XdsServer with SnapshotCache", () => {
  it("serves a snapshot over SotW ADS like Envoy asks for it, and the cache sees the ACKs", async () => {
    cache = new SnapshotCache();
    cache.setSnapshot(NODE.id, snapshot("1", "web"));
    harness = await startServer(cache);
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: TypeUrl.Cluster });
    const cds = await stream.next();
    expect(cds.versionInfo).not.toBe("");
    expect(unpack(cds.resources[0]!, Cluster).name).toBe("web");
    stream.send({ typeUrl: TypeUrl.Cluster, versionInfo: cds.versionInfo, responseNonce: cds.nonce });
    stream.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["web"] });
    const eds = await stream.next();
    expect(unpack(eds.resources[0]!, ClusterLoadAssignment).clusterName).toBe("web");
    stream.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["web"], versionInfo: eds.versionInfo, responseNonce: eds.nonce });
    stream.send({ typeUrl: TypeUrl.Listener });
    const lds = await stream.next();
    stream.send({ typeUrl: TypeUrl.Listener, versionInfo: lds.versionInfo, responseNonce: lds.nonce });
    stream.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: ["routes"] });
    const rds = await stream.next();
    stream.send({ typeUrl: TypeUrl.RouteConfiguration, resourceNames: ["routes"], versionInfo: rds.versionInfo, responseNonce: rds.nonce });
    expect(await stream.quiet(150)).toBe(true);
    await until(() => harness!.events.filter((e) => e.kind === "ack").length === 4);
    // The server's status tracker keeps per-node status from its protocol events.
    expect(harness!.xds.status!.nodeStatus(NODE.id)!.types[TypeUrl.Cluster]!.lastAck).toMatchObject({
      version: cds.versionInfo,
      nonce: cds.nonce,
    });

    // A new snapshot touching every type arrives in order: clusters, endpoints, listeners, routes.
    cache.setSnapshot(NODE.id, snapshot("2", "web", 2));
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push((await stream.next()).typeUrl);
    expect(order).toEqual([TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration]);
    expect(harness!.xds.status!.nodeStatus(NODE.id)).toBeDefined();
    stream.close();
  });

  it("serves a snapshot over delta ADS and removes what went away", async () => {
    cache = new SnapshotCache();
    cache.setSnapshot(NODE.id, snapshot("1", "web"));
    harness = await startServer(cache, { makeBeforeBreak: false }); // the removal in the same response: make before break off
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: TypeUrl.Cluster, resourceNamesSubscribe: ["*"] });
    const first = await stream.next();
    expect(first.resources.map((r) => r.name)).toEqual(["web"]);
    stream.send({ typeUrl: TypeUrl.Cluster, responseNonce: first.nonce });
    cache.setSnapshot(NODE.id, snapshot("2", "api"));
    const second = await stream.next();
    expect(second.resources.map((r) => r.name)).toEqual(["api"]);
    expect(second.removedResources).toEqual(["web"]);
    stream.close();
  });

  it("serves a LinearCache over the per-type endpoint service with delta, sending only what changed", async () => {
    const linear = new LinearCache({ typeUrl: TypeUrl.ClusterLoadAssignment });
    cache = linear;
    linear.upsertMany([ClusterLoadAssignment.fromPartial({ clusterName: "a" }), ClusterLoadAssignment.fromPartial({ clusterName: "b" })]);
    harness = await startServer(linear, {}, { services: ["endpoints"] });
    const client = new EndpointDiscoveryServiceClient(harness.address, credentials.createInsecure());
    const stream = new StreamReader(client.deltaEndpoints(), (p) => DeltaDiscoveryRequest.fromPartial(p));
    stream.send({ node: NODE, resourceNamesSubscribe: ["a", "b"] });
    const first = await stream.next();
    expect(first.resources.map((r) => r.name).sort()).toEqual(["a", "b"]);
    stream.send({ responseNonce: first.nonce });
    linear.upsert(ClusterLoadAssignment.fromPartial({ clusterName: "b", policy: { overprovisioningFactor: 140 } }));
    const second = await stream.next();
    expect(second.resources.map((r) => r.name)).toEqual(["b"]);
    stream.close();
    client.close();
  });

  it("encodes each resource once, however many streams receive it", async () => {
    let encodes = 0;
    const snapshots = new SnapshotCache({ entries: new EntryStore({ onEncode: () => encodes++ }), nodeGroup: () => "all" });
    cache = snapshots;
    snapshots.setSnapshot("all", snapshot("1", "web"));
    expect(encodes).toBe(4);
    harness = await startServer(snapshots);
    const client = adsClient(harness.address);
    const streams = Array.from({ length: 5 }, () => openSotw(client));
    for (const [i, stream] of streams.entries()) stream.send({ node: { id: `n${i}` }, typeUrl: TypeUrl.Cluster });
    const first = await Promise.all(streams.map((s) => s.next()));
    for (const [i, stream] of streams.entries())
      stream.send({ typeUrl: TypeUrl.Cluster, versionInfo: first[i]!.versionInfo, responseNonce: first[i]!.nonce });
    await until(() => harness!.events.filter((e) => e.kind === "ack").length === 5);
    snapshots.setSnapshot("all", snapshot("2", "web", 2));
    await Promise.all(streams.map((s) => s.next()));
    expect(encodes).toBe(8);
    for (const stream of streams) stream.close();
  });
});
