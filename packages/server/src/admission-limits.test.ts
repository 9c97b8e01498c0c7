// Admission (issue 9 points 3 and 6): a stream takes a slot of
// maxConcurrentStreams only once admitted; streams that never identify
// themselves are bounded per connection, per peer and server-wide and held
// only for firstRequestTimeoutMs; what a client sends while onStreamOpen
// decides is bounded in bytes. Real grpc-js clients and server on loopback.
import { credentials, status } from "@grpc/grpc-js";
import { AggregatedDiscoveryServiceClient, TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { adsClient, type Harness, NODE, node, openSotw, startServer, until } from "../test-support/harness.js";

const CDS = TypeUrl.Cluster;

let harness: Harness | undefined;
const clients: AggregatedDiscoveryServiceClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await harness?.close();
  harness = undefined;
});

function cache(): FakeWatcher {
  const watcher = new FakeWatcher();
  watcher.set(CDS, "v1", [entry(CDS, "a", "1")]);
  return watcher;
}

/** A client on a connection of its own (grpc-js otherwise shares one per address). */
function ownConnection(address: string): AggregatedDiscoveryServiceClient {
  const client = new AggregatedDiscoveryServiceClient(address, credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });
  clients.push(client);
  return client;
}

describe("admission counts only admitted streams", () => {
  it("idle streams that never send a first request do not lock legitimate clients out of maxConcurrentStreams", async () => {
    harness = await startServer(cache(), { maxConcurrentStreams: 2 });
    const attacker = ownConnection(harness.address);
    const idle = Array.from({ length: 6 }, () => openSotw(attacker));
    await until(() => harness!.xds.stats.openingStreams === 6, 3000, "6 opening streams");
    expect(harness.xds.stats.streams).toBe(0);

    const client = ownConnection(harness.address);
    const legit = [openSotw(client), openSotw(client)];
    for (const [i, stream] of legit.entries()) stream.send({ node: node(`legit-${i}`), typeUrl: CDS });
    for (const stream of legit) expect((await stream.next()).versionInfo).toBe("v1");
    expect(harness.xds.stats).toMatchObject({ streams: 2, openingStreams: 6 });

    // The slots are full now: a third identified stream is refused, naming the option.
    const third = openSotw(client);
    third.send({ node: node("legit-3"), typeUrl: CDS });
    expect(await third.ended).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: expect.stringContaining("maxConcurrentStreams = 2"),
    });
    for (const stream of [...idle, ...legit]) stream.close();
  });

  it("a stream accepted by a slow onStreamOpen is refused if the slots filled up meanwhile", async () => {
    const gates: Array<() => void> = [];
    harness = await startServer(cache(), {
      maxConcurrentStreams: 1,
      callbacks: { onStreamOpen: () => new Promise<undefined>((resolve) => gates.push(() => resolve(undefined))) },
    });
    const client = ownConnection(harness.address);
    const first = openSotw(client);
    const second = openSotw(client);
    first.send({ node: node("first"), typeUrl: CDS });
    second.send({ node: node("second"), typeUrl: CDS });
    await until(() => gates.length === 2, 3000, "both hooks to be asked");
    gates[0]!();
    expect((await first.next()).versionInfo).toBe("v1");
    gates[1]!();
    expect(await second.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining("maxConcurrentStreams") });
    first.close();
  });
});

describe("limits per connection and per peer", () => {
  it("maxStreamsPerConnection refuses more streams on one connection; another connection is served", async () => {
    harness = await startServer(cache(), { maxStreamsPerConnection: 2 });
    const busy = ownConnection(harness.address);
    const held = [openSotw(busy), openSotw(busy)];
    await until(() => harness!.xds.stats.openingStreams === 2, 3000, "2 opening streams");
    const over = openSotw(busy);
    expect(await over.ended).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: expect.stringContaining("maxStreamsPerConnection = 2"),
    });
    const other = openSotw(ownConnection(harness.address));
    other.send({ node: NODE, typeUrl: CDS });
    expect((await other.next()).versionInfo).toBe("v1");
    // A stream that ends gives its connection slot back.
    held[0]!.close();
    await until(() => harness!.xds.stats.openingStreams === 1, 3000, "the closed stream to be released");
    const again = openSotw(busy);
    again.send({ node: NODE, typeUrl: CDS });
    expect((await again.next()).versionInfo).toBe("v1");
    for (const stream of [...held, other, again]) stream.close();
  });

  it("maxOpeningStreamsPerPeer bounds unidentified streams from one address across connections; an identified stream frees its slot", async () => {
    harness = await startServer(cache(), { maxOpeningStreamsPerPeer: 3 });
    const idle = [0, 1, 2].map(() => openSotw(ownConnection(harness!.address)));
    await until(() => harness!.xds.stats.openingStreams === 3, 3000, "3 opening streams");
    const over = openSotw(ownConnection(harness.address));
    expect(await over.ended).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: expect.stringContaining("maxOpeningStreamsPerPeer = 3"),
    });
    // Identifying one of them moves it to the admitted streams: a new stream fits again.
    idle[0]!.send({ node: NODE, typeUrl: CDS });
    expect((await idle[0]!.next()).versionInfo).toBe("v1");
    const next = openSotw(ownConnection(harness.address));
    next.send({ node: node("next"), typeUrl: CDS });
    expect((await next.next()).versionInfo).toBe("v1");
    for (const stream of [...idle, next]) stream.close();
  });

  it("maxStreamsPerPeer bounds every stream of an address", async () => {
    harness = await startServer(cache(), { maxStreamsPerPeer: 2 });
    const a = openSotw(ownConnection(harness.address));
    a.send({ node: node("a"), typeUrl: CDS });
    await a.next();
    const idle = openSotw(ownConnection(harness.address));
    await until(() => harness!.xds.stats.openingStreams === 1, 3000, "1 opening stream");
    const third = openSotw(ownConnection(harness.address));
    expect(await third.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining("maxStreamsPerPeer = 2") });
    a.close();
    idle.close();
  });

  it("maxOpeningStreams: when full, a new stream ends the oldest silent stream, so an idle flood cannot keep clients out", async () => {
    harness = await startServer(cache(), { maxOpeningStreams: 20 });
    const flood = ownConnection(harness.address);
    const idle = Array.from({ length: 20 }, () => openSotw(flood));
    await until(() => harness!.xds.stats.openingStreams === 20, 3000, "20 opening streams");
    const clients = Array.from({ length: 5 }, (_, i) => {
      const stream = openSotw(ownConnection(harness!.address));
      stream.send({ node: node(`legit-${i}`), typeUrl: CDS });
      return stream;
    });
    for (const stream of clients) expect((await stream.next()).versionInfo).toBe("v1");
    // Idle streams made room: one per client that found the pool full (a client
    // leaves the pool once admitted, so between 1 and 5), the oldest first.
    await until(() => idle.some((stream) => stream.status !== undefined), 3000, "an idle stream to be ended");
    const evicted = idle.filter((stream) => stream.status !== undefined);
    expect(evicted.length).toBeGreaterThanOrEqual(1);
    expect(evicted.length).toBeLessThanOrEqual(5);
    for (const stream of evicted) {
      expect(stream.status).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining("ended to make room") });
    }
    expect(harness.xds.stats).toMatchObject({ streams: 5, openingStreams: 20 - evicted.length });
    for (const stream of [...idle, ...clients]) stream.close();
  });

  it("maxOpeningStreams: with no silent stream to end (all wait for onStreamOpen), a new stream is refused", async () => {
    harness = await startServer(cache(), { maxOpeningStreams: 1, callbacks: { onStreamOpen: () => new Promise<undefined>(() => {}) } });
    const deciding = openSotw(ownConnection(harness.address));
    deciding.send({ node: node("deciding"), typeUrl: CDS });
    await until(() => harness!.events.length > 0 || harness!.xds.stats.openingStreams === 1, 3000, "the stream to wait for the hook");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = openSotw(ownConnection(harness.address));
    expect(await refused.ended).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: expect.stringContaining("maxOpeningStreams = 1"),
    });
    expect(deciding.status).toBeUndefined();
    deciding.close();
  });

  it("an unidentified stream holds its opening slot only for firstRequestTimeoutMs", async () => {
    harness = await startServer(cache(), { firstRequestTimeoutMs: 200, maxOpeningStreamsPerPeer: 1 });
    const idle = openSotw(ownConnection(harness.address));
    expect(await idle.ended).toMatchObject({ code: status.DEADLINE_EXCEEDED });
    await until(() => harness!.xds.stats.openingStreams === 0, 3000, "the slot to be released");
    const next = openSotw(ownConnection(harness.address));
    next.send({ node: NODE, typeUrl: CDS });
    expect((await next.next()).versionInfo).toBe("v1");
    next.close();
  });
});

describe("bytes held before admission (issue 9 point 6)", () => {
  it("a client flooding requests while onStreamOpen decides is ended with RESOURCE_EXHAUSTED; others are served", async () => {
    let release: () => void = () => {};
    const gate = new Promise<undefined>((resolve) => {
      release = () => resolve(undefined);
    });
    harness = await startServer(cache(), { maxBufferedRequestBytes: 256 * 1024, callbacks: { onStreamOpen: () => gate } });
    const flooding = openSotw(adsClient(harness.address));
    flooding.send({ node: node("flood"), typeUrl: CDS });
    const big = "x".repeat(100 * 1024);
    for (let i = 0; i < 8; i++) flooding.send({ typeUrl: CDS, resourceNames: [`${big}${i}`.slice(0, 8000)], versionInfo: big });
    const ended = await flooding.ended;
    expect(ended.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(ended.details).toMatch(/while onStreamOpen was deciding.*262144 bytes \(option maxBufferedRequestBytes\)/);
    const error = harness.events.find((e) => e.kind === "error");
    expect(error?.context?.node.id).toBe("flood");
    release();
    const other = openSotw(adsClient(harness.address));
    other.send({ node: NODE, typeUrl: CDS });
    expect((await other.next()).versionInfo).toBe("v1");
    other.close();
  });

  it("requests within the bound wait for the decision and are then handled in order", async () => {
    let release: () => void = () => {};
    const gate = new Promise<undefined>((resolve) => {
      release = () => resolve(undefined);
    });
    const watcher = cache();
    watcher.set(TypeUrl.ClusterLoadAssignment, "e1", [entry(TypeUrl.ClusterLoadAssignment, "a", "1")]);
    harness = await startServer(watcher, { callbacks: { onStreamOpen: () => gate } });
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS });
    for (let i = 0; i < 20; i++) stream.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["a"] });
    expect(await stream.quiet(100)).toBe(true);
    release();
    expect((await stream.next()).typeUrl).toBe(CDS);
    expect((await stream.next()).typeUrl).toBe(TypeUrl.ClusterLoadAssignment);
    stream.close();
  });
});
