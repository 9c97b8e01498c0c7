// Delta streams over loopback gRPC with the real SnapshotCache: what each
// client holds is kept as the cache state's shared name -> version map
// (DeltaResponse.versions) plus the stream's own differences, and what the
// protocol sees is exactly what the responses on the wire said.
import type { ConfigWatcher, DeltaResponse, DeltaWatchRequest, FetchRequest, SotwResponse, SotwWatchRequest } from "@xdskit/cache";
import { SnapshotCache } from "@xdskit/cache";
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from "@xdskit/envoy-api";
import { TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import type { Observable } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { adsClient, type Harness, NODE, openDelta, type StreamReader, startServer, until } from "../test-support/harness.js";
import type { ClientVersions } from "./internal/client-versions.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const NAMES = ["a", "b", "c", "d"];

/** The real cache, with every delta watch request recorded. */
class Recording implements ConfigWatcher {
  readonly delta: DeltaWatchRequest[] = [];
  constructor(readonly inner: SnapshotCache) {}
  watchSotw(request: SotwWatchRequest): Observable<SotwResponse> {
    return this.inner.watchSotw(request);
  }
  watchDelta(request: DeltaWatchRequest): Observable<DeltaResponse> {
    this.delta.push(request);
    return this.inner.watchDelta(request);
  }
  fetch(request: FetchRequest): Promise<SotwResponse | undefined> {
    return this.inner.fetch(request);
  }
  groupOf(node: Node): string {
    return this.inner.groupOf(node);
  }
  /** The latest watch of each stream for a type. */
  latest(typeUrl: string): DeltaWatchRequest[] {
    const byStream = new Map<number, DeltaWatchRequest>();
    for (const request of this.delta) if (request.typeUrl === typeUrl) byStream.set(request.streamId, request);
    return [...byStream.values()];
  }
}

function snapshot(version: string, endpointPort: (name: string) => number) {
  return {
    version,
    resources: {
      [CDS]: NAMES.map((name) => Cluster.fromPartial({ name, type: 3 /* EDS */ })),
      [EDS]: NAMES.map((name) =>
        ClusterLoadAssignment.fromPartial({
          clusterName: name,
          endpoints: [
            {
              lbEndpoints: [{ endpoint: { address: { socketAddress: { address: "10.0.0.1", portValue: endpointPort(name) } } } }],
            },
          ],
        }),
      ),
    },
  };
}

type Delta = StreamReader<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

/** What a client holds per type, from the responses it received (what the protocol says). */
class Client {
  readonly holds = new Map<string, Map<string, string>>([
    [CDS, new Map()],
    [EDS, new Map()],
  ]);
  constructor(readonly stream: Delta) {}
  async receive(): Promise<DeltaDiscoveryResponse> {
    const response = await this.stream.next();
    const held = this.holds.get(response.typeUrl)!;
    for (const r of response.resources) held.set(r.name, r.version);
    for (const name of response.removedResources) held.delete(name);
    this.stream.send({ typeUrl: response.typeUrl, responseNonce: response.nonce });
    return response;
  }
}

let harness: Harness | undefined;
let cache: SnapshotCache | undefined;
afterEach(async () => {
  await harness?.close();
  cache?.dispose();
  harness = undefined;
  cache = undefined;
});

async function fleet(count: number, recording: Recording): Promise<Client[]> {
  harness = await startServer(recording);
  const grpc = adsClient(harness.address);
  const clients: Client[] = [];
  for (let i = 0; i < count; i++) {
    const client = new Client(openDelta(grpc));
    // Like Envoy: every cluster, then the endpoints of the clusters received.
    client.stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["*"] });
    await client.receive();
    client.stream.send({ typeUrl: EDS, resourceNamesSubscribe: NAMES });
    await client.receive();
    clients.push(client);
  }
  return clients;
}

const held = (request: DeltaWatchRequest) => request.clientVersions as ClientVersions;

describe("delta streams share what their clients hold", () => {
  it("streams sent the same state keep its one shared map and name set; a change moves them onto the next state's; the versions are the wire's", async () => {
    cache = new SnapshotCache();
    cache.setSnapshot(
      NODE.id,
      snapshot("1", () => 80),
    );
    const recording = new Recording(cache);
    const clients = await fleet(3, recording);
    await until(() => recording.latest(EDS).length === 3 && recording.latest(EDS).every((r) => held(r).size === NAMES.length));
    for (const typeUrl of [CDS, EDS]) {
      const requests = recording.latest(typeUrl);
      expect(requests).toHaveLength(3);
      const base = held(requests[0]!).base;
      for (const [i, request] of requests.entries()) {
        // No map of its own: the state's map, the same for every stream.
        expect(held(request).sharesAll).toBe(true);
        expect(held(request).base).toBe(base);
        // What the server believes each client holds is exactly what the wire said.
        expect(new Map(held(request))).toEqual(clients[i]!.holds.get(typeUrl));
      }
    }
    // The endpoint subscriptions name every assignment: one shared set of names, not one per stream.
    const edsNames = recording.latest(EDS).map((r) => r.names);
    expect(new Set(edsNames).size).toBe(1);
    expect([...edsNames[0]!].sort()).toEqual(NAMES);
    const before = held(recording.latest(EDS)[0]!).base;

    // One endpoint changes: each stream is sent only "b", and moves onto the new state's map.
    cache.setSnapshot(
      NODE.id,
      snapshot("2", (name) => (name === "b" ? 81 : 80)),
    );
    for (const client of clients) {
      const update = await client.receive();
      expect(update.typeUrl).toBe(EDS);
      expect(update.resources.map((r) => r.name)).toEqual(["b"]);
    }
    await until(() => recording.latest(EDS).every((r) => held(r).base !== before), 3000, "streams on the new state");
    const after = held(recording.latest(EDS)[0]!).base;
    for (const [i, request] of recording.latest(EDS).entries()) {
      expect(held(request).sharesAll).toBe(true);
      expect(held(request).base).toBe(after);
      expect(new Map(held(request))).toEqual(clients[i]!.holds.get(EDS));
    }
    expect(after.get("b")).not.toBe(before.get("b"));
    expect(after.get("a")).toBe(before.get("a"));

    // One stream unsubscribes "c": it alone forgets it (its own copy of the names, one own entry),
    // the others keep sharing the state's map and names.
    const [first, ...others] = clients;
    first!.stream.send({ typeUrl: EDS, resourceNamesUnsubscribe: ["c"] });
    const firstId = recording.latest(EDS)[0]!.streamId;
    await until(() => !held(recording.latest(EDS).find((r) => r.streamId === firstId)!).has("c"));
    const mine = recording.latest(EDS).find((r) => r.streamId === firstId)!;
    expect([...mine.names].sort()).toEqual(["a", "b", "d"]);
    expect(held(mine).ownEntries).toBe(1);
    expect([...held(mine).keys()].sort()).toEqual(["a", "b", "d"]);
    for (const request of recording.latest(EDS).filter((r) => r.streamId !== firstId)) {
      expect([...request.names].sort()).toEqual(NAMES);
      expect(held(request).sharesAll).toBe(true);
      expect(held(request).has("c")).toBe(true);
    }
    // Resubscribing sends it again (delta-resubscribe-resends), and that stream shares the state's map again.
    first!.stream.send({ typeUrl: EDS, resourceNamesSubscribe: ["c"] });
    const again = await first!.receive();
    expect(again.resources.map((r) => r.name)).toEqual(["c"]);
    await until(() => held(recording.latest(EDS).find((r) => r.streamId === firstId)!).sharesAll);
    expect(new Map(held(recording.latest(EDS).find((r) => r.streamId === firstId)!))).toEqual(first!.holds.get(EDS));
    for (const client of others) expect(await client.stream.quiet(50)).toBe(true);
    for (const client of clients) client.stream.close();
  });

  it("streams whose first request subscribes the same list share one set for it (names and forced names) until one changes it", async () => {
    cache = new SnapshotCache();
    cache.setSnapshot(
      NODE.id,
      snapshot("1", () => 80),
    );
    const recording = new Recording(cache);
    harness = await startServer(recording);
    const grpc = adsClient(harness.address);
    const many = Array.from({ length: 40 }, (_, i) => `endpoints-of-cluster-${i}`);
    const streams = [0, 1, 2].map(() => openDelta(grpc));
    for (const stream of streams) stream.send({ node: NODE, typeUrl: EDS, resourceNamesSubscribe: many });
    await until(() => recording.latest(EDS).length === 3);
    // The first watch of each stream (later ones, after the answer, force nothing).
    const first = [
      ...new Map(
        recording.delta
          .filter((r) => r.typeUrl === EDS)
          .reverse()
          .map((r) => [r.streamId, r]),
      ).values(),
    ];
    expect(first).toHaveLength(3);
    expect(new Set(first.map((r) => r.names)).size).toBe(1);
    expect(first.every((r) => r.forceNames === r.names)).toBe(true);
    expect([...first[0]!.names]).toEqual(many);
    // One stream drops a name: it gets its own copy; the others keep the shared set untouched.
    streams[0]!.send({ typeUrl: EDS, resourceNamesUnsubscribe: [many[0]!] });
    await until(() => recording.latest(EDS).some((r) => r.names.size === many.length - 1));
    const after = recording.latest(EDS);
    expect(after.filter((r) => r.names.size === many.length)).toHaveLength(2);
    expect(first[1]!.names.size).toBe(many.length);
    for (const stream of streams) stream.close();
  });

  it("a reconnecting client's initial_resource_versions: only what differs is sent, then the stream shares the state's map", async () => {
    cache = new SnapshotCache();
    cache.setSnapshot(
      NODE.id,
      snapshot("1", () => 80),
    );
    const recording = new Recording(cache);
    const [previous] = await fleet(1, recording);
    previous!.stream.close();
    cache.setSnapshot(
      NODE.id,
      snapshot("2", (name) => (name === "d" ? 81 : 80)),
    );

    const stream = openDelta(adsClient(harness!.address));
    const client = new Client(stream);
    client.holds.set(EDS, new Map(previous!.holds.get(EDS)));
    stream.send({
      node: NODE,
      typeUrl: EDS,
      resourceNamesSubscribe: NAMES,
      initialResourceVersions: Object.fromEntries(previous!.holds.get(EDS)!),
    });
    const response = await client.receive();
    expect(response.resources.map((r) => r.name)).toEqual(["d"]);
    const streamId = recording.delta.at(-1)!.streamId;
    const mine = () => recording.delta.filter((r) => r.streamId === streamId).at(-1)!;
    await until(() => held(mine()).sharesAll, 3000, "the reconnected stream on the state's map");
    expect(new Map(held(mine()))).toEqual(client.holds.get(EDS));
    expect(await stream.quiet(100)).toBe(true);
    stream.close();
  });
});
