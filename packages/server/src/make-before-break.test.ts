import { Resource, TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { adsClient, type Harness, NODE, names, openDelta, openSotw, startServer } from "../test-support/harness.js";

const CDS = TypeUrl.Cluster;
const LDS = TypeUrl.Listener;
const EDS = TypeUrl.ClusterLoadAssignment;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("XdsServer make-before-break", () => {
  it("SotW: sends additions next to what they replace, and the removal only after every type is ACKed", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "c1", [entry(CDS, "old", "1")]);
    cache.set(LDS, "l1", [entry(LDS, "listener", "1")]);
    harness = await startServer(cache); // make before break is the default
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS });
    const c1 = await stream.next();
    stream.send({ typeUrl: CDS, versionInfo: "c1", responseNonce: c1.nonce });
    stream.send({ typeUrl: LDS });
    const l1 = await stream.next();
    stream.send({ typeUrl: LDS, versionInfo: "l1", responseNonce: l1.nonce });
    expect(await stream.quiet(100)).toBe(true);

    // The listener moves from cluster "old" to "new".
    cache.set(CDS, "c2", [entry(CDS, "new", "1")]);
    cache.set(LDS, "l2", [entry(LDS, "listener", "2")]);
    const union = await stream.next();
    expect(union.typeUrl).toBe(CDS);
    expect(union.versionInfo).toBe("c2+mbb");
    expect(names(union).sort()).toEqual(["new", "old"]);
    const l2 = await stream.next();
    expect(l2.typeUrl).toBe(LDS);
    stream.send({ typeUrl: CDS, versionInfo: union.versionInfo, responseNonce: union.nonce });
    // The listener is not ACKed yet: "old" must stay.
    expect(await stream.quiet(200)).toBe(true);
    stream.send({ typeUrl: LDS, versionInfo: "l2", responseNonce: l2.nonce });
    const c2 = await stream.next();
    expect(c2.typeUrl).toBe(CDS);
    expect(c2.versionInfo).toBe("c2");
    expect(names(c2)).toEqual(["new"]);
    stream.close();
  });

  it("delta: holds removals until the additions are ACKed", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "c1", [entry(CDS, "old", "1")]);
    harness = await startServer(cache); // make before break is the default
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["*"] });
    const first = await stream.next();
    stream.send({ typeUrl: CDS, responseNonce: first.nonce });
    cache.set(CDS, "c2", [entry(CDS, "new", "1")]);
    const add = await stream.next();
    expect(add.resources.map((r) => r.name)).toEqual(["new"]);
    expect(add.removedResources).toEqual([]);
    expect(await stream.quiet(150)).toBe(true);
    stream.send({ typeUrl: CDS, responseNonce: add.nonce });
    const remove = await stream.next();
    expect(remove.resources).toEqual([]);
    expect(remove.removedResources).toEqual(["old"]);
    stream.close();
  });

  it("delta: says at once that a subscribed name does not exist; only removals of held names wait", async () => {
    const cache = new FakeWatcher();
    cache.set(EDS, "e1", [entry(EDS, "a", "1")]);
    harness = await startServer(cache); // make before break is the default
    const stream = openDelta(adsClient(harness.address));
    // "missing" never existed: telling the client breaks nothing, and without it the client
    // waits for a resource that will not come (Envoy: initial_fetch_timeout, 15 s).
    stream.send({ node: NODE, typeUrl: EDS, resourceNamesSubscribe: ["a", "missing"] });
    const first = await stream.next();
    expect(first.resources.map((r) => r.name)).toEqual(["a"]);
    expect(first.removedResources).toEqual(["missing"]);
    stream.send({ typeUrl: EDS, responseNonce: first.nonce });
    expect(await stream.quiet(100)).toBe(true);
    stream.close();
  });

  it("SotW: a held removal is sent when the response it waited for is refused as too large", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "c1", [entry(CDS, "keep", "1"), entry(CDS, "old", "1")]);
    cache.set(LDS, "l1", [entry(LDS, "listener", "1")]);
    harness = await startServer(cache, { makeBeforeBreak: true, maxResponseBytes: 8192 });
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS });
    const c1 = await stream.next();
    stream.send({ typeUrl: CDS, versionInfo: "c1", responseNonce: c1.nonce });
    stream.send({ typeUrl: LDS });
    const l1 = await stream.next();
    stream.send({ typeUrl: LDS, versionInfo: "l1", responseNonce: l1.nonce });
    expect(await stream.quiet(100)).toBe(true);
    // The listener update waits to be written when the cluster removal arrives, so the removal
    // is held for it; then the listener update turns out too large and is never sent.
    cache.set(LDS, "l2", [entry(LDS, "listener", "2", 9000)]);
    cache.set(CDS, "c2", [entry(CDS, "keep", "1")]);
    const c2 = await stream.next();
    expect(c2.typeUrl).toBe(CDS);
    expect(c2.versionInfo).toBe("c2");
    expect(names(c2)).toEqual(["keep"]);
    stream.close();
  });

  it("opts out with makeBeforeBreak: false: the removal goes in the same response", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "c1", [entry(CDS, "old", "1")]);
    harness = await startServer(cache, { makeBeforeBreak: false });
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["*"] });
    const first = await stream.next();
    stream.send({ typeUrl: CDS, responseNonce: first.nonce });
    cache.set(CDS, "c2", [entry(CDS, "new", "1")]);
    const both = await stream.next();
    expect(both.resources.map((r) => r.name)).toEqual(["new"]);
    expect(both.removedResources).toEqual(["old"]);
    stream.close();
  });
});

describe("XdsServer SotW response size and TTL", () => {
  it("does not send a SotW response over maxResponseBytes and reports node and sizes, once per version", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "big", [entry(CDS, "a", "1", 6000), entry(CDS, "b", "1", 6000)]);
    harness = await startServer(cache, { maxResponseBytes: 8192 });
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS });
    expect(await stream.quiet(200)).toBe(true);
    const errors = harness.events.filter((e) => e.kind === "error");
    expect(errors.length).toBe(1);
    const error = (errors[0] as { error: { code: string; message: string; nodeId?: string } }).error;
    expect(error.code).toBe("XDSKIT_RESPONSE_TOO_LARGE");
    expect(error.message).toMatch(/node "node-1" is \d+ bytes, over the client's limit of 8192 bytes/);
    expect(error.nodeId).toBe("node-1");
    // When the content shrinks, it is sent.
    cache.set(CDS, "small", [entry(CDS, "a", "2")]);
    const response = await stream.next();
    expect(response.versionInfo).toBe("small");
    stream.close();
  });

  it("wraps SotW resources that have a TTL in envoy.service.discovery.v3.Resource", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1", 0, 30_000), entry(CDS, "b", "1")]);
    harness = await startServer(cache);
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNames: ["a", "b"] });
    const response = await stream.next();
    expect(response.resources.map((r) => r.typeUrl)).toEqual([TypeUrl.Resource, CDS]);
    const wrapped = Resource.decode(response.resources[0]!.value);
    expect(wrapped.name).toBe("a");
    expect(wrapped.ttl!.seconds.toNumber()).toBe(30);
    expect(wrapped.resource!.typeUrl).toBe(CDS);
    expect([...wrapped.resource!.value]).toEqual([...cache.types.get(CDS)!.entries.get("a")!.bytes]);
    stream.close();
  });
});
