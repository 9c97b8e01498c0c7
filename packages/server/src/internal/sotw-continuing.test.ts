// The SotW ACK fast path: a watch continues after its answer (CacheWatch.open's `continuing`),
// so the ACK of a response sent as answered keeps that watch instead of opening a new one.
// Everything a client sees must stay as without it: ACKs and NACKs reported, a change before
// the ACK sent only after it, subscription changes and forced types answered.
import { SnapshotCache, type SotwWatchRequest } from "@xdskit/cache";
import { DiscoveryRequest, TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { describe, expect, it } from "vitest";
import { testEnv } from "../../test-support/env.js";
import { SotwStream } from "./sotw-stream.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const req = (p: Parameters<typeof DiscoveryRequest.fromPartial>[0]) => DiscoveryRequest.fromPartial(p);

function clusters(...names: string[]) {
  return names.map((name) => Cluster.fromPartial({ name, connectTimeout: { seconds: 1, nanos: 0 } }));
}
function endpoints(generation: number, ...names: string[]) {
  return names.map((clusterName) =>
    ClusterLoadAssignment.fromPartial({
      clusterName,
      endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: "10.0.0.1", portValue: 8000 + generation } } } }] }],
    }),
  );
}

/** A SnapshotCache whose watchSotw calls are counted (what an ACK no longer does). */
function countedCache() {
  const cache = new SnapshotCache({ nodeGroup: () => "all" });
  const watches: SotwWatchRequest[] = [];
  const watchSotw = cache.watchSotw.bind(cache);
  cache.watchSotw = (request) => {
    watches.push(request);
    return watchSotw(request);
  };
  return { cache, watches };
}

describe("SotwStream with a cache whose watches continue", () => {
  it("an ACK of a response sent as answered keeps the watch: no new watch, the ACK reported, later changes answered", async () => {
    const { cache, watches } = countedCache();
    cache.setSnapshot("all", { version: "1", resources: { [CDS]: clusters("a", "b") } });
    const t = testEnv(cache);
    const stream = new SotwStream(t.env);
    stream.handle(req({ typeUrl: CDS, resourceNames: ["*"] }));
    await t.flush();
    const [first] = t.sotw();
    expect(first!.resources.length).toBe(2);
    expect(watches.length).toBe(1);
    // The answered watch still waits in the cache, continuing from what it answered.
    expect(cache.openWatches).toBe(1);
    expect(stream.types.get(CDS)).toMatchObject({ continued: true, awaitingAck: true });

    stream.handle(req({ typeUrl: CDS, resourceNames: ["*"], versionInfo: first!.versionInfo, responseNonce: first!.nonce }));
    expect(watches.length).toBe(1);
    expect(cache.openWatches).toBe(1);
    expect(stream.types.get(CDS)).toMatchObject({ continued: false, awaitingAck: false, clientVersion: first!.versionInfo });
    expect(t.events.filter((e) => e.kind === "ack")).toMatchObject([{ version: first!.versionInfo, nonce: first!.nonce }]);
    await t.flush();
    expect(t.sotw()).toEqual([]);

    // A snapshot with the same content wakes nothing; a change is answered by the kept watch.
    cache.setSnapshot("all", { version: "2", resources: { [CDS]: clusters("a", "b") } });
    await t.flush();
    expect(t.sotw()).toEqual([]);
    cache.setSnapshot("all", { version: "3", resources: { [CDS]: clusters("a", "b", "c") } });
    await t.flush();
    const [second] = t.sotw();
    expect(second!.resources.length).toBe(3);
    expect(second!.versionInfo).not.toBe(first!.versionInfo);
    expect(watches.length).toBe(1);
  });

  it("a change before the ACK is sent only after the ACK (one response in flight per type)", async () => {
    const { cache, watches } = countedCache();
    cache.setSnapshot("all", { version: "1", resources: { [CDS]: clusters("a") } });
    const t = testEnv(cache);
    const stream = new SotwStream(t.env);
    stream.handle(req({ typeUrl: CDS, resourceNames: ["*"] }));
    await t.flush();
    const [first] = t.sotw();
    cache.setSnapshot("all", { version: "2", resources: { [CDS]: clusters("a", "b") } });
    await t.flush();
    expect(t.sotw()).toEqual([]);
    // The continuing watch saw the change and ended: the ACK opens a new one, which answers it.
    expect(stream.types.get(CDS)!.continued).toBe(false);
    stream.handle(req({ typeUrl: CDS, resourceNames: ["*"], versionInfo: first!.versionInfo, responseNonce: first!.nonce }));
    await t.flush();
    const [second] = t.sotw();
    expect(second!.resources.map((r) => Cluster.decode(r.value).name)).toEqual(["a", "b"]);
    expect(watches.length).toBe(2);
  });

  it("a NACK is reported and reopens the watch, which does not resend the rejected version", async () => {
    const { cache, watches } = countedCache();
    cache.setSnapshot("all", { version: "1", resources: { [CDS]: clusters("a") } });
    const t = testEnv(cache);
    const stream = new SotwStream(t.env);
    stream.handle(req({ typeUrl: CDS, resourceNames: ["*"] }));
    await t.flush();
    const [first] = t.sotw();
    stream.handle(
      req({
        typeUrl: CDS,
        resourceNames: ["*"],
        versionInfo: "",
        responseNonce: first!.nonce,
        errorDetail: { code: 3, message: "bad cluster a" },
      }),
    );
    expect(t.events.filter((e) => e.kind === "nack")).toMatchObject([{ rejectedVersion: first!.versionInfo, nonce: first!.nonce }]);
    expect(watches.length).toBe(2);
    expect(watches[1]!.lastSent).toMatchObject({ version: first!.versionInfo, nacked: true });
    await t.flush();
    expect(t.sotw()).toEqual([]);
    cache.setSnapshot("all", { version: "2", resources: { [CDS]: clusters("b") } });
    await t.flush();
    expect(t.sotw().map((r) => r.resources.length)).toEqual([1]);
  });

  it("an ACK that changes the subscription is answered with the names added", async () => {
    const { cache, watches } = countedCache();
    cache.setSnapshot("all", { version: "1", resources: { [EDS]: endpoints(1, "a", "b") } });
    const t = testEnv(cache);
    const stream = new SotwStream(t.env);
    stream.handle(req({ typeUrl: EDS, resourceNames: ["a"] }));
    await t.flush();
    const [first] = t.sotw();
    expect(first!.resources.length).toBe(1);
    stream.handle(req({ typeUrl: EDS, resourceNames: ["a", "b"], versionInfo: first!.versionInfo, responseNonce: first!.nonce }));
    expect(t.events.filter((e) => e.kind === "ack").length).toBe(1);
    await t.flush();
    const [second] = t.sotw();
    expect(second!.resources.map((r) => ClusterLoadAssignment.decode(r.value).clusterName)).toEqual(["a", "b"]);
    expect(watches.length).toBe(2);
  });

  it("on ADS, clusters sent while endpoints await their ACK force the endpoints again at that ACK", async () => {
    const { cache } = countedCache();
    cache.setSnapshot("all", { version: "1", resources: { [CDS]: clusters("a"), [EDS]: endpoints(1, "a") } });
    const t = testEnv(cache);
    const stream = new SotwStream(t.env);
    stream.handle(req({ typeUrl: EDS, resourceNames: ["a"] }));
    await t.flush();
    const [eds] = t.sotw();
    expect(eds!.typeUrl).toBe(EDS);
    stream.handle(req({ typeUrl: CDS, resourceNames: ["*"] }));
    await t.flush();
    // Clusters go out; the endpoints, still awaiting their ACK, are not sent again yet.
    expect(t.sotw().map((r) => r.typeUrl)).toEqual([CDS]);
    expect(stream.types.get(EDS)!.force).toBe(true);
    stream.handle(req({ typeUrl: EDS, resourceNames: ["a"], versionInfo: eds!.versionInfo, responseNonce: eds!.nonce }));
    await t.flush();
    const [again] = t.sotw();
    expect(again).toMatchObject({ typeUrl: EDS, versionInfo: eds!.versionInfo });
  });

  it("a stale request keeps the continuing watch; closing the stream cancels it in the cache", async () => {
    const { cache, watches } = countedCache();
    cache.setSnapshot("all", { version: "1", resources: { [CDS]: clusters("a") } });
    const t = testEnv(cache);
    const stream = new SotwStream(t.env);
    stream.handle(req({ typeUrl: CDS, resourceNames: ["*"] }));
    await t.flush();
    const [first] = t.sotw();
    stream.handle(req({ typeUrl: CDS, resourceNames: ["*"], versionInfo: first!.versionInfo, responseNonce: first!.nonce }));
    stream.handle(req({ typeUrl: CDS, resourceNames: ["*"], versionInfo: first!.versionInfo, responseNonce: first!.nonce }));
    expect(watches.length).toBe(1);
    expect(t.events.filter((e) => e.kind === "ack").length).toBe(1);
    expect(cache.openWatches).toBe(1);
    stream.close();
    expect(cache.openWatches).toBe(0);
  });
});
