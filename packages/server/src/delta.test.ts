import { status } from "@grpc/grpc-js";
import { TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { adsClient, type Harness, NODE, node, openDelta, startServer, until } from "../test-support/harness.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("XdsServer delta over ADS", () => {
  it("sends what differs from initial_resource_versions and removes what the client holds but the server does not", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "s1", [entry(CDS, "a", "1"), entry(CDS, "b", "2")]);
    harness = await startServer(cache, { makeBeforeBreak: false }); // the removal in the same response: make before break off
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["*"], initialResourceVersions: { a: "1", gone: "7" } });
    const first = await stream.next();
    expect(first.resources.map((r) => [r.name, r.version])).toEqual([["b", "2"]]);
    expect(first.removedResources).toEqual(["gone"]);
    expect(first.resources[0]!.resource?.typeUrl).toBe(CDS);
    const request = cache.deltaRequests[0]!;
    expect(request.wildcard).toBe(true);
    expect(request.forceResponse).toBe(true);
    stream.send({ typeUrl: CDS, responseNonce: first.nonce });
    await until(() => harness!.events.some((e) => e.kind === "ack"));
    // The server's map now says the client holds a:1 and b:2.
    const map = cache.deltaRequests.at(-1)!.clientVersions;
    expect([...map.entries()].sort()).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
    cache.set(CDS, "s2", [entry(CDS, "a", "3")]);
    const second = await stream.next();
    expect(second.resources.map((r) => r.name)).toEqual(["a"]);
    expect(second.removedResources).toEqual(["b"]);
    expect(second.systemVersionInfo).toBe("s2");
    stream.close();
  });

  it("sends a subscribed name even if the client holds it, and says when it does not exist", async () => {
    const cache = new FakeWatcher();
    cache.set(EDS, "s1", [entry(EDS, "a", "1")]);
    harness = await startServer(cache);
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: EDS, resourceNamesSubscribe: ["a", "missing"] });
    const first = await stream.next();
    expect(first.resources.map((r) => r.name)).toEqual(["a"]);
    expect(first.removedResources).toEqual(["missing"]);
    expect(cache.deltaRequests[0]!.forceNames).toEqual(new Set(["a", "missing"]));
    stream.send({ typeUrl: EDS, responseNonce: first.nonce });
    // Unsubscribing needs no response.
    stream.send({ typeUrl: EDS, resourceNamesUnsubscribe: ["a", "never-subscribed"] });
    expect(await stream.quiet(200)).toBe(true);
    expect(cache.deltaRequests.at(-1)!.names).toEqual(new Set(["missing"]));
    expect(cache.deltaRequests.at(-1)!.clientVersions.has("a")).toBe(false);
    // Resubscribing sends it again.
    stream.send({ typeUrl: EDS, resourceNamesSubscribe: ["a"] });
    const again = await stream.next();
    expect(again.resources.map((r) => r.name)).toEqual(["a"]);
    stream.close();
  });

  it("delta-reconnect-only-differences: a new stream's initial_resource_versions are trusted, so only what differs is sent", async () => {
    const cache = new FakeWatcher();
    cache.set(EDS, "s2", [entry(EDS, "a", "1"), entry(EDS, "b", "2")]);
    harness = await startServer(cache);
    const stream = openDelta(adsClient(harness.address));
    // A client reconnecting (after a restart or a move to another replica) holding a@1 and b@1.
    stream.send({ node: NODE, typeUrl: EDS, resourceNamesSubscribe: ["a", "b"], initialResourceVersions: { a: "1", b: "1" } });
    const first = await stream.next();
    expect(first.resources.map((r) => `${r.name}@${r.version}`)).toEqual(["b@2"]);
    expect(cache.deltaRequests[0]!.forceNames).toEqual(new Set());
    stream.close();
  });

  it("answers the unsubscribe of a name a wildcard still covers, so the client knows to keep it", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "s1", [entry(CDS, "a", "1"), entry(CDS, "b", "1")]);
    harness = await startServer(cache);
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["*", "a"] });
    const first = await stream.next();
    expect(first.resources.map((r) => r.name).sort()).toEqual(["a", "b"]);
    stream.send({ typeUrl: CDS, responseNonce: first.nonce });
    // Envoy cannot tell whether "a" also came through the wildcard, so it keeps it as
    // "ambiguous" until the server says (go-control-plane#558; Envoy's delta_subscription_state).
    stream.send({ typeUrl: CDS, resourceNamesUnsubscribe: ["a"] });
    const confirm = await stream.next();
    expect(confirm.resources.map((r) => [r.name, r.version])).toEqual([["a", "1"]]);
    expect(confirm.removedResources).toEqual([]);
    stream.send({ typeUrl: CDS, responseNonce: confirm.nonce });
    // Without a wildcard the unsubscribe needs no answer.
    stream.send({ typeUrl: CDS, resourceNamesUnsubscribe: ["*"] });
    expect(await stream.quiet(150)).toBe(true);
    stream.close();
  });

  it("reports NACKs with the system version of the nonce", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "s1", [entry(CDS, "a", "1")]);
    harness = await startServer(cache);
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["a"] });
    const first = await stream.next();
    stream.send({ typeUrl: CDS, responseNonce: first.nonce, errorDetail: { code: 3, message: "nope" } });
    await until(() => harness!.events.some((e) => e.kind === "nack"));
    expect(harness.events.find((e) => e.kind === "nack")).toMatchObject({
      rejectedVersion: "s1",
      nonce: first.nonce,
      error: { message: "nope" },
    });
    expect(await stream.quiet(150)).toBe(true);
    stream.close();
  });

  it("wraps resources with a TTL, and heartbeats carry no body", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "s1", [entry(CDS, "a", "1", 0, 1500)]);
    harness = await startServer(cache);
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["a"] });
    const first = await stream.next();
    expect(first.resources[0]!.ttl).toMatchObject({ nanos: 500_000_000 });
    expect(first.resources[0]!.ttl!.seconds.toNumber()).toBe(1);
    expect(first.resources[0]!.resource).toBeDefined();
    stream.close();
  });

  it("splits a delta response over the size limit into several messages", async () => {
    const cache = new FakeWatcher();
    const many = Array.from({ length: 10 }, (_, i) => entry(CDS, `c${i}`, "1", 3000));
    cache.set(CDS, "s1", many);
    harness = await startServer(cache, { maxResponseBytes: 8 * 1024 });
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["*"] });
    const got: string[] = [];
    const nonces = new Set<string>();
    while (got.length < 10) {
      const part = await stream.next();
      nonces.add(part.nonce);
      got.push(...part.resources.map((r) => r.name));
    }
    expect(got.sort()).toEqual(many.map((e) => e.name).sort());
    expect(nonces.size).toBeGreaterThanOrEqual(4);
    const sizes = harness.events.filter((e) => e.kind === "response").map((e) => (e as { bytes: number }).bytes);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(8 * 1024);
    stream.close();
  });

  it("reports a single delta resource over the limit and sends the rest", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "s1", [entry(CDS, "huge", "1", 20_000), entry(CDS, "small", "1")]);
    harness = await startServer(cache, { maxResponseBytes: 8 * 1024 });
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: node("big-node"), typeUrl: CDS, resourceNamesSubscribe: ["*"] });
    const first = await stream.next();
    expect(first.resources.map((r) => r.name)).toEqual(["small"]);
    const error = harness.events.find((e) => e.kind === "error");
    expect(error).toBeDefined();
    const xerr = (error as { error: { code: string; message: string; resourceName?: string } }).error;
    expect(xerr.code).toBe("XDSKIT_RESPONSE_TOO_LARGE");
    expect(xerr.message).toContain("big-node");
    expect(xerr.resourceName).toBe("huge");
    stream.close();
  });

  it("ends the stream with RESOURCE_EXHAUSTED when a request lists too many names", async () => {
    const cache = new FakeWatcher();
    harness = await startServer(cache, { maxSubscribedNames: 5 });
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["1", "2", "3", "4", "5", "6"] });
    expect(await stream.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining("maxSubscribedNames") });
  });

  it("answers the first wildcard request even when there is nothing", async () => {
    const cache = new FakeWatcher();
    harness = await startServer(cache);
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["*"] });
    const first = await stream.next();
    expect(first.resources).toEqual([]);
    expect(first.removedResources).toEqual([]);
    stream.close();
  });
});
