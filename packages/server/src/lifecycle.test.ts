import diagnosticsChannel from "node:diagnostics_channel";
import { credentials, Metadata, makeGenericClientConstructor, status } from "@grpc/grpc-js";
import { TypeUrl } from "@xdskit/envoy-api";
import { Struct } from "@xdskit/envoy-api/google/protobuf/struct";
import { defineResourceType } from "@xdskit/resources";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { adsClient, type Harness, NODE, node, openDelta, openSotw, StreamReader, startServer, until } from "../test-support/harness.js";
import { ServerChannels, type XdsContext, XdsServer, type XdsServerEvent } from "./index.js";

const CDS = TypeUrl.Cluster;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function cacheWithClusters(): FakeWatcher {
  const cache = new FakeWatcher();
  cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
  return cache;
}

describe("XdsServer callbacks and events", () => {
  it("gives every hook one context object with stream id, node, type URL, protocol, peer", async () => {
    const seen: Array<[string, XdsContext]> = [];
    harness = await startServer(cacheWithClusters(), {
      callbacks: {
        onStreamOpen: ({ context }) => {
          seen.push(["open", context]);
        },
        onRequest: ({ context }) => seen.push(["request", context]),
        onResponse: ({ context }) => seen.push(["response", context]),
        onAck: ({ context }) => seen.push(["ack", context]),
        onStreamClosed: ({ context }) => seen.push(["closed", context]),
      },
    });
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS });
    const response = await stream.next();
    stream.send({ typeUrl: CDS, versionInfo: "v1", responseNonce: response.nonce });
    await until(() => seen.some(([k]) => k === "ack"));
    stream.close();
    await until(() => seen.some(([k]) => k === "closed"));
    expect(seen.map(([k]) => k)).toEqual(["open", "request", "response", "request", "ack", "closed"]);
    const [, request] = seen[1]!;
    expect(request).toMatchObject({
      typeUrl: CDS,
      protocol: "sotw",
      ads: true,
      method: expect.stringContaining("StreamAggregatedResources"),
    });
    expect(request.node.id).toBe("node-1");
    expect(request.peer).toMatch(/127\.0\.0\.1/);
    expect(new Set(seen.map(([, c]) => c.streamId)).size).toBe(1);
    expect(seen[0]![1].typeUrl).toBeUndefined();
  });

  it("rejects a stream when onStreamOpen returns a status (sync or async), and reports it", async () => {
    harness = await startServer(cacheWithClusters(), {
      callbacks: {
        onStreamOpen: async ({ context }) =>
          context.node.id.startsWith("trusted-")
            ? undefined
            : { code: status.PERMISSION_DENIED, details: `node ${context.node.id} is not allowed` },
      },
    });
    const client = adsClient(harness.address);
    const denied = openSotw(client);
    denied.send({ node: node("stranger"), typeUrl: CDS });
    expect(await denied.ended).toEqual({ code: status.PERMISSION_DENIED, details: "node stranger is not allowed" });
    const allowed = openSotw(client);
    allowed.send({ node: node("trusted-1"), typeUrl: CDS });
    expect((await allowed.next()).versionInfo).toBe("v1");
    allowed.close();
    expect(harness.events.filter((e) => e.kind === "stream-rejected").length).toBe(1);
  });

  it("refuses the stream with INTERNAL when onStreamOpen throws; other hooks that throw become error events", async () => {
    let throwOpen = true;
    harness = await startServer(cacheWithClusters(), {
      callbacks: {
        onStreamOpen: () => {
          if (throwOpen) throw new Error("auth backend down");
          return undefined;
        },
        onResponse: () => {
          throw new Error("metrics broke");
        },
      },
    });
    const client = adsClient(harness.address);
    const first = openSotw(client);
    first.send({ node: NODE, typeUrl: CDS });
    expect(await first.ended).toMatchObject({ code: status.INTERNAL, details: expect.stringContaining("auth backend down") });
    throwOpen = false;
    const second = openSotw(client);
    second.send({ node: NODE, typeUrl: CDS });
    expect((await second.next()).versionInfo).toBe("v1");
    await until(() => harness!.events.some((e) => e.kind === "error"));
    const error = harness.events.find((e) => e.kind === "error") as { error: Error };
    expect(error.error.message).toContain("metrics broke");
    second.close();
  });

  it("buffers requests that arrive while onStreamOpen is pending", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const cache = cacheWithClusters();
    cache.set(TypeUrl.ClusterLoadAssignment, "e1", [entry(TypeUrl.ClusterLoadAssignment, "a", "1")]);
    harness = await startServer(cache, { callbacks: { onStreamOpen: () => gate.then(() => undefined) } });
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS });
    stream.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["a"] });
    expect(await stream.quiet(100)).toBe(true);
    release();
    const types = [(await stream.next()).typeUrl, (await stream.next()).typeUrl];
    expect(types).toEqual([CDS, TypeUrl.ClusterLoadAssignment]);
    stream.close();
  });
});

describe("XdsServer diagnostics channels", () => {
  it("publishes every event on xdskit:server:<kind>", async () => {
    const seen: string[] = [];
    const onMessage = (message: unknown) => {
      const event = message as XdsServerEvent;
      if (event.context?.node.id === "diag-node") seen.push(event.kind);
    };
    for (const name of Object.values(ServerChannels)) diagnosticsChannel.subscribe(name, onMessage);
    try {
      harness = await startServer(cacheWithClusters());
      const stream = openSotw(adsClient(harness.address));
      stream.send({ node: node("diag-node"), typeUrl: CDS });
      await stream.next();
      stream.close();
      await until(() => seen.includes("stream-closed"));
      expect(seen).toEqual(["stream-opened", "request", "response", "stream-closed"]);
    } finally {
      for (const name of Object.values(ServerChannels)) diagnosticsChannel.unsubscribe(name, onMessage);
    }
  });
});

describe("XdsServer limits and bad input", () => {
  it("refuses streams over maxConcurrentStreams with RESOURCE_EXHAUSTED", async () => {
    harness = await startServer(cacheWithClusters(), { maxConcurrentStreams: 1 });
    const client = adsClient(harness.address);
    const first = openSotw(client);
    first.send({ node: NODE, typeUrl: CDS });
    await first.next();
    const second = openSotw(client);
    second.send({ node: NODE, typeUrl: CDS });
    expect(await second.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining("maxConcurrentStreams") });
    first.close();
  });

  it("rate-limits new streams", async () => {
    harness = await startServer(cacheWithClusters(), { newStreamsPerSecond: 1, newStreamBurst: 2 });
    const client = adsClient(harness.address);
    const results = [];
    for (let i = 0; i < 3; i++) {
      const stream = openSotw(client);
      stream.send({ node: NODE, typeUrl: CDS });
      results.push(await Promise.race([stream.next().then(() => "ok"), stream.ended.then((s) => s.code)]));
      stream.close();
    }
    expect(results).toEqual(["ok", "ok", status.RESOURCE_EXHAUSTED]);
  });

  it("ends a stream that sends garbage bytes with INVALID_ARGUMENT, and an oversized request with RESOURCE_EXHAUSTED", async () => {
    harness = await startServer(cacheWithClusters(), { maxRequestBytes: 4096 });
    const Raw = makeGenericClientConstructor(
      {
        ads: {
          path: "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
          requestStream: true,
          responseStream: true,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      "Raw",
    );
    const raw = new Raw(harness.address, credentials.createInsecure()) as unknown as { ads(m: Metadata): never };
    const garbage = new StreamReader<Buffer, Buffer>(raw.ads(new Metadata()), (b) => b);
    garbage.call.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(await garbage.ended).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining("could not decode") });
    const big = openSotw(adsClient(harness.address));
    big.send({ node: NODE, typeUrl: CDS, resourceNames: ["x".repeat(5000)] });
    expect(await big.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining("maxRequestBytes") });
  });

  it("survives random requests: each bad stream ends alone and a good client is still served", async () => {
    harness = await startServer(cacheWithClusters(), { maxRequestBytes: 64 * 1024 });
    const client = adsClient(harness.address);
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const typeUrls = [CDS, TypeUrl.Listener, "", "type.googleapis.com/x.Y", "garbage"];
    const nonces = ["", "1", "2", "999", "-1", "abc", "1e3"];
    const streams = [];
    for (let i = 0; i < 40; i++) {
      const stream = i % 2 === 0 ? openSotw(client) : openDelta(client);
      for (let j = 0; j < 5; j++) {
        const request = {
          ...(random() < 0.7 ? { node: node(`fuzz-${i}`) } : {}),
          typeUrl: pick(typeUrls),
          responseNonce: pick(nonces),
          versionInfo: pick(["", "v1", "x"]),
          resourceNames: random() < 0.5 ? [] : ["*", "a", pick(["b", "", "*"])],
          resourceNamesSubscribe: random() < 0.5 ? [] : ["*", "a"],
          resourceNamesUnsubscribe: random() < 0.5 ? [] : ["a", "zz"],
          initialResourceVersions: random() < 0.5 ? {} : { a: "1", q: "" },
          ...(random() < 0.3 ? { errorDetail: { code: 3, message: "x" } } : {}),
        };
        try {
          (stream as { send(r: Record<string, unknown>): void }).send(request);
        } catch {}
      }
      streams.push(stream);
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const stream of streams) stream.close();
    const good = openSotw(client);
    good.send({ node: NODE, typeUrl: CDS });
    expect((await good.next()).versionInfo).toBe("v1");
    good.close();
  });

  it("limits the types per stream and the length of names", async () => {
    harness = await startServer(cacheWithClusters(), {
      maxTypesPerStream: 2,
      maxNameLength: 10,
      types: [defineResourceType({ typeUrl: "type.googleapis.com/acme.X", messageType: Struct, shortName: "x" })],
    });
    const client = adsClient(harness.address);
    const many = openSotw(client);
    many.send({ node: NODE, typeUrl: CDS });
    many.send({ typeUrl: TypeUrl.Listener });
    many.send({ typeUrl: "type.googleapis.com/acme.X" });
    expect(await many.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining("maxTypesPerStream") });
    const long = openSotw(client);
    long.send({ node: NODE, typeUrl: CDS, resourceNames: ["a-very-long-name"] });
    expect(await long.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining("maxNameLength") });
  });

  it("ends the stream with INTERNAL when the cache's watch fails, without affecting others", async () => {
    const cache = cacheWithClusters();
    harness = await startServer(cache);
    const client = adsClient(harness.address);
    const good = openSotw(client);
    good.send({ node: NODE, typeUrl: CDS });
    await good.next();
    cache.failWith = new Error("cache exploded");
    const bad = openSotw(client);
    bad.send({ node: NODE, typeUrl: CDS });
    expect(await bad.ended).toMatchObject({ code: status.INTERNAL, details: expect.stringContaining("cache exploded") });
    cache.failWith = undefined;
    expect(good.status).toBeUndefined();
    good.close();
  });

  it("ends a stream that sends no first request within firstRequestTimeoutMs", async () => {
    harness = await startServer(cacheWithClusters(), { firstRequestTimeoutMs: 200 });
    const idle = openSotw(adsClient(harness.address));
    expect(await idle.ended).toMatchObject({ code: status.DEADLINE_EXCEEDED, details: expect.stringContaining("firstRequestTimeoutMs") });
    expect(harness.xds.stats.streams).toBe(0);
  });

  it("closes streams after maxStreamAgeMs with status OK", async () => {
    harness = await startServer(cacheWithClusters(), { maxStreamAgeMs: 300, maxStreamAgeJitter: 0 });
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS });
    await stream.next();
    const started = Date.now();
    expect(await stream.ended).toMatchObject({ code: status.OK });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("validates options, naming the option, what was expected and what arrived", () => {
    const cache = new FakeWatcher();
    expect(() => new XdsServer({ cache, maxConcurrentStreams: -1 })).toThrow(
      /^XdsServer: option "maxConcurrentStreams" must be an integer >= 0; got -1$/,
    );
    expect(() => new XdsServer({ cache, orderd: true } as never)).toThrow(/option "orderd" must be one of the known options/);
    expect(() => new XdsServer({ cache: {} as never })).toThrow(/option "cache" must be a ConfigWatcher/);
    // The shared helper sets path to the option, so code can point at it without parsing the message.
    let caught: unknown;
    try {
      new XdsServer({ cache, maxConcurrentStreams: -1 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: "XDSKIT_INVALID_OPTION", path: "maxConcurrentStreams" });
    expect(() => new XdsServer({ cache, callbacks: { onAckk: () => {} } as never })).toThrow(/callbacks.onAckk/);
    expect(() => new XdsServer({ cache, maxStreamAgeJitter: 2 })).toThrow(/maxStreamAgeJitter/);
    const xds = new XdsServer({ cache });
    expect(xds.options.maxResponseBytes).toBe(4 * 1024 * 1024);
    expect(Object.isFrozen(xds.options)).toBe(true);
  });
});

describe("XdsServer.shutdown", () => {
  it("refuses new streams, ends open ones with UNAVAILABLE within the deadline, and completes events", async () => {
    harness = await startServer(cacheWithClusters());
    const client = adsClient(harness.address);
    const open = openSotw(client);
    open.send({ node: NODE, typeUrl: CDS });
    await open.next();
    let completed = false;
    harness.xds.events.subscribe({ complete: () => (completed = true) });
    const started = Date.now();
    await harness.xds.shutdown({ deadlineMs: 2000 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await open.ended).toMatchObject({ code: status.UNAVAILABLE, details: expect.stringContaining("shutting down") });
    expect(completed).toBe(true);
    expect(harness.xds.stats.streams).toBe(0);
    const late = openSotw(client);
    late.send({ node: NODE, typeUrl: CDS });
    expect(await late.ended).toMatchObject({ code: status.UNAVAILABLE });
  });
});
