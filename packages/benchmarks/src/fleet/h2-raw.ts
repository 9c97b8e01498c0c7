/**
 * A lean HTTP/2 client made of raw frames over a `node:net` socket (h2c with
 * prior knowledge, RFC 9113), for the fleet benchmark's load generator.
 *
 * Why not `node:http2`: its client gives every stream a JS `Http2Stream` (a
 * Duplex with its own buffers, events and callbacks per chunk). At 1,000 ADS
 * streams that machinery alone costs the generator more CPU than a
 * `node:http2` server answering with pre-encoded bytes, and the generator
 * runs on a core of its own, so the wall time of the initial sync could never
 * fall below it: the benchmark would measure its own client. Here a stream is
 * a small object, bytes are read into one shared buffer, DATA payloads are
 * handed to the stream as views of it, and the frames written while handling
 * one turn of the event loop leave in one socket write per connection.
 *
 * What it does, and what it leaves out on purpose:
 * - Connection: sends the preface, SETTINGS (ENABLE_PUSH 0, INITIAL_WINDOW_SIZE
 *   2^31-1, MAX_FRAME_SIZE, 256 KiB by default) and a connection
 *   WINDOW_UPDATE to 2^31-1, then tops the connection and stream windows up
 *   whenever half is used, so the server never waits on the client. ACKs the
 *   server's SETTINGS and PINGs; applies its MAX_CONCURRENT_STREAMS (streams
 *   beyond it wait for a free slot), INITIAL_WINDOW_SIZE and MAX_FRAME_SIZE.
 *   GOAWAY, a socket error, an unexpected close or a protocol error fail the
 *   connection (`onError`, once). PRIORITY and unknown frame types are ignored.
 * - Sending: requests carry a header block the caller encodes once
 *   ({@link encodeHeaderBlock}: literal fields, no dynamic table, no Huffman);
 *   DATA honours the server's connection and stream windows (bytes wait in a
 *   per-stream queue until a WINDOW_UPDATE) and its MAX_FRAME_SIZE.
 * - Receiving: header blocks (HEADERS, CONTINUATION) are skipped, never
 *   decoded: the client needs no header value, so the server's HPACK dynamic
 *   table does not matter to it. A HEADERS frame with END_STREAM (trailers, or
 *   a trailers-only response), DATA with END_STREAM and RST_STREAM end the
 *   stream (`ended`). DATA payloads reach `data` in place (a range of the
 *   read buffer, padding removed): no Buffer is made per frame.
 * - Not supported: TLS, server push (disabled in SETTINGS), request trailers,
 *   reading response headers or trailers (grpc-status): run the generator
 *   with `--client http2` to see them.
 */
import net from "node:net";
import { copyBytes } from "./bytes.js";

/** The default of {@link H2ConnectionOptions.maxFrameSize}. */
export const MAX_FRAME_SIZE = 256 * 1024;

/** Error codes (RFC 9113 section 7), for RST_STREAM and GOAWAY. */
export const ErrorCodes = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  SETTINGS_TIMEOUT: 4,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  CONNECT_ERROR: 10,
  ENHANCE_YOUR_CALM: 11,
  INADEQUATE_SECURITY: 12,
  HTTP_1_1_REQUIRED: 13,
} as const;
const CODE_NAMES = new Map(Object.entries(ErrorCodes).map(([name, code]) => [code as number, name]));
const codeName = (code: number): string => CODE_NAMES.get(code) ?? `error code ${code}`;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** Frame types and flags (RFC 9113 section 6), shared with the h2js floor (h2-floor.ts). */
export const DATA = 0;
export const HEADERS = 1;
export const RST_STREAM = 3;
export const SETTINGS = 4;
const PUSH_PROMISE = 5;
export const PING = 6;
export const GOAWAY = 7;
export const WINDOW_UPDATE = 8;
export const CONTINUATION = 9;
export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
const MAX_WINDOW = 2 ** 31 - 1;
/** The window a peer starts with until its SETTINGS say otherwise. */
const DEFAULT_WINDOW = 65_535;

/** Receives one stream's events. */
export interface H2StreamHandler {
  /**
   * A DATA payload, padding removed: `buffer[start, end)`. The buffer is the connection's read
   * buffer, valid only during the call: copy what you keep.
   */
  data(buffer: Buffer, start: number, end: number): void;
  /**
   * The server ended the stream: `reason` says how (trailers, END_STREAM on DATA, or RST_STREAM
   * with its code). Not called when the client cancels the stream, nor when the whole connection
   * fails (that is the connection's `onError`).
   */
  ended(reason: string): void;
}

/** Options of {@link H2Connection}. */
export interface H2ConnectionOptions {
  host: string;
  port: number;
  /**
   * Called once when the connection fails: GOAWAY (its code and debug data in the message), a
   * socket error, the socket closing before {@link H2Connection.close}, or a protocol error.
   * Default: none (the failure is silent; the streams simply stop).
   */
  onError?: (message: string) => void;
  /** Called once the socket is connected (the preface and SETTINGS are on their way). Default: none. */
  onConnect?: () => void;
  /**
   * The largest frame the client accepts (its SETTINGS_MAX_FRAME_SIZE, 16,384 to 2^24-1): larger
   * frames mean fewer frames per response. Default {@link MAX_FRAME_SIZE} (256 KiB).
   */
  maxFrameSize?: number;
}

/**
 * One HPACK header block for a request, encoded once and sent as is by every stream that uses it:
 * each field a "literal header field without indexing" (RFC 7541 section 6.2.2), its name by
 * static-table index where there is one, no Huffman coding, so the server's decoder never adds to
 * its dynamic table on the client's account.
 */
export function encodeHeaderBlock(fields: readonly (readonly [name: string, value: string])[]): Buffer {
  const out: number[] = [];
  const integer = (value: number, prefixBits: number, first: number): void => {
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      out.push(first | value);
      return;
    }
    out.push(first | max);
    let rest = value - max;
    while (rest >= 128) {
      out.push((rest & 127) | 128);
      rest >>>= 7;
    }
    out.push(rest);
  };
  const string = (text: string): void => {
    const bytes = Buffer.from(text, "latin1");
    integer(bytes.length, 7, 0); // H = 0: not Huffman-coded
    out.push(...bytes);
  };
  for (const [name, value] of fields) {
    const index = STATIC_NAMES.get(name) ?? 0;
    integer(index, 4, 0x00);
    if (index === 0) string(name);
    string(value);
  }
  return Buffer.from(out);
}

/** Static-table indices (RFC 7541 appendix A) of the names a gRPC request uses. */
const STATIC_NAMES = new Map([
  [":authority", 1],
  [":method", 2],
  [":path", 4],
  [":scheme", 6],
  ["content-type", 31],
  ["user-agent", 58],
]);

/**
 * Bytes are read into this buffer, shared by every connection of the process: a read is handled
 * synchronously and nothing keeps a view of it past its handler (a frame split across reads is
 * copied out), so one buffer serves all sockets.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/**
 * Connections with frames to send. They are flushed once per turn of the event loop (setImmediate,
 * after every read of the turn was handled), not after each read: when responses trickle in, the
 * requests they cause share socket writes (a write is a system call).
 */
const toFlush: (() => void)[] = [];
function flushAll(): void {
  const flushes = toFlush.splice(0);
  for (const flush of flushes) flush();
}

/** One request stream of an {@link H2Connection}. */
export class H2Stream {
  /** The stream id: 0 while the stream waits for a slot under the server's MAX_CONCURRENT_STREAMS. */
  id = 0;
  /** "waiting": not sent yet; "open"; "closed": cancelled, ended by the server, or connection gone. */
  state: "waiting" | "open" | "closed" = "waiting";
  /** @internal The server's flow-control window for this stream (bytes the client may still send). */
  sendWindow = 0;
  /** @internal DATA bytes received since the last stream WINDOW_UPDATE. */
  received = 0;
  /** @internal Bytes waiting for window (or for the stream to start), in order. */
  queue: Buffer[] = [];

  constructor(
    readonly connection: H2Connection,
    readonly headerBlock: Buffer,
    readonly handler: H2StreamHandler,
  ) {}

  /**
   * Sends `bytes[start, end)` as DATA (never END_STREAM). The bytes are copied before the call
   * returns (into the output, or into the stream's queue while it waits for window), so a scratch
   * buffer may be reused at once.
   */
  write(bytes: Buffer, start = 0, end: number = bytes.length): void {
    this.connection.write(this, bytes, start, end);
  }

  /** Resets the stream (RST_STREAM, default CANCEL); a stream still waiting for a slot is dropped. */
  cancel(code: number = ErrorCodes.CANCEL): void {
    this.connection.cancel(this, code);
  }
}

/** A client connection (h2c, prior knowledge); see the module comment. */
export class H2Connection {
  readonly #socket: net.Socket;
  readonly #options: H2ConnectionOptions;
  readonly #streams = new Map<number, H2Stream>();
  readonly #waiting: H2Stream[] = [];
  /** Streams with queued bytes, in the order they blocked. */
  readonly #blocked = new Set<H2Stream>();
  #nextId = 1;
  #active = 0;
  #peerMaxStreams = Number.POSITIVE_INFINITY;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = 16_384;
  #sendWindow = DEFAULT_WINDOW;
  #received = 0;
  /** The stream whose header block continues in CONTINUATION frames, or 0. */
  #continuation = 0;
  #done = false;
  readonly #maxFrameSize: number;
  // Output: frames are written into #out and leave in one socket write per turn of the event loop.
  #out = Buffer.allocUnsafe(64 * 1024);
  #outLength = 0;
  #outFull: Buffer[] = [];
  #flushQueued = false;
  readonly #flushBound = (): void => this.#flush();
  // Input: a frame split across reads is gathered here (header first, then the whole frame).
  readonly #head = Buffer.allocUnsafe(9);
  #headFilled = 0;
  #frame: Buffer | undefined;
  #frameFilled = 0;

  constructor(options: H2ConnectionOptions) {
    this.#options = options;
    this.#maxFrameSize = options.maxFrameSize ?? MAX_FRAME_SIZE;
    if (!(this.#maxFrameSize >= 16_384 && this.#maxFrameSize < 2 ** 24))
      throw new RangeError(`maxFrameSize: expected 16384 to 16777215 bytes, got ${options.maxFrameSize}`);
    this.#socket = net.connect({
      host: options.host,
      port: options.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (length) => {
          this.#read(READ_BUFFER, length);
          return true;
        },
      },
    });
    this.#socket.on("connect", () => options.onConnect?.());
    this.#socket.on("error", (error) => this.#fail(`connection to ${options.host}:${options.port}: ${error.message}`));
    this.#socket.on("close", () => this.#fail(`connection to ${options.host}:${options.port} closed by the server`));
    // Preface, SETTINGS, then open the connection window to its maximum.
    this.#reserve(PREFACE.length);
    this.#outLength += PREFACE.copy(this.#out, this.#outLength);
    const settings: [number, number][] = [
      [2, 0], // ENABLE_PUSH
      [4, MAX_WINDOW], // INITIAL_WINDOW_SIZE
      [5, this.#maxFrameSize], // MAX_FRAME_SIZE
    ];
    let at = this.#frameHeader(SETTINGS, 0, 0, settings.length * 6);
    for (const [id, value] of settings) {
      this.#out.writeUInt16BE(id, at);
      this.#out.writeUInt32BE(value, at + 2);
      at += 6;
    }
    this.#windowUpdate(0, MAX_WINDOW - DEFAULT_WINDOW);
  }

  /** Streams open or waiting for a slot. */
  get streams(): number {
    return this.#active + this.#waiting.length;
  }

  /** Opens a request stream with `headerBlock` (from {@link encodeHeaderBlock}), or queues it while the server's MAX_CONCURRENT_STREAMS is reached. */
  request(headerBlock: Buffer, handler: H2StreamHandler): H2Stream {
    const stream = new H2Stream(this, headerBlock, handler);
    if (this.#done) stream.state = "closed";
    else if (this.#active < this.#peerMaxStreams) this.#start(stream);
    else this.#waiting.push(stream);
    return stream;
  }

  /** Sends GOAWAY (NO_ERROR) and ends the socket; nothing is reported afterwards. */
  close(): void {
    if (this.#done) return;
    const at = this.#frameHeader(GOAWAY, 0, 0, 8);
    this.#out.writeUInt32BE(0, at); // last stream id: the server opened none (push is disabled)
    this.#out.writeUInt32BE(ErrorCodes.NO_ERROR, at + 4);
    this.#flush();
    this.#done = true;
    this.#closeStreams();
    this.#socket.end();
  }

  /** Destroys the socket at once; nothing is reported afterwards. */
  destroy(): void {
    this.#done = true;
    this.#closeStreams();
    this.#socket.destroy();
  }

  /** @internal Through {@link H2Stream.write}. */
  write(stream: H2Stream, bytes: Buffer, start: number, end: number): void {
    if (stream.state === "closed" || end <= start) return;
    if (stream.state === "waiting" || stream.queue.length > 0) {
      stream.queue.push(Buffer.from(bytes.subarray(start, end)));
      return;
    }
    const sent = this.#sendData(stream, bytes, start, end);
    if (sent < end) {
      stream.queue.push(Buffer.from(bytes.subarray(sent, end)));
      this.#blocked.add(stream);
    }
  }

  /** @internal Through {@link H2Stream.cancel}. */
  cancel(stream: H2Stream, code: number): void {
    if (stream.state === "closed") return;
    if (stream.state === "waiting") {
      stream.state = "closed";
      this.#waiting.splice(this.#waiting.indexOf(stream), 1);
      return;
    }
    this.#rstStream(stream.id, code);
    this.#close(stream);
  }

  #start(stream: H2Stream): void {
    stream.id = this.#nextId;
    this.#nextId += 2;
    stream.state = "open";
    stream.sendWindow = this.#peerInitialWindow;
    this.#active++;
    this.#streams.set(stream.id, stream);
    // The request's header block: one HEADERS frame (END_HEADERS), CONTINUATION if it exceeds the server's frame size.
    const block = stream.headerBlock;
    for (let at = 0, first = true; first || at < block.length; first = false) {
      const n = Math.min(block.length - at, this.#peerMaxFrame);
      const last = at + n === block.length;
      const p = this.#frameHeader(first ? HEADERS : CONTINUATION, last ? END_HEADERS : 0, stream.id, n);
      copyBytes(block, at, at + n, this.#out, p);
      at += n;
    }
    if (stream.queue.length > 0) this.#drain(stream);
  }

  /** Removes an open stream and gives its slot to a waiting one. */
  #close(stream: H2Stream): void {
    stream.state = "closed";
    stream.queue.length = 0;
    this.#blocked.delete(stream);
    this.#streams.delete(stream.id);
    this.#active--;
    while (this.#waiting.length > 0 && this.#active < this.#peerMaxStreams) this.#start(this.#waiting.shift()!);
  }

  #closeStreams(): void {
    for (const stream of this.#streams.values()) stream.state = "closed";
    for (const stream of this.#waiting) stream.state = "closed";
    this.#streams.clear();
    this.#waiting.length = 0;
    this.#blocked.clear();
    this.#active = 0;
  }

  /** Sends as much of `bytes[from, end)` as the windows allow, as DATA frames; returns the offset reached. */
  #sendData(stream: H2Stream, bytes: Buffer, from: number, end: number): number {
    let at = from;
    while (at < end) {
      const n = Math.min(end - at, stream.sendWindow, this.#sendWindow, this.#peerMaxFrame);
      if (n <= 0) break;
      const p = this.#frameHeader(DATA, 0, stream.id, n);
      copyBytes(bytes, at, at + n, this.#out, p);
      at += n;
      stream.sendWindow -= n;
      this.#sendWindow -= n;
    }
    return at;
  }

  /** Sends a stream's queued bytes while the windows allow. */
  #drain(stream: H2Stream): void {
    while (stream.queue.length > 0) {
      const bytes = stream.queue[0]!;
      const sent = this.#sendData(stream, bytes, 0, bytes.length);
      if (sent < bytes.length) {
        stream.queue[0] = bytes.subarray(sent);
        this.#blocked.add(stream);
        return;
      }
      stream.queue.shift();
    }
    this.#blocked.delete(stream);
  }

  #drainBlocked(): void {
    for (const stream of this.#blocked) {
      if (this.#sendWindow <= 0) return;
      if (stream.sendWindow > 0) this.#drain(stream);
    }
  }

  // ---- input

  /** Handles `length` bytes read into `buffer`: completes a split frame, handles whole frames, keeps the rest. */
  #read(buffer: Buffer, length: number): void {
    if (this.#done) return;
    let at = 0;
    if (this.#headFilled > 0) {
      const n = Math.min(9 - this.#headFilled, length);
      buffer.copy(this.#head, this.#headFilled, 0, n);
      this.#headFilled += n;
      at = n;
      if (this.#headFilled < 9) return;
      this.#headFilled = 0;
      const size = this.#head.readUIntBE(0, 3);
      if (!this.#checkSize(size)) return;
      this.#frame = Buffer.allocUnsafe(9 + size);
      this.#head.copy(this.#frame, 0);
      this.#frameFilled = 9;
    }
    if (this.#frame !== undefined) {
      const frame = this.#frame;
      const n = Math.min(frame.length - this.#frameFilled, length - at);
      buffer.copy(frame, this.#frameFilled, at, at + n);
      this.#frameFilled += n;
      at += n;
      if (this.#frameFilled < frame.length) return;
      this.#frame = undefined;
      this.#handle(frame, 0, frame.length - 9);
    }
    while (length - at >= 9 && !this.#done) {
      const size = (buffer[at]! << 16) | (buffer[at + 1]! << 8) | buffer[at + 2]!;
      if (!this.#checkSize(size)) return;
      if (length - at - 9 < size) break;
      this.#handle(buffer, at, size);
      at += 9 + size;
    }
    if (at < length && !this.#done) {
      if (length - at < 9) {
        buffer.copy(this.#head, 0, at, length);
        this.#headFilled = length - at;
      } else {
        const size = (buffer[at]! << 16) | (buffer[at + 1]! << 8) | buffer[at + 2]!;
        this.#frame = Buffer.allocUnsafe(9 + size);
        this.#frameFilled = buffer.copy(this.#frame, 0, at, length);
      }
    }
  }

  #checkSize(size: number): boolean {
    if (size <= this.#maxFrameSize) return true;
    this.#protocolError(
      `a frame of ${size} bytes, over the MAX_FRAME_SIZE of ${this.#maxFrameSize} the client sent`,
      ErrorCodes.FRAME_SIZE_ERROR,
    );
    return false;
  }

  /** Handles the frame whose 9-byte header is at `at` in `b`, its payload `size` bytes after it. */
  #handle(b: Buffer, at: number, size: number): void {
    const type = b[at + 3]!;
    const flags = b[at + 4]!;
    const id = b.readUInt32BE(at + 5) & 0x7fffffff;
    const p = at + 9;
    if (this.#continuation !== 0) {
      if (type !== CONTINUATION || id !== this.#continuation) {
        this.#protocolError(`frame type ${type} in the middle of a header block of stream ${this.#continuation}`);
        return;
      }
      if (flags & END_HEADERS) this.#continuation = 0;
      return;
    }
    switch (type) {
      case DATA: {
        this.#received += size;
        if (this.#received >= MAX_WINDOW / 2) {
          this.#windowUpdate(0, this.#received);
          this.#received = 0;
        }
        const stream = this.#streams.get(id);
        if (stream === undefined) return; // cancelled: the bytes count for the connection only
        stream.received += size;
        if (stream.received >= MAX_WINDOW / 2) {
          this.#windowUpdate(id, stream.received);
          stream.received = 0;
        }
        let start = p;
        let end = p + size;
        if (flags & PADDED) {
          start++;
          end -= b[p]!;
          if (end < start) {
            this.#protocolError(`DATA on stream ${id} with more padding than payload`);
            return;
          }
        }
        if (end > start) stream.handler.data(b, start, end);
        if (flags & END_STREAM && stream.state === "open") this.#ended(stream, "END_STREAM on DATA, without trailers");
        return;
      }
      case HEADERS: {
        if (!(flags & END_HEADERS)) this.#continuation = id;
        const stream = this.#streams.get(id);
        if (stream !== undefined && flags & END_STREAM) this.#ended(stream, "trailers (HEADERS with END_STREAM)");
        return;
      }
      case RST_STREAM: {
        const stream = this.#streams.get(id);
        if (stream === undefined) return;
        this.#close(stream);
        stream.handler.ended(`RST_STREAM ${codeName(size >= 4 ? b.readUInt32BE(p) : -1)}`);
        return;
      }
      case SETTINGS:
        if (flags & ACK) return;
        for (let s = p; s + 6 <= p + size; s += 6) this.#setting(b.readUInt16BE(s), b.readUInt32BE(s + 2));
        this.#frameHeader(SETTINGS, ACK, 0, 0);
        while (this.#waiting.length > 0 && this.#active < this.#peerMaxStreams) this.#start(this.#waiting.shift()!);
        this.#drainBlocked();
        return;
      case PING:
        if (flags & ACK) return;
        copyBytes(b, p, p + 8, this.#out, this.#frameHeader(PING, ACK, 0, 8));
        return;
      case GOAWAY: {
        const last = b.readUInt32BE(p) & 0x7fffffff;
        const code = b.readUInt32BE(p + 4);
        const debug = b.toString("utf8", p + 8, p + size);
        this.#fail(`GOAWAY ${codeName(code)} (last stream ${last})${debug === "" ? "" : `: ${debug}`}`);
        return;
      }
      case WINDOW_UPDATE: {
        const increment = b.readUInt32BE(p) & 0x7fffffff;
        if (id === 0) this.#sendWindow += increment;
        else {
          const stream = this.#streams.get(id);
          if (stream === undefined) return;
          stream.sendWindow += increment;
        }
        this.#drainBlocked();
        return;
      }
      case PUSH_PROMISE:
        this.#protocolError("PUSH_PROMISE, though the client's SETTINGS disabled push");
        return;
      case CONTINUATION:
        this.#protocolError(`CONTINUATION on stream ${id} outside a header block`);
        return;
      default:
        return; // PRIORITY (2) and unknown types: ignored (RFC 9113 section 4.1)
    }
  }

  #setting(id: number, value: number): void {
    switch (id) {
      case 3: // MAX_CONCURRENT_STREAMS
        this.#peerMaxStreams = value;
        break;
      case 4: {
        // INITIAL_WINDOW_SIZE: applies to every open stream by the difference (RFC 9113 section 6.9.2)
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const stream of this.#streams.values()) stream.sendWindow += delta;
        break;
      }
      case 5: // MAX_FRAME_SIZE
        this.#peerMaxFrame = value;
        break;
    }
  }

  /** The server ended an open stream: reset our side (we never send END_STREAM) and report it. */
  #ended(stream: H2Stream, reason: string): void {
    this.#rstStream(stream.id, ErrorCodes.CANCEL);
    this.#close(stream);
    stream.handler.ended(reason);
  }

  #protocolError(message: string, code: number = ErrorCodes.PROTOCOL_ERROR): void {
    const at = this.#frameHeader(GOAWAY, 0, 0, 8);
    this.#out.writeUInt32BE(0, at);
    this.#out.writeUInt32BE(code, at + 4);
    this.#flush();
    this.#fail(`protocol error from the server: ${message}`);
  }

  #fail(message: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#closeStreams();
    this.#socket.destroy();
    try {
      this.#options.onError?.(message);
    } catch {
      // an observer that throws must not take the connection's event handling down
    }
  }

  // ---- output

  #rstStream(id: number, code: number): void {
    this.#out.writeUInt32BE(code, this.#frameHeader(RST_STREAM, 0, id, 4));
  }

  #windowUpdate(id: number, increment: number): void {
    this.#out.writeUInt32BE(increment, this.#frameHeader(WINDOW_UPDATE, 0, id, 4));
  }

  /** Makes room for `n` bytes in the output buffer. */
  #reserve(n: number): void {
    if (this.#out.length - this.#outLength >= n) return;
    if (this.#outLength > 0) this.#outFull.push(this.#out.subarray(0, this.#outLength));
    this.#out = Buffer.allocUnsafe(Math.max(64 * 1024, n));
    this.#outLength = 0;
  }

  /** Writes a frame header, reserves its payload and schedules the flush; returns where the payload goes. */
  #frameHeader(type: number, flags: number, id: number, size: number): number {
    this.#reserve(9 + size);
    const out = this.#out;
    let at = this.#outLength;
    out[at++] = size >>> 16;
    out[at++] = (size >>> 8) & 0xff;
    out[at++] = size & 0xff;
    out[at++] = type;
    out[at++] = flags;
    out.writeUInt32BE(id, at);
    this.#outLength = at + 4 + size;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      toFlush.push(this.#flushBound);
      if (toFlush.length === 1) setImmediate(flushAll);
    }
    return at + 4;
  }

  /** Hands what was written to the socket, in one write (or one writev). */
  #flush(): void {
    this.#flushQueued = false;
    if (this.#done) return;
    const parts = this.#outFull;
    if (this.#outLength > 0) {
      parts.push(this.#out.subarray(0, this.#outLength));
      // The socket keeps the written bytes until they are sent: continue in the rest of the buffer, or a new one.
      if (this.#out.length - this.#outLength >= 4096) this.#out = this.#out.subarray(this.#outLength);
      else this.#out = Buffer.allocUnsafe(64 * 1024);
      this.#outLength = 0;
    }
    if (parts.length === 0) return;
    if (parts.length === 1) this.#socket.write(parts[0]!);
    else {
      this.#socket.cork();
      for (const part of parts) this.#socket.write(part);
      this.#socket.uncork();
    }
    this.#outFull = [];
  }
}
