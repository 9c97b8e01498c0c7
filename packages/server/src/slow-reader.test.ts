import { TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { adsClient, type Harness, node, openDelta, openSotw, startServer, until } from "../test-support/harness.js";

const CDS = TypeUrl.Cluster;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function clusters(version: number) {
  // 5 clusters of 50 kB: each response is about 250 kB, far over HTTP/2's 64 kB stream window.
  return Array.from({ length: 5 }, (_, i) => entry(CDS, `c${i}`, `${version}`, 50_000));
}

describe("XdsServer with a slow reader", () => {
  it("keeps at most one pending response per type for a client that stopped reading, while others keep receiving", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "0", clusters(0));
    harness = await startServer(cache);
    const client = adsClient(harness.address);

    const slow = openDelta(client);
    slow.send({ node: node("slow"), typeUrl: CDS, resourceNamesSubscribe: ["*"] });
    await slow.next();
    slow.call.pause();

    const fastDelta = openDelta(client);
    fastDelta.send({ node: node("fast-delta"), typeUrl: CDS, resourceNamesSubscribe: ["*"] });
    await fastDelta.next();
    const fastSotw = openSotw(client);
    fastSotw.send({ node: node("fast-sotw"), typeUrl: CDS });
    let sotwLast = await fastSotw.next();
    fastSotw.send({ typeUrl: CDS, versionInfo: sotwLast.versionInfo, responseNonce: sotwLast.nonce });

    const slowStreamId = harness.events.find((e) => e.kind === "stream-opened" && e.context?.node.id === "slow")!.context!.streamId;
    let maxPending = 0;
    let maxInFlightBytes = 0;
    const updates = 40;
    for (let v = 1; v <= updates; v++) {
      cache.set(CDS, `${v}`, clusters(v));
      // The fast clients read and ACK everything.
      let delta = await fastDelta.next();
      while (delta.systemVersionInfo !== `${v}`) delta = await fastDelta.next();
      fastDelta.send({ typeUrl: CDS, responseNonce: delta.nonce });
      sotwLast = await fastSotw.next();
      expect(sotwLast.versionInfo).toBe(`${v}`);
      fastSotw.send({ typeUrl: CDS, versionInfo: sotwLast.versionInfo, responseNonce: sotwLast.nonce });
      const stats = harness.xds.stats;
      maxPending = Math.max(maxPending, stats.pendingResponses);
      maxInFlightBytes = Math.max(maxInFlightBytes, stats.inFlightBytes);
    }
    // Three streams, one type: never more than one pending response each, never more than one response in flight each.
    expect(maxPending).toBeLessThanOrEqual(3);
    expect(maxInFlightBytes).toBeLessThanOrEqual(3 * 260_000);
    // The slow stream got only what the paused client's read-ahead (grpc-js buffers 16 messages) and
    // HTTP/2 flow control let through: well under the 40 versions pushed; the rest were superseded.
    const slowResponses = harness.events.filter((e) => e.kind === "response" && e.context.streamId === slowStreamId).length;
    expect(slowResponses).toBeLessThanOrEqual(20);
    // The slow stream is stalled on grpc-js backpressure: one write in flight, at most one response waiting.
    await until(() => harness!.xds.stats.inFlightWrites === 1 && harness!.xds.stats.pendingResponses <= 1, 2000, "slow stream stalled");
    // Once it reads again it catches up with the newest version, skipping the ones in between.
    slow.call.resume();
    await until(() => slow.received.some((r) => r.systemVersionInfo === `${updates}`), 5000, "slow client to catch up");
    expect(slow.received.length).toBeLessThanOrEqual(22);
    slow.close();
    fastDelta.close();
    fastSotw.close();
  });

  it("shutdown does not wait past its deadline for a client that stopped reading", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "0", clusters(0));
    harness = await startServer(cache);
    const slow = openDelta(adsClient(harness.address));
    slow.send({ node: node("slow"), typeUrl: CDS, resourceNamesSubscribe: ["*"] });
    await slow.next();
    slow.call.pause();
    // Push until the stream is stalled: a write in flight that grpc-js has not taken for 300 ms.
    let stalledFor = 0;
    for (let v = 1; v <= 300 && stalledFor < 30; v++) {
      cache.set(CDS, `${v}`, clusters(v));
      await new Promise((r) => setTimeout(r, 10));
      stalledFor = harness.xds.stats.inFlightWrites === 1 ? stalledFor + 1 : 0;
    }
    expect(stalledFor).toBe(30);
    const started = Date.now();
    await harness.xds.shutdown({ deadlineMs: 300 });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(1000);
    expect(harness.xds.stats).toEqual({
      streams: 0,
      openingStreams: 0,
      fetches: 0,
      pendingResponses: 0,
      inFlightWrites: 0,
      inFlightBytes: 0,
    });
    slow.close();
  });
});
