// Delta subscriptions are bounded in size and a subscription change costs
// what it changes (issue 9 point 5): maxSubscriptionBytes bounds the
// characters a delta stream subscribes to (names, and initial versions) over
// all types; a request that adds names to a waiting watch has the cache
// evaluate only those names, not the whole subscription. Real SnapshotCache,
// real grpc-js on loopback.
import { status } from "@grpc/grpc-js";
import { type ConfigWatcher, type DeltaWatchRequest, SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { afterEach, describe, expect, it } from "vitest";
import { adsClient, type Harness, node, openDelta, openSotw, startServer } from "../test-support/harness.js";

const EDS = TypeUrl.ClusterLoadAssignment;

let harness: Harness | undefined;
let cache: SnapshotCache | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  cache?.dispose();
  cache = undefined;
});

const names = (prefix: string, count: number, length = 10) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}-`.padEnd(length, "x"));

function snapshotCache(endpointNames: readonly string[]): SnapshotCache {
  cache = new SnapshotCache({ nodeGroup: () => "all" });
  cache.setSnapshot("all", {
    version: "1",
    resources: { [EDS]: endpointNames.map((clusterName) => ClusterLoadAssignment.fromPartial({ clusterName })) },
  });
  return cache;
}

describe("maxSubscriptionBytes", () => {
  it("ends a delta stream whose subscriptions grow past the bound; unsubscribing gives room back", async () => {
    harness = await startServer(snapshotCache([]), { maxSubscriptionBytes: 10_000 });
    const stream = openDelta(adsClient(harness.address));
    const batch = (prefix: string) => names(prefix, 20, 200); // 4,000 characters
    stream.send({ node: node("d"), typeUrl: EDS, resourceNamesSubscribe: batch("a") });
    await stream.next();
    stream.send({ typeUrl: EDS, resourceNamesSubscribe: batch("b") });
    await stream.next();
    // Subscribing to names already held costs nothing more.
    stream.send({ typeUrl: EDS, resourceNamesSubscribe: batch("a") });
    await stream.next();
    stream.send({ typeUrl: EDS, resourceNamesUnsubscribe: batch("a") });
    stream.send({ typeUrl: EDS, resourceNamesSubscribe: batch("c") });
    await stream.next();
    stream.send({ typeUrl: EDS, resourceNamesSubscribe: batch("d") });
    const ended = await stream.ended;
    expect(ended.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(ended.details).toMatch(/names of 12000 characters in all .* the limit is 10000 \(option maxSubscriptionBytes\)/);
    const error = harness.events.find((e) => e.kind === "error");
    expect(error?.context?.node.id).toBe("d");
  });

  it("counts initial_resource_versions (names and versions) of a reconnecting stream", async () => {
    harness = await startServer(snapshotCache([]), { maxSubscriptionBytes: 10_000 });
    const stream = openDelta(adsClient(harness.address));
    // 50 names of 190 characters, each with a version of 11: 10,050 characters.
    const initialResourceVersions = Object.fromEntries(names("held", 50, 190).map((n) => [n, "version-100"]));
    stream.send({ node: node("r"), typeUrl: EDS, initialResourceVersions });
    expect(await stream.ended).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: expect.stringMatching(/names of 10050 characters .*\(option maxSubscriptionBytes\)/),
    });
  });
});

describe("maxSubscriptionBytes on SotW streams", () => {
  it("bounds the names a SotW stream's current lists hold over all types; a shorter list gives room back", async () => {
    harness = await startServer(snapshotCache([]), { maxSubscriptionBytes: 10_000 });
    const stream = openSotw(adsClient(harness.address));
    const list = (prefix: string) => names(prefix, 30, 200); // 6,000 characters
    stream.send({ node: node("s"), typeUrl: TypeUrl.Cluster, resourceNames: list("c") });
    await stream.quiet(50);
    // Replacing the cluster list with a short one leaves room for endpoints.
    stream.send({ typeUrl: TypeUrl.Cluster, resourceNames: ["c-0"] });
    stream.send({ typeUrl: EDS, resourceNames: list("e") });
    await stream.quiet(50);
    expect(stream.status).toBeUndefined();
    stream.send({ typeUrl: TypeUrl.Cluster, resourceNames: list("c") });
    const ended = await stream.ended;
    expect(ended.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(ended.details).toMatch(/names of 12000 characters in all .* \(option maxSubscriptionBytes\)/);
  });
});

/** A Set that counts the elements read by iterating it. */
class CountingSet<T> extends Set<T> {
  read = 0;
  override [Symbol.iterator](): SetIterator<T> {
    return this.values();
  }
  override values(): SetIterator<T> {
    const inner = super.values();
    const self = this;
    const counted = {
      next() {
        const step = inner.next();
        if (!step.done) self.read += 1;
        return step;
      },
      [Symbol.iterator]() {
        return counted;
      },
    };
    return counted as unknown as SetIterator<T>;
  }
  override keys(): SetIterator<T> {
    return this.values();
  }
}

describe("a subscription change costs what it changes", () => {
  it("adding a name to a waiting watch has the cache read only the added names, not the whole subscription", async () => {
    const held = names("e", 5_000);
    const inner = snapshotCache([...held, "late-0", "late-1", "late-2"]);
    const watches: Array<{ request: DeltaWatchRequest; namesRead: number }> = [];
    // Records how many subscribed names the real cache reads while opening each watch.
    const counting: ConfigWatcher = {
      watchSotw: (request) => inner.watchSotw(request),
      fetch: (request) => inner.fetch(request),
      watchDelta: (request) => {
        const namesSet = new CountingSet(request.names);
        const record = { request, namesRead: 0 };
        watches.push(record);
        const observable = inner.watchDelta({ ...request, names: namesSet });
        return {
          subscribe: (observer: Parameters<typeof observable.subscribe>[0]) => {
            const subscription = observable.subscribe(observer);
            record.namesRead = namesSet.read;
            return subscription;
          },
        } as typeof observable;
      },
    };
    harness = await startServer(counting);
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: node("big"), typeUrl: EDS, resourceNamesSubscribe: held });
    const first = await stream.next();
    expect(first.resources.length).toBe(5_000);
    stream.send({ typeUrl: EDS, responseNonce: first.nonce });
    // The ACK leaves the stream with a waiting watch for the 5,000 names.
    for (let i = 0; i < 3; i++) {
      const before = watches.length;
      stream.send({ typeUrl: EDS, resourceNamesSubscribe: [`late-${i}`] });
      const response = await stream.next();
      expect(response.resources.map((r) => r.name)).toEqual([`late-${i}`]);
      const change = watches[before]!;
      expect(change.request.forceNames.has(`late-${i}`)).toBe(true);
      expect(change.request.resumed).toBe(true);
      expect(change.namesRead, "names read by the cache to answer a one-name subscription").toBe(0);
      stream.send({ typeUrl: EDS, responseNonce: response.nonce });
    }
    // Nor does any watch after the first: after a response is written the
    // stream keeps the continuation opened when the cache answered.
    expect(watches.slice(1).map((w) => w.namesRead)).toEqual(watches.slice(1).map(() => 0));
    // A change still reaches the client, through the continuation.
    inner.setSnapshot("all", {
      version: "2",
      resources: {
        [EDS]: [...held, "late-0", "late-1", "late-2"].map((clusterName) =>
          ClusterLoadAssignment.fromPartial({ clusterName, ...(clusterName === held[7] ? { policy: { overprovisioningFactor: 7 } } : {}) }),
        ),
      },
    });
    const update = await stream.next();
    expect(update.resources.map((r) => r.name)).toEqual([held[7]]);
    stream.close();
  });
});

describe("the continuation watch opened while a response is written", () => {
  it("a change made while a response waits for a slow reader is sent after it, not lost", async () => {
    const cds = TypeUrl.Cluster;
    const big = (name: string, version: number) => Cluster.fromPartial({ name, altStatName: `${version}`.padEnd(50_000, "x") });
    const clusters = (version: number, changed: (name: string) => boolean) =>
      ["c0", "c1", "c2", "c3", "c4"].map((name) => big(name, changed(name) ? version : 1));
    cache = new SnapshotCache({ nodeGroup: () => "all" });
    cache.setSnapshot("all", { version: "1", resources: { [cds]: clusters(1, () => true) } });
    harness = await startServer(cache);
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: node("slow"), typeUrl: cds, resourceNamesSubscribe: ["*"] });
    const first = await stream.next();
    expect(first.resources.length).toBe(5);
    stream.send({ typeUrl: cds, responseNonce: first.nonce });
    await stream.quiet(50);
    stream.call.pause();
    // 250 kB per update for a paused reader: soon a write waits for HTTP/2 flow control.
    let version = 1;
    while (harness.xds.stats.inFlightWrites === 0 && version < 60) {
      version += 1;
      cache.setSnapshot("all", { version: String(version), resources: { [cds]: clusters(version, () => true) } });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(harness.xds.stats.inFlightWrites).toBe(1);
    // Changed while that response is on its way: c0 back to its first content.
    const last = version + 1;
    cache.setSnapshot("all", { version: String(last), resources: { [cds]: clusters(last, (name) => name !== "c0") } });
    stream.call.resume();
    // The client converges on the last snapshot, ACKing as it goes.
    const held = new Map<string, string>();
    const converged = () =>
      held.get("c0")?.startsWith("1x") === true && ["c1", "c2", "c3", "c4"].every((n) => held.get(n)?.startsWith(`${last}x`));
    while (!converged()) {
      const response = await stream.next();
      for (const r of response.resources) held.set(r.name, Cluster.decode(r.resource!.value).altStatName.slice(0, 8));
      stream.send({ typeUrl: cds, responseNonce: response.nonce });
    }
    expect(converged()).toBe(true);
    stream.close();
  });
});
