/**
 * A third transport floor (BENCH_FLOOR=h2js, fleet.ts --floor h2js): the
 * initial sync served by HTTP/2 frames read and written in JavaScript over
 * `node:net`, with no `node:http2` at all. It answers like the other floors
 * (each first request of a type with bytes encoded once, every request decoded
 * by the generated codec), so set beside `--floor http2` it says how much of
 * node:http2's cost a transport of our own could save: node:http2 gives every
 * stream a JS `Http2Stream` (a Duplex with its own buffers and callbacks per
 * chunk) and crosses into C++ for each frame; here a stream is a small object
 * and the frames written while handling one read leave in one socket write.
 *
 * It measures a bound, not a server: it does what the fleet's raw load
 * generator needs and no more. It reads HPACK without Huffman coding (the
 * generator sends literal fields), does not track the client's flow-control
 * windows (the generator opens them to 2^31-1), and has no limits, timeouts,
 * TLS or error handling worth the name. A production transport would add
 * those; their cost per frame is a few comparisons.
 */
import net from "node:net";
import {
  ACK,
  CONTINUATION,
  DATA,
  END_HEADERS,
  END_STREAM,
  GOAWAY,
  HEADERS,
  PADDED,
  PING,
  RST_STREAM,
  SETTINGS,
  WINDOW_UPDATE,
} from "./h2-raw.js";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const PRIORITY = 0x20;
/** The receive window granted to the client, per stream and for the connection. */
const WINDOW = 1 << 20;

/** What the floor needs of a decoded request. */
export interface FloorRequest {
  typeUrl: string;
  responseNonce: string;
}

/** The floor's answers and decoders, SotW and delta: gRPC-framed responses by type URL. */
export interface FloorService {
  sotw: { answers: Map<string, Buffer>; decode: (bytes: Uint8Array) => FloorRequest };
  delta: { answers: Map<string, Buffer>; decode: (bytes: Uint8Array) => FloorRequest };
}

/** Serves `service` on 127.0.0.1; resolves with the port and a way to stop (connections are destroyed). */
export function serveH2Floor(service: FloorService): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    new FloorConnection(socket, service);
  });
  const close = () => {
    server.close();
    for (const socket of sockets) socket.destroy();
  };
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as net.AddressInfo).port, close })),
  );
}

/** ":status: 200" (static index 8) and "content-type: application/grpc" (literal, static name 31). */
const RESPONSE_HEADERS = Buffer.concat([Buffer.from([0x88, 0x0f, 31 - 15, 16]), Buffer.from("application/grpc")]);
/** "grpc-status: 0" as a literal field with a literal name. */
const TRAILERS = Buffer.concat([Buffer.from([0x00, 11]), Buffer.from("grpc-status"), Buffer.from([1]), Buffer.from("0")]);

interface FloorStream {
  delta: boolean;
  /** A gRPC message split across DATA frames, gathered here. */
  pending: Buffer | undefined;
  received: number;
}

class FloorConnection {
  readonly #socket: net.Socket;
  readonly #service: FloorService;
  readonly #streams = new Map<number, FloorStream>();
  #pending: Buffer | undefined;
  #preface = false;
  #peerMaxFrame = 16_384;
  #received = 0;
  /** A header block continued in CONTINUATION frames. */
  #block: { id: number; endStream: boolean; parts: Buffer[] } | undefined;
  #out: Buffer[] = [];

  constructor(socket: net.Socket, service: FloorService) {
    this.#socket = socket;
    this.#service = service;
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", () => socket.destroy());
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(3, 0); // MAX_CONCURRENT_STREAMS
    settings.writeUInt32BE(2 ** 31 - 1, 2);
    settings.writeUInt16BE(4, 6); // INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(WINDOW, 8);
    this.#frame(SETTINGS, 0, 0, settings);
    this.#windowUpdate(0, WINDOW - 65_535);
    this.#flush();
  }

  #read(chunk: Buffer): void {
    let buffer = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    let at = 0;
    if (!this.#preface) {
      if (buffer.length < PREFACE.length) {
        this.#pending = buffer;
        return;
      }
      if (buffer.toString("latin1", 0, PREFACE.length) !== PREFACE) {
        this.#socket.destroy();
        return;
      }
      this.#preface = true;
      at = PREFACE.length;
    }
    while (buffer.length - at >= 9) {
      const length = buffer.readUIntBE(at, 3);
      if (buffer.length - at - 9 < length) break;
      const id = buffer.readUInt32BE(at + 5) & 0x7fffffff;
      this.#onFrame(buffer[at + 3]!, buffer[at + 4]!, id, buffer, at + 9, at + 9 + length);
      at += 9 + length;
    }
    if (at < buffer.length) {
      buffer = buffer.subarray(at);
      this.#pending = buffer === chunk ? Buffer.from(buffer) : buffer;
    } else this.#pending = undefined;
    this.#flush();
  }

  #onFrame(type: number, flags: number, id: number, buffer: Buffer, start: number, end: number): void {
    switch (type) {
      case DATA: {
        if (flags & PADDED) end -= buffer[start++]!;
        const stream = this.#streams.get(id);
        this.#received += end - start;
        if (this.#received >= WINDOW / 2) {
          this.#windowUpdate(0, this.#received);
          this.#received = 0;
        }
        if (stream === undefined) return;
        stream.received += end - start;
        if (stream.received >= WINDOW / 2) {
          this.#windowUpdate(id, stream.received);
          stream.received = 0;
        }
        this.#onData(id, stream, buffer, start, end);
        if (flags & END_STREAM) this.#end(id);
        return;
      }
      case HEADERS: {
        if (flags & PADDED) end -= buffer[start++]!;
        if (flags & PRIORITY) start += 5;
        const part = buffer.subarray(start, end);
        if (flags & END_HEADERS) this.#onHeaders(id, part, (flags & END_STREAM) !== 0);
        else this.#block = { id, endStream: (flags & END_STREAM) !== 0, parts: [Buffer.from(part)] };
        return;
      }
      case CONTINUATION: {
        const block = this.#block;
        if (block === undefined) return;
        block.parts.push(Buffer.from(buffer.subarray(start, end)));
        if (flags & END_HEADERS) {
          this.#block = undefined;
          this.#onHeaders(block.id, Buffer.concat(block.parts), block.endStream);
        }
        return;
      }
      case RST_STREAM:
        this.#streams.delete(id);
        return;
      case SETTINGS:
        if (flags & ACK) return;
        for (let at = start; at + 6 <= end; at += 6) if (buffer.readUInt16BE(at) === 5) this.#peerMaxFrame = buffer.readUInt32BE(at + 2);
        this.#frame(SETTINGS, ACK, 0, Buffer.alloc(0));
        return;
      case PING:
        if (!(flags & ACK)) this.#frame(PING, ACK, 0, Buffer.from(buffer.subarray(start, end)));
        return;
      case GOAWAY:
        this.#socket.end();
        return;
      case WINDOW_UPDATE: // the generator's windows are 2^31-1: not tracked here (see the module comment)
        return;
    }
  }

  #onHeaders(id: number, block: Buffer, endStream: boolean): void {
    if (this.#streams.has(id)) {
      // Trailers from the client: the stream ends.
      if (endStream) this.#end(id);
      return;
    }
    let path: string;
    try {
      path = pathOf(block);
    } catch {
      this.#socket.destroy(); // a header block the floor cannot read (see the module comment)
      return;
    }
    this.#streams.set(id, { delta: path.endsWith("DeltaAggregatedResources"), pending: undefined, received: 0 });
    this.#frame(HEADERS, END_HEADERS, id, RESPONSE_HEADERS);
    if (endStream) this.#end(id);
  }

  #onData(id: number, stream: FloorStream, chunk: Buffer, start: number, end: number): void {
    const buffer = stream.pending === undefined ? chunk : Buffer.concat([stream.pending, chunk.subarray(start, end)]);
    let at = stream.pending === undefined ? start : 0;
    const stop = stream.pending === undefined ? end : buffer.length;
    const side = stream.delta ? this.#service.delta : this.#service.sotw;
    while (stop - at >= 5) {
      const length = buffer.readUInt32BE(at + 1);
      if (stop - at - 5 < length) break;
      const request = side.decode(buffer.subarray(at + 5, at + 5 + length));
      at += 5 + length;
      if (request.responseNonce === "") {
        const answer = side.answers.get(request.typeUrl);
        if (answer !== undefined) this.#data(id, answer);
      }
    }
    stream.pending = at < stop ? Buffer.from(buffer.subarray(at, stop)) : undefined;
  }

  #end(id: number): void {
    if (!this.#streams.delete(id)) return;
    this.#frame(HEADERS, END_HEADERS | END_STREAM, id, TRAILERS);
  }

  /** `payload` as DATA frames of at most the client's frame size (the payload is shared, not copied). */
  #data(id: number, payload: Buffer): void {
    for (let at = 0; at < payload.length; at += this.#peerMaxFrame)
      this.#frame(DATA, 0, id, payload.subarray(at, Math.min(payload.length, at + this.#peerMaxFrame)));
  }

  #windowUpdate(id: number, increment: number): void {
    const body = Buffer.allocUnsafe(4);
    body.writeUInt32BE(increment, 0);
    this.#frame(WINDOW_UPDATE, 0, id, body);
  }

  #frame(type: number, flags: number, id: number, payload: Buffer): void {
    const head = Buffer.allocUnsafe(9);
    head.writeUIntBE(payload.length, 0, 3);
    head[3] = type;
    head[4] = flags;
    head.writeUInt32BE(id, 5);
    this.#out.push(head, payload);
  }

  /** Everything framed while handling one read leaves in one write. */
  #flush(): void {
    if (this.#out.length === 0) return;
    this.#socket.write(Buffer.concat(this.#out));
    this.#out = [];
  }
}

/** The static-table names (RFC 7541 appendix A) of the entries up to :path, the only field read. */
const STATIC_NAMES = ["", ":authority", ":method", ":method", ":path", ":path"];

/** The `:path` of an HPACK header block (no Huffman coding: see the module comment). */
export function pathOf(block: Buffer): string {
  let at = 0;
  const integer = (prefixBits: number): number => {
    const max = (1 << prefixBits) - 1;
    let value = block[at++]! & max;
    if (value < max) return value;
    for (let shift = 0; ; shift += 7) {
      const b = block[at++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
  };
  const string = (): string => {
    if (block[at]! & 0x80) throw new Error("the h2js floor reads no Huffman-coded strings (use --client raw)");
    const length = integer(7);
    at += length;
    return block.toString("latin1", at - length, at);
  };
  while (at < block.length) {
    const first = block[at]!;
    if (first & 0x80) {
      // Indexed field: ":path: /" (4) or ":path: /index.html" (5) never name an xDS method.
      integer(7);
      continue;
    }
    if ((first & 0xe0) === 0x20) {
      integer(5); // dynamic table size update
      continue;
    }
    const index = integer((first & 0xc0) === 0x40 ? 6 : 4);
    const name = index === 0 ? string() : (STATIC_NAMES[index] ?? "");
    const value = string();
    if (name === ":path") return value;
  }
  return "";
}
