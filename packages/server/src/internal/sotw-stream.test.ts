import type { ConfigWatcher, SotwResponse, SotwWatchRequest } from "@xdskit/cache";
import { DiscoveryRequest, Resource, TypeUrl } from "@xdskit/envoy-api";
import { defineResourceType, ResourceTypes } from "@xdskit/resources";
import { NEVER, Observable } from "rxjs";
import { describe, expect, it } from "vitest";
import { testEnv } from "../../test-support/env.js";
import { entry, FakeWatcher } from "../../test-support/fake-watcher.js";
import { node } from "../../test-support/harness.js";
import { SotwStream } from "./sotw-stream.js";
import { StreamFailure } from "./stream-rules.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const req = (p: Parameters<typeof DiscoveryRequest.fromPartial>[0]) => DiscoveryRequest.fromPartial(p);

describe("SotwStream", () => {
  it("legacy wildcard: an empty first request subscribes to everything until names are sent", async () => {
    const cache = new FakeWatcher();
    const t = testEnv(cache);
    const stream = new SotwStream(t.env);
    stream.handle(req({ typeUrl: CDS }));
    expect(stream.types.get(CDS)).toMatchObject({ wildcard: true, legacy: true, explicit: false });
    expect(cache.sotwRequests.at(-1)).toMatchObject({ wildcard: true, legacyWildcard: true });
    stream.handle(req({ typeUrl: CDS, resourceNames: [] }));
    expect(stream.types.get(CDS)!.wildcard).toBe(true);
    stream.handle(req({ typeUrl: CDS, resourceNames: ["a"] }));
    expect(stream.types.get(CDS)).toMatchObject({ wildcard: false, explicit: true });
    stream.handle(req({ typeUrl: CDS, resourceNames: [] }));
    expect(stream.types.get(CDS)).toMatchObject({ wildcard: false, legacy: false });
    expect(stream.types.get(CDS)!.names.size).toBe(0);
  });

  it("legacy wildcard applies only to types that allow it; `*` works for any type", () => {
    const cache = new FakeWatcher();
    const stream = new SotwStream(testEnv(cache).env);
    stream.handle(req({ typeUrl: EDS }));
    expect(stream.types.get(EDS)!.wildcard).toBe(false);
    expect(cache.sotwRequests.length).toBe(0);
    stream.handle(req({ typeUrl: EDS, resourceNames: ["*", "x"] }));
    expect(stream.types.get(EDS)).toMatchObject({ wildcard: true });
    expect(cache.sotwRequests.at(-1)).toMatchObject({ wildcard: true, legacyWildcard: false });
    expect(cache.sotwRequests.at(-1)!.names).toEqual(new Set(["x"]));
  });

  it("per-type legacy wildcard can be turned off", () => {
    const cache = new FakeWatcher();
    const stream = new SotwStream(
      testEnv(cache, { types: [defineResourceType({ ...ResourceTypes.Cluster, legacyWildcard: "never" })] }).env,
    );
    stream.handle(req({ typeUrl: CDS }));
    expect(stream.types.get(CDS)!.wildcard).toBe(false);
  });

  it("legacy wildcard is off for gRPC clients by default and on for others", () => {
    const cache = new FakeWatcher();
    const t = testEnv(cache);
    (t.env as { node: unknown }).node = node("g", { userAgentName: "gRPC Go" });
    const stream = new SotwStream(t.env);
    stream.handle(req({ typeUrl: CDS }));
    expect(stream.types.get(CDS)!.wildcard).toBe(false);
    // A user agent starting with "grpc" in any case is gRPC; anything else (shorter, or "grpc" later) is not.
    const wildcardFor = (userAgentName: string): boolean => {
      const env = testEnv(new FakeWatcher()).env;
      (env as { node: unknown }).node = node("n", { userAgentName });
      const s = new SotwStream(env);
      s.handle(req({ typeUrl: CDS }));
      return s.types.get(CDS)!.wildcard;
    };
    expect(["GRPC", "grpc-java", "GrPc C++"].map(wildcardFor)).toEqual([false, false, false]);
    expect(["grp", "envoy", "", "my grpc", "gRP"].map(wildcardFor)).toEqual([true, true, true, true, true]);
  });

  it("classifies ACK, NACK, stale and unknown nonces", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    const t = testEnv(cache);
    const stream = new SotwStream(t.env);
    stream.handle(req({ typeUrl: CDS, resourceNames: ["a"] }));
    await t.flush();
    const [first] = t.sotw();
    expect(stream.types.get(CDS)).toMatchObject({ latestNonce: first!.nonce, awaitingAck: true, answered: false });
    stream.handle(req({ typeUrl: CDS, resourceNames: ["a"], versionInfo: "v1", responseNonce: first!.nonce }));
    expect(stream.types.get(CDS)).toMatchObject({ clientVersion: "v1", awaitingAck: false, answered: true });
    expect(t.events.map((e) => e.kind)).toEqual(["request", "response", "request", "ack"]);
    // The same nonce again is not a second ACK: a stale request.
    stream.handle(req({ typeUrl: CDS, resourceNames: ["a"], versionInfo: "v1", responseNonce: first!.nonce }));
    expect(t.events.filter((e) => e.kind === "ack").length).toBe(1);
    expect(() => stream.handle(req({ typeUrl: CDS, resourceNames: ["a"], responseNonce: "77" }))).toThrow(StreamFailure);
    expect(() => stream.handle(req({ typeUrl: CDS, resourceNames: ["a"], responseNonce: "not-a-nonce" }))).toThrow(/never sent/);
  });

  it("a frozen name list shared between streams (as the decoder gives) is matched to each stream's own subscription", async () => {
    const cache = new FakeWatcher();
    cache.set(EDS, "v1", [entry(EDS, "a", "1"), entry(EDS, "b", "1")]);
    const both = Object.freeze(["a", "b"]);
    const onlyA = Object.freeze(["a"]);
    const t1 = testEnv(cache);
    const t2 = testEnv(cache);
    const one = new SotwStream(t1.env);
    const two = new SotwStream(t2.env);
    one.handle(req({ typeUrl: EDS, resourceNames: both as string[] }));
    two.handle(req({ typeUrl: EDS, resourceNames: onlyA as string[] }));
    await t1.flush();
    await t2.flush();
    const [first1] = t1.sotw();
    const [first2] = t2.sotw();
    // ACKs repeating the list: nothing changes, so no new watch is forced.
    one.handle(req({ typeUrl: EDS, resourceNames: both as string[], versionInfo: "v1", responseNonce: first1!.nonce }));
    expect(cache.sotwRequests.at(-1)!.forceResponse).toBe(false);
    expect([...one.types.get(EDS)!.names]).toEqual(["a", "b"]);
    // The second stream sends the list the first one holds: for it, "b" is new.
    two.handle(req({ typeUrl: EDS, resourceNames: both as string[], versionInfo: "v1", responseNonce: first2!.nonce }));
    expect(cache.sotwRequests.at(-1)!.forceResponse).toBe(true);
    expect([...two.types.get(EDS)!.names]).toEqual(["a", "b"]);
    // And back: the first stream drops "b" with the other list.
    one.handle(req({ typeUrl: EDS, resourceNames: onlyA as string[], versionInfo: "v1", responseNonce: first1!.nonce }));
    expect([...one.types.get(EDS)!.names]).toEqual(["a"]);
    expect(Object.isFrozen(both) && both.length === 2 && Object.isFrozen(onlyA) && onlyA.length === 1).toBe(true);
  });

  it("forces a response when names are added, and exposes lastSent to the cache", async () => {
    const cache = new FakeWatcher();
    cache.set(EDS, "v1", [entry(EDS, "a", "1"), entry(EDS, "b", "1")]);
    const t = testEnv(cache);
    const stream = new SotwStream(t.env);
    stream.handle(req({ typeUrl: EDS, resourceNames: ["a"] }));
    await t.flush();
    const [first] = t.sotw();
    stream.handle(req({ typeUrl: EDS, resourceNames: ["a", "b"], versionInfo: "v1", responseNonce: first!.nonce }));
    const watch = cache.sotwRequests.at(-1)!;
    expect(watch.forceResponse).toBe(true);
    expect(watch.lastSent).toEqual({ version: "v1", names: new Set(["a"]), nacked: false });
    await t.flush();
    const [second] = t.sotw();
    expect(second!.resources.length).toBe(2);
    // Removing a name does not force.
    stream.handle(req({ typeUrl: EDS, resourceNames: ["b"], versionInfo: "v1", responseNonce: second!.nonce }));
    expect(cache.sotwRequests.at(-1)!.forceResponse).toBe(false);
  });

  it("on ADS, sending clusters forces the endpoint watch; on a per-type stream it does not", async () => {
    for (const ads of [true, false]) {
      const cache = new FakeWatcher();
      cache.set(CDS, "c1", [entry(CDS, "a", "1")]);
      cache.set(EDS, "e1", [entry(EDS, "a", "1")]);
      const t = testEnv(cache, {}, ads);
      const stream = new SotwStream(t.env);
      // A named first request is answered even with a current version (reconnect-version); then ACKed.
      stream.handle(req({ typeUrl: EDS, resourceNames: ["a"], versionInfo: "e1" }));
      await t.flush();
      const first = t.sotw();
      expect(first.map((r) => r.typeUrl)).toEqual([EDS]);
      stream.handle(req({ typeUrl: EDS, resourceNames: ["a"], versionInfo: "e1", responseNonce: first[0]!.nonce }));
      expect(cache.openWatches).toBe(1);
      stream.handle(req({ typeUrl: CDS, resourceNames: ["a"] }));
      await t.flush();
      const sent = t.sotw().map((r) => r.typeUrl);
      expect(sent).toEqual(ads ? [CDS, EDS] : [CDS]);
    }
  });

  it("drops a pending response when the type is unsubscribed", async () => {
    const cache = new FakeWatcher();
    cache.set(EDS, "v1", [entry(EDS, "a", "1")]);
    const t = testEnv(cache);
    const stream = new SotwStream(t.env);
    stream.handle(req({ typeUrl: EDS, resourceNames: ["a"] }));
    expect(t.env.queue.has(EDS)).toBe(true);
    stream.handle(req({ typeUrl: EDS, resourceNames: [] }));
    expect(t.env.queue.has(EDS)).toBe(false);
    await t.flush();
    expect(t.sotw()).toEqual([]);
  });

  it("close cancels every watch", () => {
    const cache = new FakeWatcher();
    const stream = new SotwStream(testEnv(cache).env);
    stream.handle(req({ typeUrl: CDS }));
    stream.handle(req({ typeUrl: EDS, resourceNames: ["x"] }));
    expect(cache.openWatches).toBe(2);
    stream.close();
    expect(cache.openWatches).toBe(0);
  });

  it("a heartbeat keeps what the client holds and does not force dependent types", async () => {
    const requests: SotwWatchRequest[] = [];
    const emit = new Map<string, (r: SotwResponse) => void>();
    const cache: ConfigWatcher = {
      watchSotw: (request) => {
        requests.push(request);
        return new Observable<SotwResponse>((subscriber) => {
          emit.set(request.typeUrl, (r) => {
            subscriber.next(r);
            subscriber.complete();
          });
        });
      },
      watchDelta: () => NEVER,
      fetch: async () => undefined,
    };
    const t = testEnv(cache);
    const stream = new SotwStream(t.env);
    const a = entry(CDS, "a", "1", 0, 5000);
    const b = entry(CDS, "b", "1");
    stream.handle(req({ typeUrl: EDS, resourceNames: ["a"] }));
    stream.handle(req({ typeUrl: CDS, resourceNames: ["a", "b"] }));
    emit.get(CDS)!({ typeUrl: CDS, version: "v1", resources: [a, b] });
    await t.flush();
    const [first] = t.sotw();
    stream.handle(req({ typeUrl: CDS, resourceNames: ["a", "b"], versionInfo: "v1", responseNonce: first!.nonce }));
    const edsWatches = requests.filter((r) => r.typeUrl === EDS).length;
    emit.get(CDS)!({ typeUrl: CDS, version: "v1", resources: [a], heartbeat: true });
    await t.flush();
    const [heartbeat] = t.sotw();
    expect(Resource.decode(heartbeat!.resources[0]!.value)).toMatchObject({ name: "a", resource: undefined });
    stream.handle(req({ typeUrl: CDS, resourceNames: ["a", "b"], versionInfo: "v1", responseNonce: heartbeat!.nonce }));
    expect(requests.at(-1)!.lastSent).toEqual({ version: "v1", names: new Set(["a", "b"]), nacked: false });
    expect(requests.filter((r) => r.typeUrl === EDS).length).toBe(edsWatches);
  });
});
