import { DeltaDiscoveryRequest, TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { testEnv } from "../../test-support/env.js";
import { entry, FakeWatcher } from "../../test-support/fake-watcher.js";
import { DeltaStream } from "./delta-stream.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const req = (p: Parameters<typeof DeltaDiscoveryRequest.fromPartial>[0]) => DeltaDiscoveryRequest.fromPartial(p);

describe("DeltaStream", () => {
  it("seeds the client's versions from initial_resource_versions and updates them on send", async () => {
    const cache = new FakeWatcher();
    cache.set(EDS, "s1", [entry(EDS, "a", "2"), entry(EDS, "b", "1")]);
    const t = testEnv(cache);
    const stream = new DeltaStream(t.env);
    stream.handle(req({ typeUrl: EDS, resourceNamesSubscribe: ["a", "b"], initialResourceVersions: { a: "1", b: "1" } }));
    expect(new Map(cache.deltaRequests[0]!.clientVersions)).toEqual(
      new Map([
        ["a", "1"],
        ["b", "1"],
      ]),
    );
    await t.flush();
    const [response] = t.delta();
    // The first request's initial_resource_versions are trusted: only a, which differs, is sent.
    expect(response!.resources.map((r) => `${r.name}@${r.version}`)).toEqual(["a@2"]);
    expect(new Map(stream.types.get(EDS)!.clientVersions)).toEqual(
      new Map([
        ["a", "2"],
        ["b", "1"],
      ]),
    );
    expect(stream.types.get(EDS)!.forceNames.size).toBe(0);
    // After the send the next watch is open already (delta does not wait for ACKs).
    expect(cache.openWatches).toBe(1);
  });

  it("legacy wildcard only on the first request of a type that allows it; `*` subscribe and unsubscribe", () => {
    const cache = new FakeWatcher();
    const stream = new DeltaStream(testEnv(cache).env);
    stream.handle(req({ typeUrl: CDS }));
    expect(stream.types.get(CDS)!.wildcard).toBe(true);
    expect(stream.types.get(CDS)!.forceResponse).toBe(true);
    stream.handle(req({ typeUrl: EDS }));
    expect(stream.types.get(EDS)!.wildcard).toBe(false);
    stream.handle(req({ typeUrl: EDS, resourceNamesSubscribe: ["*"] }));
    expect(stream.types.get(EDS)!.wildcard).toBe(true);
    stream.handle(req({ typeUrl: EDS, resourceNamesUnsubscribe: ["*"] }));
    expect(stream.types.get(EDS)!.wildcard).toBe(false);
  });

  it("forgets an unsubscribed name unless a wildcard still covers it", async () => {
    const cache = new FakeWatcher();
    cache.set(EDS, "s1", [entry(EDS, "a", "1")]);
    const t = testEnv(cache);
    const stream = new DeltaStream(t.env);
    stream.handle(req({ typeUrl: EDS, resourceNamesSubscribe: ["a"] }));
    await t.flush();
    t.delta();
    stream.handle(req({ typeUrl: EDS, resourceNamesUnsubscribe: ["a", "unknown"] }));
    expect(stream.types.get(EDS)!.clientVersions.has("a")).toBe(false);
    stream.handle(req({ typeUrl: EDS, resourceNamesSubscribe: ["*", "a"] }));
    await t.flush();
    t.delta();
    stream.handle(req({ typeUrl: EDS, resourceNamesUnsubscribe: ["a"] }));
    expect(stream.types.get(EDS)!.clientVersions.get("a")).toBe("1");
  });

  it("reports ACKs by nonce, ignores nonces of earlier streams, and refuses unknown ones", async () => {
    const cache = new FakeWatcher();
    cache.set(EDS, "s1", [entry(EDS, "a", "1")]);
    const t = testEnv(cache);
    const stream = new DeltaStream(t.env);
    stream.handle(req({ typeUrl: EDS, resourceNamesSubscribe: ["a"], responseNonce: "42" }));
    await t.flush();
    const [response] = t.delta();
    stream.handle(req({ typeUrl: EDS, responseNonce: response!.nonce }));
    expect(t.events.filter((e) => e.kind === "ack")).toMatchObject([{ version: "s1", nonce: response!.nonce }]);
    expect(() => stream.handle(req({ typeUrl: EDS, responseNonce: "99" }))).toThrow(/never sent/);
  });
});
