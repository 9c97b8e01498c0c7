// XdsServer.serveHttp2: the xDS methods served from a node:http2 server,
// without grpc-js on the server side. grpc-js clients (SotW and delta ADS,
// per-type services, fetches) and raw node:http2 clients (for what a grpc-js
// client cannot send: oversized frame headers, compressed frames, non-gRPC
// requests) on real loopback sockets; mTLS with certificates made here.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { credentials, status } from "@grpc/grpc-js";
import { AggregatedDiscoveryServiceClient, ClusterDiscoveryServiceClient, DiscoveryRequest, TypeUrl } from "@xdskit/envoy-api";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "../test-support/certificates.js";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { adsClient, NODE, names, openDelta, openSotw, StreamReader, until } from "../test-support/harness.js";
import { type RegisterOptions, XdsServer, type XdsServerEvent, type XdsServerOptions } from "./index.js";
import { encodeGrpcMessage, framedMessage, MAX_FRAMED_COPY_BYTES, STATUS_GRACE_MS } from "./internal/http2-transport.js";

const CDS = TypeUrl.Cluster;
const ADS_STREAM = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";

interface Served {
  readonly xds: XdsServer;
  readonly server: http2.Http2Server | http2.Http2SecureServer;
  readonly port: number;
  readonly address: string;
  readonly events: XdsServerEvent[];
  close(): Promise<void>;
}

const opened: Served[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function serve(
  cache: FakeWatcher,
  options: Omit<XdsServerOptions, "cache"> = {},
  register: RegisterOptions = {},
  server: http2.Http2Server | http2.Http2SecureServer = http2.createServer(),
): Promise<Served> {
  const xds = new XdsServer({ cache, ...options });
  const events: XdsServerEvent[] = [];
  xds.events.subscribe((e) => events.push(e));
  xds.serveHttp2(server, register);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const served: Served = {
    xds,
    server,
    port,
    address: `127.0.0.1:${port}`,
    events,
    close: async () => {
      await xds.shutdown({ deadlineMs: 0 });
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  opened.push(served);
  return served;
}

/** One raw HTTP/2 request: response headers, body bytes, trailers. */
async function rawCall(
  port: number,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer | undefined,
  { endRequest = true }: { endRequest?: boolean } = {},
): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer; session: http2.ClientHttp2Session }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const stream = session.request({
    ":method": "POST",
    ":path": ADS_STREAM,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  stream.on("error", () => {});
  if (body !== undefined) stream.write(body);
  if (endRequest) stream.end();
  return new Promise((resolve, reject) => {
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      responseHeaders = h;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("close", () => resolve({ headers: responseHeaders, trailers, body: Buffer.concat(chunks), session }));
    setTimeout(() => reject(new Error("no answer within 5 s")), 5000).unref();
  }).finally(() => session.close()) as Promise<{
    headers: http2.IncomingHttpHeaders;
    trailers: http2.IncomingHttpHeaders;
    body: Buffer;
    session: http2.ClientHttp2Session;
  }>;
}

function frame(message: Buffer, flags = 0): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flags;
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

describe("XdsServer.serveHttp2", () => {
  it("serves SotW ADS to a grpc-js client: initial response, ACK, NACK, and the next version pushed", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1"), entry(CDS, "b", "1")]);
    const served = await serve(cache, { makeBeforeBreak: false });
    const stream = openSotw(adsClient(served.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNames: [] });
    const first = await stream.next();
    expect(first.versionInfo).toBe("v1");
    expect(names(first).sort()).toEqual(["a", "b"]);
    stream.send({ typeUrl: CDS, versionInfo: "v1", responseNonce: first.nonce });
    await until(() => served.events.some((e) => e.kind === "ack"), 3000, "ack event");
    cache.set(CDS, "v2", [entry(CDS, "a", "2")]);
    const second = await stream.next();
    expect(second.versionInfo).toBe("v2");
    expect(names(second)).toEqual(["a"]);
    stream.send({ typeUrl: CDS, versionInfo: "v1", responseNonce: second.nonce, errorDetail: { code: 3, message: "bad cluster" } });
    await until(() => served.events.some((e) => e.kind === "nack"), 3000, "nack event");
    expect(served.events.find((e) => e.kind === "nack")).toMatchObject({ rejectedVersion: "v2", keptVersion: "v1" });
    const open = served.events.find((e) => e.kind === "stream-opened");
    expect(open?.context).toMatchObject({
      protocol: "sotw",
      ads: true,
      method: ADS_STREAM,
      peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
    expect(served.xds.stats.streams).toBe(1);
    stream.close();
    // A client cancel reaches the server: the stream is closed and released. (grpc-js half-closes
    // before its RST_STREAM, so the status may read "client closed the stream", as with register.)
    await until(() => served.xds.stats.streams === 0, 3000, "no streams");
    await until(() => served.events.some((e) => e.kind === "stream-closed"), 3000, "stream-closed");
  });

  it("a connection that drops ends its streams as CANCELLED and releases them", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    const served = await serve(cache);
    const session = http2.connect(`http://127.0.0.1:${served.port}`);
    session.on("error", () => {});
    const request = frame(Buffer.from(DiscoveryRequest.encode(DiscoveryRequest.fromPartial({ node: NODE, typeUrl: CDS })).finish()));
    const streams = [0, 1, 2].map(() => {
      const stream = session.request({ ":method": "POST", ":path": ADS_STREAM, "content-type": "application/grpc", te: "trailers" });
      stream.on("error", () => {});
      stream.write(request);
      return stream;
    });
    await Promise.all(streams.map((s) => new Promise((resolve) => s.once("data", resolve))));
    expect(served.xds.stats.streams).toBe(3);
    session.destroy();
    await until(() => served.xds.stats.streams === 0, 3000, "no streams");
    await until(() => served.events.filter((e) => e.kind === "stream-closed").length === 3, 3000, "3 stream-closed");
    for (const e of served.events.filter((e) => e.kind === "stream-closed"))
      expect(e).toMatchObject({ status: { code: status.CANCELLED } });
  });

  it("serves delta ADS: initial resources, ACK, then only what changed and what was removed", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "s1", [entry(CDS, "a", "1"), entry(CDS, "b", "2")]);
    const served = await serve(cache, { makeBeforeBreak: false });
    const stream = openDelta(adsClient(served.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["*"] });
    const first = await stream.next();
    expect(first.resources.map((r) => [r.name, r.version]).sort()).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
    stream.send({ typeUrl: CDS, responseNonce: first.nonce });
    await until(() => served.events.some((e) => e.kind === "ack"), 3000, "ack event");
    cache.set(CDS, "s2", [entry(CDS, "a", "3")]);
    const second = await stream.next();
    expect(second.resources.map((r) => r.name)).toEqual(["a"]);
    expect(second.removedResources).toEqual(["b"]);
    // The client half-closes: the server ends with OK, as on grpc-js.
    stream.call.end();
    expect(await stream.ended).toMatchObject({ code: status.OK });
    await until(() => served.xds.stats.streams === 0, 3000, "no streams");
  });

  it("serves per-type services and fetches, and only the services asked for", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    const served = await serve(cache, {}, { services: ["clusters"] });
    const clusters = new ClusterDiscoveryServiceClient(served.address, credentials.createInsecure());
    const stream = new StreamReader(clusters.streamClusters(), (p) => DiscoveryRequest.fromPartial(p));
    stream.send({ node: NODE, typeUrl: CDS, resourceNames: ["a"] });
    expect(names(await stream.next())).toEqual(["a"]);
    stream.close();
    const fetched = await new Promise<{ error: unknown; names: string[] }>((resolve) =>
      clusters.fetchClusters(DiscoveryRequest.fromPartial({ node: NODE, typeUrl: CDS, resourceNames: ["a"] }), (error, response) =>
        resolve({ error, names: response ? names(response) : [] }),
      ),
    );
    expect(fetched).toEqual({ error: null, names: ["a"] });
    const missing = await new Promise<{ code?: number; details?: string } | null>((resolve) =>
      clusters.fetchClusters(DiscoveryRequest.fromPartial({ node: NODE, typeUrl: CDS, resourceNames: ["nope"] }), (error) =>
        resolve(error),
      ),
    );
    expect(missing?.code).toBe(status.NOT_FOUND);
    // ADS was not asked for: UNIMPLEMENTED, as grpc-js answers an unknown method.
    const ads = openSotw(adsClient(served.address));
    ads.send({ node: NODE, typeUrl: CDS });
    expect(await ads.ended).toMatchObject({ code: status.UNIMPLEMENTED, details: expect.stringContaining(ADS_STREAM) });
    clusters.close();
  });

  it("answers unknown paths with UNIMPLEMENTED (trailers-only) and non-gRPC requests with HTTP 415 and 405", async () => {
    const served = await serve(new FakeWatcher());
    const unknown = await rawCall(served.port, { ":path": "/some.Service/Method" }, undefined);
    expect(unknown.headers[":status"]).toBe(200);
    expect(unknown.headers["grpc-status"]).toBe("12");
    expect(decodeURIComponent(String(unknown.headers["grpc-message"]))).toContain("/some.Service/Method is not served here");
    const json = await rawCall(served.port, { "content-type": "application/json" }, Buffer.from("{}"));
    expect(json.headers[":status"]).toBe(415);
    const get = await rawCall(served.port, { ":method": "GET" }, undefined);
    expect(get.headers[":status"]).toBe(405);
    expect(served.xds.stats).toMatchObject({ streams: 0, openingStreams: 0 });
  });

  it("refuses an oversized request from its frame header, before its body arrives", async () => {
    const served = await serve(new FakeWatcher(), { maxRequestBytes: 64 * 1024 });
    // Only the 5-byte header announcing 100 MB is sent and the request stays open:
    // the status can only come back if the server decided from the header alone.
    const header = Buffer.alloc(5);
    header.writeUInt32BE(100 * 1024 * 1024, 1);
    const answer = await rawCall(served.port, {}, header, { endRequest: false });
    expect(answer.headers["grpc-status"]).toBe(String(status.RESOURCE_EXHAUSTED));
    expect(decodeURIComponent(String(answer.headers["grpc-message"]))).toContain(
      "request of 104857600 bytes is over the limit of 65536 bytes (option maxRequestBytes)",
    );
    expect(served.xds.stats.openingStreams).toBe(0);
  });

  it("refuses compression: a grpc-encoding other than identity, and a compressed message", async () => {
    const served = await serve(new FakeWatcher());
    const gzip = await rawCall(served.port, { "grpc-encoding": "gzip" }, undefined);
    expect(gzip.headers["grpc-status"]).toBe("12");
    expect(decodeURIComponent(String(gzip.headers["grpc-message"]))).toContain("grpc-encoding gzip is not supported");
    const request = DiscoveryRequest.encode(DiscoveryRequest.fromPartial({ node: NODE, typeUrl: CDS })).finish();
    const compressed = await rawCall(served.port, {}, frame(Buffer.from(request), 1));
    expect(compressed.headers["grpc-status"]).toBe(String(status.INTERNAL));
    expect(decodeURIComponent(String(compressed.headers["grpc-message"]))).toContain("compressed request message");
  });

  it("reads a message split over many DATA frames and several messages in one, and sends status with trailers", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    const served = await serve(cache);
    const session = http2.connect(`http://127.0.0.1:${served.port}`);
    session.on("error", () => {});
    const stream = session.request({ ":method": "POST", ":path": ADS_STREAM, "content-type": "application/grpc", te: "trailers" });
    const first = frame(Buffer.from(DiscoveryRequest.encode(DiscoveryRequest.fromPartial({ node: NODE, typeUrl: CDS })).finish()));
    // The first request one byte at a time (its header split too).
    for (let i = 0; i < first.length; i++) stream.write(first.subarray(i, i + 1));
    const chunks: Buffer[] = [];
    let trailers: http2.IncomingHttpHeaders = {};
    let responseHeaders: http2.IncomingHttpHeaders = {};
    stream.on("response", (h) => {
      responseHeaders = h;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("trailers", (t) => {
      trailers = t;
    });
    const closed = new Promise<void>((resolve) => stream.on("close", resolve));
    await until(() => Buffer.concat(chunks).length > 5, 3000, "first response");
    expect(responseHeaders).toMatchObject({ ":status": 200, "content-type": "application/grpc" });
    const body = Buffer.concat(chunks);
    expect(body[0]).toBe(0);
    expect(body.readUInt32BE(1)).toBe(body.length - 5);
    // An ACK and a request for an unserved type in one write: the second ends the stream with a status in trailers.
    const { DiscoveryResponse } = await import("@xdskit/envoy-api");
    const nonce = DiscoveryResponse.decode(body.subarray(5)).nonce;
    const ack = frame(
      Buffer.from(
        DiscoveryRequest.encode(DiscoveryRequest.fromPartial({ typeUrl: CDS, versionInfo: "v1", responseNonce: nonce })).finish(),
      ),
    );
    const bad = frame(
      Buffer.from(DiscoveryRequest.encode(DiscoveryRequest.fromPartial({ typeUrl: "type.googleapis.com/not.a.Type" })).finish()),
    );
    stream.write(Buffer.concat([ack, bad]));
    await closed;
    session.close();
    expect(served.events.some((e) => e.kind === "ack")).toBe(true);
    expect(trailers["grpc-status"]).toBe(String(status.INVALID_ARGUMENT));
    expect(decodeURIComponent(String(trailers["grpc-message"]))).toContain("not.a.Type");
  });

  it("honours the client's grpc-timeout with DEADLINE_EXCEEDED and refuses a malformed one", async () => {
    const served = await serve(new FakeWatcher());
    const started = Date.now();
    const expired = await rawCall(served.port, { "grpc-timeout": "150m" }, undefined, { endRequest: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(expired.headers["grpc-status"]).toBe(String(status.DEADLINE_EXCEEDED));
    await until(() => served.xds.stats.openingStreams === 0, 3000, "no opening streams");
    const malformed = await rawCall(served.port, { "grpc-timeout": "soon" }, undefined);
    expect(malformed.headers["grpc-status"]).toBe(String(status.INTERNAL));
    expect(decodeURIComponent(String(malformed.headers["grpc-message"]))).toContain("malformed grpc-timeout");
  });

  it("counts streams per connection (maxStreamsPerConnection) by the peer each HTTP/2 connection has", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    const served = await serve(cache, { maxStreamsPerConnection: 2 });
    const request = frame(Buffer.from(DiscoveryRequest.encode(DiscoveryRequest.fromPartial({ node: NODE, typeUrl: CDS })).finish()));
    const open = (session: http2.ClientHttp2Session) => {
      const stream = session.request({ ":method": "POST", ":path": ADS_STREAM, "content-type": "application/grpc", te: "trailers" });
      stream.on("error", () => {});
      stream.write(request);
      const answer = new Promise<string>((resolve) => {
        stream.once("data", () => resolve("served"));
        stream.once("response", (headers) => headers["grpc-status"] !== undefined && resolve(`status ${headers["grpc-status"]}`));
      });
      return answer;
    };
    const one = http2.connect(`http://127.0.0.1:${served.port}`);
    const two = http2.connect(`http://127.0.0.1:${served.port}`);
    try {
      expect(await Promise.all([open(one), open(one)])).toEqual(["served", "served"]);
      expect(await open(one)).toBe(`status ${status.RESOURCE_EXHAUSTED}`);
      expect(await open(two)).toBe("served");
      expect(served.xds.stats.streams).toBe(3);
    } finally {
      one.destroy();
      two.destroy();
    }
  });

  it("a client that vanishes while a response is held by flow control is a cancel, not a server error", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    const served = await serve(cache);
    // A 16-byte receive window: the first response cannot be written out whole, its write stays in flight.
    const session = http2.connect(`http://127.0.0.1:${served.port}`, { settings: { initialWindowSize: 16 } });
    session.on("error", () => {});
    const stream = session.request({ ":method": "POST", ":path": ADS_STREAM, "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => {});
    stream.write(frame(Buffer.from(DiscoveryRequest.encode(DiscoveryRequest.fromPartial({ node: NODE, typeUrl: CDS })).finish())));
    await until(() => served.xds.stats.inFlightWrites === 1, 3000, "a write held by flow control");
    session.destroy();
    await until(() => served.xds.stats.streams === 0, 3000, "no streams");
    await until(() => served.events.some((e) => e.kind === "stream-closed"), 3000, "stream-closed");
    expect(served.events.find((e) => e.kind === "stream-closed")).toMatchObject({ status: { code: status.CANCELLED } });
    expect(served.events.filter((e) => e.kind === "error")).toEqual([]);
  });

  it("ends its streams on shutdown with UNAVAILABLE, sends GOAWAY on its connections and refuses new streams", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    const served = await serve(cache);
    const stream = openSotw(adsClient(served.address));
    stream.send({ node: NODE, typeUrl: CDS });
    await stream.next();
    const raw = http2.connect(`http://127.0.0.1:${served.port}`);
    raw.on("error", () => {});
    const goaway = new Promise<void>((resolve) => raw.once("goaway", () => resolve()));
    await new Promise<void>((resolve) => raw.once("remoteSettings", () => resolve()));
    await served.xds.shutdown({ deadlineMs: 100 });
    await goaway;
    raw.destroy();
    expect(await stream.ended).toMatchObject({ code: status.UNAVAILABLE, details: expect.stringContaining("shutting down") });
    expect(served.xds.stats.streams).toBe(0);
    const late = openSotw(adsClient(served.address));
    late.send({ node: NODE, typeUrl: CDS });
    expect(await late.ended).toMatchObject({ code: status.UNAVAILABLE });
  });

  it("refuses to serve one node:http2 server twice, and unknown service names", () => {
    const xds = new XdsServer({ cache: new FakeWatcher() });
    const server = http2.createServer();
    xds.serveHttp2(server, { services: ["ads"] });
    expect(() => xds.serveHttp2(server)).toThrow(expect.objectContaining({ code: "XDSKIT_API_MISUSE" }));
    expect(() => new XdsServer({ cache: new FakeWatcher() }).serveHttp2(server)).toThrow(/already served/);
    expect(() => xds.serveHttp2(http2.createServer(), { services: ["nope" as never] })).toThrow(
      expect.objectContaining({ code: "XDSKIT_INVALID_OPTION" }),
    );
  });

  it("frames a message once, in a copy shared by every write of it, and leaves the message as it was; a large one is not copied", () => {
    const message = Buffer.from("a response message");
    const framed = framedMessage(message)!;
    expect(framed).toEqual(frame(Buffer.from("a response message")));
    expect(framedMessage(message)).toBe(framed);
    expect(message.toString()).toBe("a response message");
    // Another buffer with the same bytes is another message: its own copy.
    expect(framedMessage(Buffer.from("a response message"))).not.toBe(framed);
    expect(framedMessage(Buffer.alloc(MAX_FRAMED_COPY_BYTES))).toHaveLength(MAX_FRAMED_COPY_BYTES + 5);
    expect(framedMessage(Buffer.alloc(MAX_FRAMED_COPY_BYTES + 1))).toBeUndefined();
  });

  it("sends the same responses to many streams, small ones framed once and large ones behind their own header, byte for byte", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "small", "1"), entry(CDS, "large", "1", MAX_FRAMED_COPY_BYTES + 100)]);
    const served = await serve(cache, { makeBeforeBreak: false });
    const client = adsClient(served.address);
    const seen = await Promise.all(
      [["small"], ["large"], ["small"], ["large"], ["small", "large"]].map(async (wanted) => {
        const stream = openSotw(client);
        stream.send({ node: NODE, typeUrl: CDS, resourceNames: wanted });
        const response = await stream.next();
        stream.close();
        return response.resources.map((r) => [r.value.length, r.value[1]]);
      }),
    );
    const small = [Buffer.byteLength("small") + 2, 5];
    const large = [MAX_FRAMED_COPY_BYTES + 100, 5];
    expect(seen).toEqual([[small], [large], [small], [large], expect.arrayContaining([small, large])]);
  });

  it("percent-encodes grpc-message as the gRPC HTTP/2 spec says", () => {
    expect(encodeGrpcMessage("plain text: ok")).toBe("plain text: ok");
    expect(encodeGrpcMessage("100% done")).toBe("100%25 done");
    expect(encodeGrpcMessage("line\nnext")).toBe("line%0Anext");
    expect(encodeGrpcMessage("né")).toBe("n%C3%A9");
    expect(decodeURIComponent(encodeGrpcMessage('node "é" 100%\t'))).toBe('node "é" 100%\t');
    expect(STATUS_GRACE_MS).toBeGreaterThan(0);
  });
});

describe("XdsServer.serveHttp2 over mTLS", () => {
  let certificates: TestCertificates | undefined;
  const pem = (name: string) => certificates!.pem(name);
  beforeAll(() => {
    certificates = makeTestCertificates([
      ["server", "DNS:localhost"],
      ["workload-a", "URI:spiffe://test.example/ns/default/sa/a"],
    ]);
  });
  afterAll(() => certificates?.dispose());

  it("hooks see the verified client certificate's identity, and per-identity limits count it", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    const seen: unknown[] = [];
    // rejectUnauthorized: false only so this test can also connect without a certificate (it has no identity then).
    const server = http2.createSecureServer({
      key: pem("server.key"),
      cert: pem("server.crt"),
      ca: pem("ca.crt"),
      requestCert: true,
      rejectUnauthorized: false,
    });
    const served = await serve(
      cache,
      {
        maxStreamsPerIdentity: 1,
        callbacks: {
          onStreamOpen: ({ context }) => {
            seen.push(context.identity);
          },
        },
      },
      {},
      server,
    );
    const client = () =>
      new AggregatedDiscoveryServiceClient(
        `localhost:${served.port}`,
        credentials.createSsl(pem("ca.crt"), pem("workload-a.key"), pem("workload-a.crt")),
        { "grpc.use_local_subchannel_pool": 1 },
      );
    const stream = openSotw(client());
    stream.send({ node: NODE, typeUrl: CDS });
    expect(names(await stream.next())).toEqual(["a"]);
    expect(seen[0]).toMatchObject({ key: "spiffe://test.example/ns/default/sa/a", spiffeId: "spiffe://test.example/ns/default/sa/a" });
    // A second connection of the same identity is over maxStreamsPerIdentity.
    const second = openSotw(client());
    second.send({ node: { ...NODE, id: "node-2" }, typeUrl: CDS });
    expect(await second.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    stream.close();
    // Without a client certificate there is no identity.
    const anonymous = new AggregatedDiscoveryServiceClient(`localhost:${served.port}`, credentials.createSsl(pem("ca.crt")), {
      "grpc.use_local_subchannel_pool": 1,
    });
    await until(() => served.xds.stats.streams === 0, 3000, "first stream released");
    const third = openSotw(anonymous);
    third.send({ node: { ...NODE, id: "node-3" }, typeUrl: CDS });
    await third.next();
    expect(seen.at(-1)).toBeUndefined();
    third.close();
  });
});
