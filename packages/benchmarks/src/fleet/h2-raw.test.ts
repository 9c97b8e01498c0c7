// The fleet load generator's raw HTTP/2 client (h2-raw.ts) against a real
// node:http2 server (nghttp2) on a loopback socket: requests and DATA both ways
// across flow-control windows, trailers, resets both ways, the server's PING and
// SETTINGS (MAX_CONCURRENT_STREAMS), padded DATA, CONTINUATION, GOAWAY.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes, encodeHeaderBlock, H2Connection } from "./h2-raw.js";

const PATH = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
const BLOCK = encodeHeaderBlock([
  [":method", "POST"],
  [":scheme", "http"],
  [":path", PATH],
  [":authority", "localhost"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
]);

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup.splice(0).reverse()) step();
});

async function listen(
  options: http2.ServerOptions,
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
) {
  const server = http2.createServer(options);
  const sessions: http2.ServerHttp2Session[] = [];
  server.on("session", (session) => sessions.push(session));
  server.on("stream", onStream);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup.push(() => {
    for (const session of sessions) session.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, sessions };
}

function connect(port: number, extra: { maxFrameSize?: number } = {}) {
  const errors: string[] = [];
  const connection = new H2Connection({ host: "127.0.0.1", port, onError: (message) => errors.push(message), ...extra });
  cleanup.push(() => connection.destroy());
  return { connection, errors };
}

/** A stream that records what it receives. */
function recorder() {
  const chunks: Buffer[] = [];
  const ends: string[] = [];
  return {
    chunks,
    ends,
    bytes: () => Buffer.concat(chunks),
    handler: {
      data: (buffer: Buffer, start: number, end: number) => chunks.push(Buffer.from(buffer.subarray(start, end))),
      ended: (reason: string) => ends.push(reason),
    },
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const pattern = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

describe("H2Connection against node:http2", () => {
  it("sends a request with its header block and exchanges DATA both ways past the default windows, then sees the trailers", async () => {
    const fromClient = pattern(300_000, 1); // over the server's 65,535-byte stream and connection windows
    const fromServer = pattern(700_000, 2); // many frames, split across reads
    const seen: { headers?: http2.IncomingHttpHeaders; body?: Buffer } = {};
    const { port } = await listen({}, (stream, headers) => {
      seen.headers = headers;
      const parts: Buffer[] = [];
      let length = 0;
      stream.on("data", (chunk: Buffer) => {
        parts.push(chunk);
        length += chunk.length;
        if (length === fromClient.length) {
          seen.body = Buffer.concat(parts);
          stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
          stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
          stream.end(fromServer);
        }
      });
    });
    const { connection, errors } = connect(port);
    const got = recorder();
    const stream = connection.request(BLOCK, got.handler);
    stream.write(fromClient.subarray(0, 1000));
    // Written bytes are copied at once, even those that wait for window: the source may be reused.
    const scratch = Buffer.from(fromClient);
    stream.write(scratch, 1000, scratch.length);
    scratch.fill(0);
    await until(() => got.ends.length > 0, "the trailers");
    expect(seen.headers).toMatchObject({
      ":method": "POST",
      ":path": PATH,
      ":scheme": "http",
      "content-type": "application/grpc",
      te: "trailers",
    });
    expect(seen.body!.equals(fromClient)).toBe(true);
    expect(got.bytes().equals(fromServer)).toBe(true);
    expect(got.ends).toEqual(["trailers (HEADERS with END_STREAM)"]);
    expect(stream.state).toBe("closed");
    expect(errors).toEqual([]);
  });

  it("reports a trailers-only response as the end of the stream", async () => {
    const { port } = await listen({}, (stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "7" }, { endStream: true });
    });
    const { connection } = connect(port);
    const got = recorder();
    connection.request(BLOCK, got.handler);
    await until(() => got.ends.length > 0, "the end");
    expect(got.ends).toEqual(["trailers (HEADERS with END_STREAM)"]);
  });

  it("reports the server's RST_STREAM with its code, and resets a cancelled stream with CANCEL", async () => {
    const codes: number[] = [];
    const { port } = await listen({}, (stream) => {
      stream.on("close", () => codes.push(stream.rstCode));
      stream.on("error", () => {}); // node reports its own reset as a stream error
      stream.on("data", (chunk: Buffer) => {
        // Before any response: close() then sends RST_STREAM alone (after a response it ends the stream first).
        if (chunk.toString() === "reset me") stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        else if (!stream.headersSent) stream.respond({ ":status": 200 });
      });
    });
    const { connection, errors } = connect(port);
    const reset = recorder();
    connection.request(BLOCK, reset.handler).write(Buffer.from("reset me"));
    await until(() => reset.ends.length > 0, "the reset");
    expect(reset.ends).toEqual(["RST_STREAM REFUSED_STREAM"]);

    const cancelled = recorder();
    const stream = connection.request(BLOCK, cancelled.handler);
    stream.write(Buffer.from("hello"));
    await until(() => codes.length === 1, "the first stream's close");
    stream.cancel();
    await until(() => codes.length === 2, "the cancel at the server");
    expect(codes[1]).toBe(ErrorCodes.CANCEL);
    expect(cancelled.ends).toEqual([]); // a cancel is the client's own doing: not reported
    expect(errors).toEqual([]);
  });

  it("ACKs the server's PING and SETTINGS, and keeps streams over its MAX_CONCURRENT_STREAMS waiting for a slot", async () => {
    const opened: string[] = [];
    const { port, sessions } = await listen({}, (stream, headers) => {
      opened.push(String(headers["x-name"] ?? "?"));
      stream.respond({ ":status": 200 });
      stream.on("data", (chunk: Buffer) => stream.write(chunk)); // echo
    });
    const { connection, errors } = connect(port);
    const first = recorder();
    const a = connection.request(BLOCK, first.handler);
    a.write(Buffer.from("a"));
    await until(() => first.chunks.length > 0, "the first echo");

    const session = sessions[0]!;
    const rtt = await new Promise<number>((resolve, reject) =>
      session.ping((error, duration) => (error ? reject(error) : resolve(duration))),
    );
    expect(rtt).toBeGreaterThanOrEqual(0);
    await new Promise<void>((resolve, reject) =>
      session.settings({ maxConcurrentStreams: 1 }, (error) => (error ? reject(error) : resolve())),
    );

    const second = recorder();
    const b = connection.request(BLOCK, second.handler);
    b.write(Buffer.from("b")); // queued with the stream until it gets a slot
    expect(b.state).toBe("waiting");
    expect(connection.streams).toBe(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(opened.length).toBe(1);
    a.cancel();
    await until(() => second.chunks.length > 0, "the second stream's echo");
    expect(opened.length).toBe(2);
    expect(b.id).toBe(3);
    expect(second.bytes().toString()).toBe("b");
    expect(errors).toEqual([]);
  });

  it("removes DATA padding and skips header blocks continued in CONTINUATION frames", async () => {
    const body = pattern(50_000, 3);
    const { port } = await listen(
      { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX, maxSendHeaderBlockLength: 1 << 20 },
      (stream) => {
        // A 40 KB header block over the client's 16,384-byte frames: HEADERS + CONTINUATION.
        stream.respond({ ":status": 200, "x-big": "v".repeat(40_000) });
        stream.end(body);
      },
    );
    const { connection, errors } = connect(port, { maxFrameSize: 16_384 });
    const got = recorder();
    connection.request(BLOCK, got.handler);
    await until(() => got.ends.length > 0, "the end of the stream");
    expect(got.bytes().equals(body)).toBe(true);
    expect(got.ends).toEqual(["END_STREAM on DATA, without trailers"]);
    expect(errors).toEqual([]);
  });

  it("reports GOAWAY as a connection failure, once", async () => {
    let streams = 0;
    const { port, sessions } = await listen({}, (stream) => {
      streams++;
      stream.respond({ ":status": 200 });
    });
    const { connection, errors } = connect(port);
    const got = recorder();
    connection.request(BLOCK, got.handler).write(Buffer.from("x"));
    await until(() => streams === 1, "the stream at the server");
    sessions[0]!.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from("too many"));
    await until(() => errors.length > 0, "the failure");
    await new Promise((r) => setTimeout(r, 50));
    expect(errors).toEqual(["GOAWAY ENHANCE_YOUR_CALM (last stream 1): too many"]);
  });

  it("encodes header fields as literals, by static-table name index where there is one", () => {
    // :method (index 2) "POST", then te (new name) "trailers"
    expect([
      ...encodeHeaderBlock([
        [":method", "POST"],
        ["te", "trailers"],
      ]),
    ]).toEqual([0x02, 4, ...Buffer.from("POST"), 0x00, 2, ...Buffer.from("te"), 8, ...Buffer.from("trailers")]);
    // content-type's index 31 does not fit 4 bits: 15, then 16 in the continuation byte
    expect([...encodeHeaderBlock([["content-type", "a"]]).subarray(0, 2)]).toEqual([0x0f, 16]);
  });
});
