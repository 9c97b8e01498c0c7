import { status } from "@grpc/grpc-js";
import { TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { adsClient, type Harness, NODE, names, node, openDelta, openSotw, startServer, until } from "../test-support/harness.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("XdsServer stream state", () => {
  it("keeps the first request's node for every watch of the stream, SotW and delta", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    cache.set(EDS, "v1", [entry(EDS, "a", "1")]);
    harness = await startServer(cache);
    const sotw = openSotw(adsClient(harness.address));
    sotw.send({ node: NODE, typeUrl: CDS, resourceNames: ["a"] });
    const cds = await sotw.next();
    // Later requests omit the node, or carry another one: the stream's node stays the first.
    sotw.send({ typeUrl: CDS, versionInfo: "v1", resourceNames: ["a"], responseNonce: cds.nonce });
    sotw.send({ node: node("someone-else"), typeUrl: EDS, resourceNames: ["a"] });
    await sotw.next();
    await until(() => cache.sotwRequests.length === 3, 2000, "3 SotW watches");
    expect(cache.sotwRequests.map((r) => r.node.id)).toEqual(["node-1", "node-1", "node-1"]);
    sotw.close();

    const delta = openDelta(adsClient(harness.address));
    delta.send({ node: node("delta-node"), typeUrl: CDS, resourceNamesSubscribe: ["a"] });
    const first = await delta.next();
    delta.send({ typeUrl: CDS, responseNonce: first.nonce });
    delta.send({ node: node("someone-else"), typeUrl: EDS, resourceNamesSubscribe: ["a"] });
    await delta.next();
    await until(() => cache.deltaRequests.length >= 3, 2000, "3 delta watches");
    expect(new Set(cache.deltaRequests.map((r) => r.node.id))).toEqual(new Set(["delta-node"]));
    delta.close();
  });

  it("a new SotW request for a type cancels the previous watch; only the latest names count", async () => {
    const cache = new FakeWatcher();
    harness = await startServer(cache);
    const stream = openSotw(adsClient(harness.address));
    // Nothing exists yet, so the first watch stays open.
    stream.send({ node: NODE, typeUrl: EDS, resourceNames: ["a"] });
    await until(() => cache.openWatches === 1, 2000, "first watch");
    stream.send({ typeUrl: EDS, resourceNames: ["b"] });
    await until(() => cache.sotwRequests.length === 2, 2000, "second watch");
    expect(cache.openWatches).toBe(1);
    expect(cache.sotwRequests.at(-1)!.names).toEqual(new Set(["b"]));
    cache.set(EDS, "v1", [entry(EDS, "a", "1"), entry(EDS, "b", "1")]);
    const response = await stream.next();
    expect(names(response)).toEqual(["b"]);
    expect(await stream.quiet(150)).toBe(true);
    stream.close();
  });
  it("nonces are per stream: a reconnecting SotW client's old nonce is ignored and the new stream counts its own", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    harness = await startServer(cache);
    const client = adsClient(harness.address);
    const before = openSotw(client);
    before.send({ node: NODE, typeUrl: CDS, resourceNames: ["a"] });
    const r1 = await before.next();
    before.send({ typeUrl: CDS, versionInfo: "v1", resourceNames: ["a"], responseNonce: r1.nonce });
    await until(() => harness!.events.some((e) => e.kind === "ack"), 2000, "ack");
    cache.set(CDS, "v2", [entry(CDS, "a", "2")]);
    const r2 = await before.next();
    expect(r2.nonce).not.toBe(r1.nonce);
    before.close();
    // The new stream's first request repeats the old stream's latest nonce: neither an ACK nor an error.
    const after = openSotw(client);
    after.send({ node: NODE, typeUrl: CDS, versionInfo: "v1", resourceNames: ["a"], responseNonce: r2.nonce });
    const fresh = await after.next();
    expect(fresh.versionInfo).toBe("v2");
    expect(fresh.nonce).toBe(r1.nonce);
    expect(harness.events.filter((e) => e.kind === "ack").length).toBe(1);
    expect(harness.events.some((e) => e.kind === "nack")).toBe(false);
    after.send({ typeUrl: CDS, versionInfo: "v2", resourceNames: ["a"], responseNonce: fresh.nonce });
    await until(() => harness!.events.filter((e) => e.kind === "ack").length === 2, 2000, "second ack");
    after.close();
  });
  it("delta over ADS: a request without type_url ends the stream with INVALID_ARGUMENT", async () => {
    const cache = new FakeWatcher();
    harness = await startServer(cache);
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, resourceNamesSubscribe: ["a"] });
    expect(await stream.ended).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining("type_url") });
    expect(cache.deltaRequests.length).toBe(0);
  });
});
