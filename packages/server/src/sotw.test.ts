import { status } from "@grpc/grpc-js";
import { NodeStatusTracker } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { adsClient, type Harness, NODE, names, node, openSotw, startServer, until } from "../test-support/harness.js";
import { toProtocolEvent } from "./internal/event-hub.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("XdsServer SotW over ADS", () => {
  it("answers a wildcard cluster request, takes the ACK, and pushes the next version", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1"), entry(CDS, "b", "1")]);
    harness = await startServer(cache, { makeBeforeBreak: false }); // the removal in the same response: make before break off
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNames: [] });
    const first = await stream.next();
    expect(first.versionInfo).toBe("v1");
    expect(first.typeUrl).toBe(CDS);
    expect(first.nonce).not.toBe("");
    expect(names(first).sort()).toEqual(["a", "b"]);
    stream.send({ typeUrl: CDS, versionInfo: "v1", responseNonce: first.nonce });
    expect(await stream.quiet(150)).toBe(true);
    await until(() => harness!.events.some((e) => e.kind === "ack"), 2000, "ack event");
    cache.set(CDS, "v2", [entry(CDS, "a", "2")]);
    const second = await stream.next();
    expect(second.versionInfo).toBe("v2");
    expect(names(second)).toEqual(["a"]);
    expect(Number(second.nonce)).toBeGreaterThan(Number(first.nonce));
    stream.close();
  });

  it("reports NACKs with the rejected and kept versions and does not resend the NACKed version", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    // The status tracker receives the protocol events (the cache only watches and fetches).
    const tracker = new NodeStatusTracker();
    const observed: string[] = [];
    tracker.events.subscribe((e) => e.kind === "protocol" && observed.push(e.event.kind));
    harness = await startServer(cache, { status: tracker });
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNames: ["a"] });
    const first = await stream.next();
    stream.send({ typeUrl: CDS, versionInfo: "v1", resourceNames: ["a"], responseNonce: first.nonce });
    await until(() => harness!.events.some((e) => e.kind === "ack"));
    cache.set(CDS, "v2", [entry(CDS, "a", "2")]);
    const second = await stream.next();
    stream.send({
      typeUrl: CDS,
      versionInfo: "v1",
      resourceNames: ["a"],
      responseNonce: second.nonce,
      errorDetail: { code: 3, message: "bad cluster" },
    });
    await until(() => harness!.events.some((e) => e.kind === "nack"));
    const nack = harness.events.find((e) => e.kind === "nack");
    expect(nack).toMatchObject({
      rejectedVersion: "v2",
      keptVersion: "v1",
      nonce: second.nonce,
      error: { code: 3, message: "bad cluster" },
    });
    expect(nack?.context).toMatchObject({ streamId: expect.any(Number), typeUrl: CDS, protocol: "sotw", ads: true });
    expect(nack?.context.node.id).toBe("node-1");
    expect(await stream.quiet(200)).toBe(true);
    const last = cache.sotwRequests.at(-1)!;
    expect(last.lastSent).toMatchObject({ version: "v2", nacked: true });
    expect(last.versionInfo).toBe("v1");
    expect(tracker.nodeStatus(NODE.id)!.types[CDS]!.lastNack).toMatchObject({ rejectedVersion: "v2", keptVersion: "v1" });
    expect(observed).toEqual(["stream-opened", "request", "response", "request", "ack", "response", "request", "nack"]);
    stream.close();
  });

  it("feeds the status tracker every protocol event as toProtocolEvent gives it, and a tracker overriding observe through observe", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    for (const overriding of [false, true]) {
      const observedThrough: string[] = [];
      const tracker = overriding
        ? new (class extends NodeStatusTracker {
            override observe(event: Parameters<NodeStatusTracker["observe"]>[0]): void {
              observedThrough.push(event.kind);
              super.observe(event);
            }
          })()
        : new NodeStatusTracker();
      const fed: unknown[] = [];
      tracker.events.subscribe((e) => e.kind === "protocol" && fed.push(e.event));
      harness = await startServer(cache, { status: tracker });
      const stream = openSotw(adsClient(harness.address));
      stream.send({ node: NODE, typeUrl: CDS, resourceNames: ["a"] });
      const first = await stream.next();
      stream.send({ typeUrl: CDS, versionInfo: "v1", resourceNames: ["a"], responseNonce: first.nonce });
      await until(() => harness!.events.some((e) => e.kind === "ack"));
      stream.close();
      await until(() => harness!.events.some((e) => e.kind === "stream-closed"));
      const expected = harness.events.map(toProtocolEvent).filter((e) => e !== undefined);
      expect(expected.map((e) => e.kind)).toEqual(["stream-opened", "request", "response", "request", "ack", "stream-closed"]);
      expect(fed).toEqual(expected);
      expect(observedThrough).toEqual(overriding ? expected.map((e) => e.kind) : []);
      expect(tracker.nodeStatus(NODE.id)!.types[CDS]).toMatchObject({
        lastSent: { version: "v1", nonce: first.nonce, resourceNames: ["a"] },
        lastAck: { version: "v1", nonce: first.nonce },
      });
      await harness.close();
      harness = undefined;
    }
  });

  it("honours the subscription change of a stale request but ignores its version", async () => {
    const cache = new FakeWatcher();
    cache.set(EDS, "v1", [entry(EDS, "a", "1"), entry(EDS, "b", "1")]);
    harness = await startServer(cache);
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: EDS, resourceNames: ["a"] });
    const first = await stream.next();
    stream.send({ typeUrl: EDS, versionInfo: "v1", resourceNames: ["a"], responseNonce: first.nonce });
    cache.set(EDS, "v2", [entry(EDS, "a", "2"), entry(EDS, "b", "2")]);
    const second = await stream.next();
    // The client has not seen `second` yet: it sends a request with the old nonce adding "b".
    stream.send({ typeUrl: EDS, versionInfo: "v1", resourceNames: ["a", "b"], responseNonce: first.nonce });
    const third = await stream.next();
    expect(names(third).sort()).toEqual(["a", "b"]);
    const watch = cache.sotwRequests.at(-1)!;
    expect(watch.names).toEqual(new Set(["a", "b"]));
    expect(watch.forceResponse).toBe(true);
    expect(watch.versionInfo).toBe("v1");
    expect(Number(third.nonce)).toBeGreaterThan(Number(second.nonce));
    // A stale request without a change is ignored entirely.
    const before = cache.sotwRequests.length;
    stream.send({ typeUrl: EDS, versionInfo: "v1", resourceNames: ["a", "b"], responseNonce: first.nonce });
    expect(await stream.quiet(150)).toBe(true);
    expect(cache.sotwRequests.length).toBe(before);
    stream.close();
  });

  it("treats an empty list after explicit names as nothing, and legacy wildcard only on the first request", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1"), entry(CDS, "b", "1")]);
    harness = await startServer(cache);
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNames: ["a"] });
    const first = await stream.next();
    expect(names(first)).toEqual(["a"]);
    stream.send({ typeUrl: CDS, versionInfo: "v1", resourceNames: [], responseNonce: first.nonce });
    expect(await stream.quiet(150)).toBe(true);
    const watches = cache.sotwRequests.length;
    expect(watches).toBe(1);
    stream.send({ typeUrl: CDS, versionInfo: "v1", resourceNames: ["*"], responseNonce: first.nonce });
    const all = await stream.next();
    expect(names(all).sort()).toEqual(["a", "b"]);
    expect(cache.sotwRequests.at(-1)!.wildcard).toBe(true);
    stream.close();
  });

  it("does not treat an empty first request of a gRPC client as wildcard (not-grpc legacy mode)", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    harness = await startServer(cache);
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: node("grpc-client", { userAgentName: "gRPC Node Pure JS" }), typeUrl: CDS, resourceNames: [] });
    expect(await stream.quiet(200)).toBe(true);
    expect(cache.sotwRequests.length).toBe(0);
    stream.close();
  });

  it("answers endpoints again after clusters were sent (Envoy warming), on ADS", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "c1", [entry(CDS, "a", "1")]);
    cache.set(EDS, "e1", [entry(EDS, "a", "1")]);
    harness = await startServer(cache);
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNames: [] });
    const cds = await stream.next();
    stream.send({ typeUrl: CDS, versionInfo: "c1", responseNonce: cds.nonce });
    stream.send({ typeUrl: EDS, resourceNames: ["a"] });
    const eds = await stream.next();
    stream.send({ typeUrl: EDS, versionInfo: "e1", resourceNames: ["a"], responseNonce: eds.nonce });
    await until(() => harness!.events.filter((e) => e.kind === "ack").length === 2);
    // The cluster changes; endpoints do not. Envoy needs a fresh EDS answer to finish warming.
    cache.set(CDS, "c2", [entry(CDS, "a", "2")]);
    const cds2 = await stream.next();
    expect(cds2.typeUrl).toBe(CDS);
    const eds2 = await stream.next();
    expect(eds2.typeUrl).toBe(EDS);
    expect(eds2.versionInfo).toBe("e1");
    stream.close();
  });

  it("sends pending types in order: clusters, endpoints, listeners, routes", async () => {
    const cache = new FakeWatcher();
    harness = await startServer(cache);
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: RDS, resourceNames: ["r"] });
    stream.send({ typeUrl: LDS, resourceNames: [] });
    stream.send({ typeUrl: EDS, resourceNames: ["c"] });
    stream.send({ typeUrl: CDS, resourceNames: [] });
    await until(() => cache.openWatches === 4, 2000, "4 watches");
    // One update of every type in the same tick (as a snapshot set does), routes first.
    cache.set(RDS, "1", [entry(RDS, "r", "1")]);
    cache.set(LDS, "1", [entry(LDS, "l", "1")]);
    cache.set(EDS, "1", [entry(EDS, "c", "1")]);
    cache.set(CDS, "1", [entry(CDS, "c", "1")]);
    const order = [];
    for (let i = 0; i < 4; i++) order.push((await stream.next()).typeUrl);
    expect(order).toEqual([CDS, EDS, LDS, RDS]);
    stream.close();
  });

  it("refuses a first request without node, an unserved type, and an unknown nonce with INVALID_ARGUMENT", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    harness = await startServer(cache);
    const client = adsClient(harness.address);
    const noNode = openSotw(client);
    noNode.send({ typeUrl: CDS });
    expect(await noNode.ended).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining("node") });
    const unserved = openSotw(client);
    unserved.send({ node: NODE, typeUrl: "type.googleapis.com/acme.Nope" });
    expect(await unserved.ended).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining("not served") });
    const noType = openSotw(client);
    noType.send({ node: NODE });
    expect(await noType.ended).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining("type_url") });
    const badNonce = openSotw(client);
    badNonce.send({ node: NODE, typeUrl: CDS });
    await badNonce.next();
    badNonce.send({ typeUrl: CDS, responseNonce: "999999" });
    expect(await badNonce.ended).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining("never sent") });
    // Other streams are not affected.
    const good = openSotw(client);
    good.send({ node: NODE, typeUrl: CDS });
    expect((await good.next()).versionInfo).toBe("v1");
    good.close();
  });
});
