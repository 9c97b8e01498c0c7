// The lean transport: xDS gRPC methods served straight from a node:http2
// server (XdsServer.serveHttp2), without grpc-js. Each HTTP/2 stream is
// checked (method, content type, encoding), routed by `:path`, and handed to
// the same GrpcXdsStream / handleGrpcFetch that grpc-js calls reach, through
// Http2Call: an object with exactly the part of a grpc-js call they use.
// gRPC over HTTP/2 as this file speaks it: requests and responses are
// length-prefixed messages (1 flag byte, 4 bytes big-endian length, the
// message); a response is HEADERS (`:status 200`, `content-type:
// application/grpc`), the messages, then trailers with `grpc-status` and a
// percent-encoded `grpc-message`; a status with nothing before it is sent as
// one HEADERS frame ("trailers-only").
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { PeerCertificate } from "node:tls";
import type { XdsUnaryCall } from "./grpc-fetch.js";
import type { XdsCall, XdsCallStatus } from "./grpc-stream.js";
import { GrpcCode } from "./stream-rules.js";

/** UNIMPLEMENTED: not in {@link GrpcCode}, only this transport answers it (grpc-js does for unknown methods). */
export const GRPC_UNIMPLEMENTED = 12;
/** RST_STREAM codes (RFC 9113 section 7); node:http2 exports them too, but loading it is not needed for two numbers. */
const NGHTTP2_NO_ERROR = 0;
const NGHTTP2_CANCEL = 8;
/**
 * After the server sent a status, how long a stream may stay open waiting
 * for the client to read the rest and close its side; then it is reset
 * (CANCEL), so a client that stops reading cannot hold a stream forever.
 */
export const STATUS_GRACE_MS = 10_000;
const FRAME_HEADER_BYTES = 5;
/** `grpc-timeout` units, in milliseconds (gRPC HTTP/2 spec: hours, minutes, seconds, milli-, micro-, nanoseconds). */
const TIMEOUT_UNITS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/** The `grpc-timeout` header in milliseconds; `undefined` when absent, `NaN` when malformed. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(String(value));
  return match === null ? Number.NaN : Number(match[1]) * TIMEOUT_UNITS[match[2]!]!;
}

/** The answer of a unary call: a status (not OK), or `null` and the response message. */
export type Http2Answer = (status: XdsCallStatus | null, response?: Buffer) => void;

/**
 * What a served `:path` leads to: a streaming method (the xDS Stream* and
 * Delta* methods, CSDS's StreamClientStatus) or a unary one (Fetch*,
 * FetchClientStatus). Every call is read and written as raw messages; the
 * route decodes and encodes them.
 */
export type Http2Route =
  | { readonly kind: "stream"; serve(call: XdsCall): void }
  | { readonly kind: "unary"; serve(call: XdsUnaryCall, answer: Http2Answer): void };

/** Where {@link handleHttp2Stream} hands each call. */
export interface Http2Handlers {
  /** The routes by `:path`. */
  readonly routes: ReadonlyMap<string, Http2Route>;
  /** The largest request message accepted (option maxRequestBytes); a larger one is refused from its frame header. */
  readonly maxRequestBytes: number;
}

/**
 * Percent-encodes a `grpc-message` as the gRPC HTTP/2 spec asks: its UTF-8
 * bytes, each outside printable ASCII (0x20-0x7E) or `%` itself as `%XX`.
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${byte.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(byte);
  }
  return out;
}

/** The peer of a stream as grpc-js names it (`address:port`), so limits and events read the same on both transports. */
function peerOf(stream: ServerHttp2Stream): string {
  // Once per connection: its streams share the peer, and session.socket is a Proxy whose every
  // read goes through its traps (about 6 µs a stream when each asked).
  const session = stream.session;
  if (session !== undefined) {
    const known = peers.get(session);
    if (known !== undefined) return known;
  }
  let peer = "unknown";
  try {
    const socket = session?.socket;
    if (socket?.remoteAddress) peer = socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
  } catch {}
  // "unknown" is not kept: a connection asked before its socket reports its address may later.
  if (session !== undefined && peer !== "unknown") peers.set(session, peer);
  return peer;
}

/** The peer of each connection (weak: one entry per open session). */
const peers = new WeakMap<object, string>();
/** Connections without TLS (weak). */
const plaintextSessions = new WeakSet<object>();

/** The verified client certificate of a TLS session, as grpc-js reports it (nothing unless the TLS socket is authorized). */
function authContextOf(stream: ServerHttp2Stream): { sslPeerCertificate?: PeerCertificate } {
  const session = stream.session;
  // A plaintext connection stays plaintext: known once, not read through the socket Proxy per stream.
  if (session !== undefined && plaintextSessions.has(session)) return {};
  try {
    const socket = session?.socket as { encrypted?: boolean; authorized?: boolean; getPeerCertificate?: () => PeerCertificate } | undefined;
    if (session !== undefined && socket !== undefined && socket.encrypted !== true) plaintextSessions.add(session);
    if (socket?.encrypted !== true || socket.authorized !== true || socket.getPeerCertificate === undefined) return {};
    const certificate = socket.getPeerCertificate();
    return certificate?.raw ? { sslPeerCertificate: certificate } : {};
  } catch {
    return {};
  }
}

/** Ends a stream that never reached a handler: trailers-only with a status (HTTP 200, as gRPC wants). */
function refuse(stream: ServerHttp2Stream, code: number, details: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.on("error", () => {});
  stream.respond(
    {
      ":status": 200,
      "content-type": "application/grpc",
      "grpc-accept-encoding": "identity",
      "grpc-status": String(code),
      "grpc-message": encodeGrpcMessage(details),
    },
    { endStream: true },
  );
  closeAfterStatus(stream, true);
}

/** Ends a request that is not gRPC at all with a plain HTTP status. */
function refuseHttp(stream: ServerHttp2Stream, status: number, details: string, extra: OutgoingHttpHeaders = {}): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.on("error", () => {});
  stream.respond({ ":status": status, "content-type": "text/plain; charset=utf-8", ...extra });
  stream.end(`${details}\n`);
  closeAfterStatus(stream, false);
}

/**
 * Once the server has said everything (its last frame is submitted): the
 * client may still be sending (it was refused, or ignored our end). Discard
 * what arrives, and ask it to stop (RST_STREAM NO_ERROR, as RFC 9113 section
 * 8.1 allows after a complete response) on the next turn, after the
 * submitted frames; a stream whose last frames cannot leave (a client that
 * does not read) is reset after {@link STATUS_GRACE_MS}.
 */
function closeAfterStatus(stream: ServerHttp2Stream, complete: boolean): void {
  if (stream.closed || stream.destroyed) return;
  stream.resume();
  if (complete) {
    if (!stream.readableEnded) setImmediate(() => stream.closed || stream.destroyed || stream.close(NGHTTP2_NO_ERROR));
    return;
  }
  const grace = setTimeout(() => {
    if (!stream.closed && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
  }, STATUS_GRACE_MS);
  grace.unref();
  stream.once("close", () => clearTimeout(grace));
}

/**
 * Serves one HTTP/2 stream of a node:http2 server: refuses what is not a
 * gRPC call of a served method, else hands the call to `handlers`. Never
 * throws.
 */
export function handleHttp2Stream(handlers: Http2Handlers, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  try {
    const method = headers[":method"];
    if (method !== "POST") {
      refuseHttp(stream, 405, `gRPC calls are POST requests, not ${String(method)}`, { allow: "POST" });
      return;
    }
    const contentType = headers["content-type"];
    if (typeof contentType !== "string" || !contentType.startsWith("application/grpc")) {
      refuseHttp(stream, 415, `expected content-type application/grpc, got ${JSON.stringify(contentType ?? null)}`);
      return;
    }
    if (contentType.length > 16 && !/^application\/grpc(\+proto|;|\s)/.test(contentType)) {
      refuse(stream, GRPC_UNIMPLEMENTED, `content-type ${contentType} is not served: xDS is served as application/grpc (protobuf)`);
      return;
    }
    const path = headers[":path"] ?? "";
    const route = handlers.routes.get(path);
    if (route === undefined) {
      refuse(
        stream,
        GRPC_UNIMPLEMENTED,
        `the method ${path} is not served here (not an xDS method, or its service is not in the services passed to serveHttp2; CSDS is served with its csds option)`,
      );
      return;
    }
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") {
      refuse(
        stream,
        GRPC_UNIMPLEMENTED,
        `grpc-encoding ${String(encoding)} is not supported: this server reads and sends only uncompressed messages (grpc-accept-encoding: identity)`,
      );
      return;
    }
    const timeout = parseGrpcTimeout(headers["grpc-timeout"]);
    if (Number.isNaN(timeout)) {
      refuse(
        stream,
        GrpcCode.INTERNAL,
        `malformed grpc-timeout ${JSON.stringify(headers["grpc-timeout"])}: expected 1 to 8 digits and a unit (H, M, S, m, u, n)`,
      );
      return;
    }
    const call = new Http2Call(stream, handlers.maxRequestBytes);
    if (timeout !== undefined) call.expireAfter(timeout);
    if (route.kind === "unary") new UnaryReader(call, path, route).start();
    else {
      route.serve(call);
      call.start();
    }
  } catch (error) {
    try {
      refuse(stream, GrpcCode.INTERNAL, `internal error: ${(error as Error)?.message ?? String(error)}`);
    } catch {}
  }
}

/** Messages up to this size are written as one framed copy (framedMessage); larger ones behind a header of their own. */
export const MAX_FRAMED_COPY_BYTES = 64 * 1024;

/**
 * The framed copy of each message written (held as long as the message is), shared by every
 * stream it is written to: response-encoding.ts hands the streams of a node group the very
 * same message buffers, so a message is framed once and each write is one buffer (as the
 * transport floor writes), not a corked header-and-message pair, which cost a writev and its
 * arrays per response. Never modified once made, like the messages themselves.
 */
const framedMessages = new WeakMap<Buffer, Buffer>();

/** The gRPC-framed copy of `message` (made once per message), or undefined for one over MAX_FRAMED_COPY_BYTES (not worth a copy). */
export function framedMessage(message: Buffer): Buffer | undefined {
  if (message.length > MAX_FRAMED_COPY_BYTES) return undefined;
  let framed = framedMessages.get(message);
  if (framed === undefined) {
    framed = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length);
    framed[0] = 0;
    framed.writeUInt32BE(message.length, 1);
    message.copy(framed, FRAME_HEADER_BYTES);
    framedMessages.set(message, framed);
  }
  return framed;
}

/** A streaming call's response headers and options: the same for every call (node:http2 copies what it is given). */
const RESPONSE_HEADERS: OutgoingHttpHeaders = Object.freeze({
  ":status": 200,
  "content-type": "application/grpc",
  "grpc-accept-encoding": "identity",
});
const WAIT_FOR_TRAILERS = Object.freeze({ waitForTrailers: true });

type DataListener = (data: Buffer) => void;
type Listener = () => void;

/**
 * One gRPC call on a node:http2 stream, shaped as the part of a grpc-js
 * ServerDuplexStream the stream handler uses: `data` for each request
 * message, `end` when the client half-closes, `cancelled` and `close` when
 * the stream goes away, `write` with a callback once HTTP/2 took the bytes,
 * `end()` (status OK) and `emit("error", status)` to end with a status.
 */
export class Http2Call implements XdsCall {
  readonly #stream: ServerHttp2Stream;
  readonly #maxRequestBytes: number;
  #onData: DataListener | undefined;
  #onEnd: Listener | undefined;
  #onCancelled: Listener | undefined;
  #onError: ((error: Error) => void) | undefined;
  #onClose: Listener | undefined;
  /** The response headers went out (they go before the first message, or with a trailers-only status). */
  #responded = false;
  /** The status is decided (nothing more is read or written). */
  #statusSent = false;
  #trailers: OutgoingHttpHeaders | undefined;
  #closed = false;
  /** The partial frame being read: its header bytes (made when a header is split between chunks, rarely), then its body. */
  #head: Buffer | undefined;
  #headFill = 0;
  #body: Buffer | undefined;
  #bodyFill = 0;
  /** Messages read while paused, delivered on resume. */
  #held: Buffer[] = [];
  #paused = false;
  #clientEnded = false;

  constructor(stream: ServerHttp2Stream, maxRequestBytes: number) {
    this.#stream = stream;
    this.#maxRequestBytes = maxRequestBytes;
  }

  on(event: "data", listener: DataListener): this;
  on(event: "end" | "cancelled" | "close", listener: Listener): this;
  on(event: "error", listener: (error: Error) => void): this;
  on(event: string, listener: (...args: never[]) => void): this {
    if (event === "data") this.#onData = listener as DataListener;
    else if (event === "end") this.#onEnd = listener as Listener;
    else if (event === "cancelled") this.#onCancelled = listener as Listener;
    else if (event === "error") this.#onError = listener as (error: Error) => void;
    else if (event === "close") this.#onClose = listener as Listener;
    return this;
  }

  /** Starts reading: call after the listeners are set. */
  start(): void {
    const stream = this.#stream;
    stream.on("data", (chunk: Buffer) => this.#read(chunk));
    stream.on("end", () => {
      // A client that cancels half-closes first (node:http2 ends the writable side before RST_STREAM):
      // decide on the next turn, when a reset in the same read has arrived and made this a cancel.
      setImmediate(() => {
        if (this.#closed && stream.rstCode !== NGHTTP2_NO_ERROR) return;
        this.#clientEnded = true;
        this.#deliverHeld();
      });
    });
    stream.on("error", (error: Error) => {
      // A reset or a broken session: `close` follows and reports the stream gone.
      if (!this.#statusSent) this.#onError?.(error);
    });
    stream.on("close", () => {
      this.#closed = true;
      this.#gone();
      this.#onClose?.();
    });
    stream.on("wantTrailers", () => {
      try {
        stream.sendTrailers(this.#trailers ?? { "grpc-status": "0" });
        closeAfterStatus(stream, true);
      } catch {}
    });
  }

  getPeer(): string {
    return peerOf(this.#stream);
  }

  /**
   * The client's deadline (`grpc-timeout`): when it passes, the call ends
   * with DEADLINE_EXCEEDED and the handler sees it as cancelled, as on grpc-js.
   */
  expireAfter(ms: number): void {
    const timer = setTimeout(() => {
      if (this.#statusSent) return;
      this.#finish(GrpcCode.DEADLINE_EXCEEDED, "deadline exceeded (the client's grpc-timeout)");
      this.#onCancelled?.();
    }, ms);
    timer.unref();
    this.#stream.once("close", () => clearTimeout(timer));
  }

  getAuthContext(): { sslPeerCertificate?: PeerCertificate } {
    return authContextOf(this.#stream);
  }

  pause(): this {
    this.#paused = true;
    this.#stream.pause();
    return this;
  }

  resume(): this {
    this.#paused = false;
    this.#deliverHeld();
    if (!this.#paused && !this.#statusSent) this.#stream.resume();
    return this;
  }

  /**
   * Sends one response message; `callback` runs once HTTP/2 has written it
   * to the connection (so flow control holds a slow reader's responses
   * here, not in memory further down), or with an error if it never will.
   */
  write(message: Buffer, callback: (error?: Error | null) => void): boolean {
    const stream = this.#stream;
    if (this.#statusSent || this.#closed || stream.destroyed) {
      queueMicrotask(() => callback(new Error("the HTTP/2 stream is closed")));
      return false;
    }
    if (!this.#responded) this.#respond();
    const done = (error: Error | null | undefined): void => {
      // A write fails because the stream went away (reset, connection lost): report that as the
      // cancel it is before the failed write, so it is not mistaken for a fault of the server.
      if (error && !this.#statusSent && (stream.destroyed || stream.closed)) this.#gone();
      callback(error ?? null);
    };
    const framed = framedMessage(message);
    if (framed !== undefined) return stream.write(framed, done);
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    header[0] = 0;
    header.writeUInt32BE(message.length, 1);
    // Corked: header and message leave in one writev, the message is not copied behind its header.
    stream.cork();
    stream.write(header);
    const more = stream.write(message, done);
    stream.uncork();
    return more;
  }

  /** Ends the call with status OK (after the messages written so far). */
  end(): void {
    this.#finish(GrpcCode.OK, "");
  }

  /** `emit("error", { code, details })` ends the call with that status, as on grpc-js. */
  emit(event: "error", status: XdsCallStatus): boolean {
    if (event !== "error") return false;
    this.#finish(status.code, status.details);
    return true;
  }

  /** The client went away before a status was sent: `cancelled`, once. */
  #gone(): void {
    if (this.#statusSent) return;
    this.#statusSent = true;
    this.#held = [];
    this.#onCancelled?.();
  }

  #respond(): void {
    this.#responded = true;
    this.#stream.respond(RESPONSE_HEADERS, WAIT_FOR_TRAILERS);
  }

  #finish(code: number, details: string): void {
    if (this.#statusSent) return;
    this.#statusSent = true;
    this.#held = [];
    this.#body = undefined;
    const stream = this.#stream;
    if (this.#closed || stream.destroyed) return;
    const trailers: OutgoingHttpHeaders = { "grpc-status": String(code) };
    if (details !== "") trailers["grpc-message"] = encodeGrpcMessage(details);
    try {
      if (!this.#responded) {
        this.#responded = true;
        stream.respond(
          { ":status": 200, "content-type": "application/grpc", "grpc-accept-encoding": "identity", ...trailers },
          { endStream: true },
        );
        closeAfterStatus(stream, true);
      } else {
        this.#trailers = trailers;
        stream.end();
        closeAfterStatus(stream, false);
      }
    } catch {
      // The stream went away meanwhile: `close` reports it.
    }
  }

  /** Reads a chunk of the request body: whole messages are delivered without copying, a split one is assembled. */
  #read(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.#statusSent) {
      let body = this.#body;
      if (body === undefined) {
        let flags: number;
        let length: number;
        if (this.#headFill === 0 && chunk.length - offset >= FRAME_HEADER_BYTES) {
          flags = chunk[offset]!;
          length = chunk.readUInt32BE(offset + 1);
          offset += FRAME_HEADER_BYTES;
        } else {
          if (this.#head === undefined) this.#head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
          const head = this.#head;
          const n = Math.min(FRAME_HEADER_BYTES - this.#headFill, chunk.length - offset);
          chunk.copy(head, this.#headFill, offset, offset + n);
          this.#headFill += n;
          offset += n;
          if (this.#headFill < FRAME_HEADER_BYTES) return;
          this.#headFill = 0;
          flags = head[0]!;
          length = head.readUInt32BE(1);
        }
        if (!this.#acceptFrame(flags, length)) return;
        if (chunk.length - offset >= length) {
          this.#deliver(chunk.subarray(offset, offset + length));
          offset += length;
          continue;
        }
        body = this.#body = Buffer.allocUnsafe(length);
        this.#bodyFill = 0;
      }
      const n = Math.min(body.length - this.#bodyFill, chunk.length - offset);
      chunk.copy(body, this.#bodyFill, offset, offset + n);
      this.#bodyFill += n;
      offset += n;
      if (this.#bodyFill === body.length) {
        this.#body = undefined;
        this.#deliver(body);
      }
    }
  }

  /** Checks a message's frame header before any of its body is held. */
  #acceptFrame(flags: number, length: number): boolean {
    if ((flags & 1) === 1) {
      this.#finish(
        GrpcCode.INTERNAL,
        "a compressed request message arrived, but no grpc-encoding was negotiated: this server accepts only uncompressed messages (grpc-accept-encoding: identity)",
      );
      return false;
    }
    if (flags !== 0) {
      this.#finish(GrpcCode.INTERNAL, `a request message has unknown frame flags 0x${flags.toString(16)}`);
      return false;
    }
    if (length > this.#maxRequestBytes) {
      this.#finish(
        GrpcCode.RESOURCE_EXHAUSTED,
        `request of ${length} bytes is over the limit of ${this.#maxRequestBytes} bytes (option maxRequestBytes); refused from its frame header, not read`,
      );
      return false;
    }
    return true;
  }

  #deliver(message: Buffer): void {
    if (this.#paused || this.#held.length > 0) this.#held.push(message);
    else this.#onData?.(message);
  }

  #deliverHeld(): void {
    while (!this.#paused && this.#held.length > 0 && !this.#statusSent) this.#onData?.(this.#held.shift()!);
    if (this.#paused || this.#held.length > 0 || !this.#clientEnded || this.#statusSent) return;
    if (this.#headFill > 0 || this.#body !== undefined) {
      this.#finish(GrpcCode.INTERNAL, "the client ended the stream in the middle of a message");
      return;
    }
    this.#onEnd?.();
  }
}

/** A unary call (the Fetch* methods): exactly one request message, then the answer. */
class UnaryReader implements XdsUnaryCall {
  readonly #call: Http2Call;
  readonly #path: string;
  readonly #route: Extract<Http2Route, { kind: "unary" }>;
  #request: Buffer | undefined;
  #count = 0;
  #done = false;

  constructor(call: Http2Call, path: string, route: Extract<Http2Route, { kind: "unary" }>) {
    this.#call = call;
    this.#path = path;
    this.#route = route;
  }

  get request(): Buffer {
    return this.#request!;
  }

  getPeer(): string {
    return this.#call.getPeer();
  }

  getAuthContext(): { sslPeerCertificate?: PeerCertificate } {
    return this.#call.getAuthContext();
  }

  start(): void {
    const call = this.#call;
    call.on("data", (data) => {
      this.#count += 1;
      if (this.#count === 1) this.#request = data;
      else
        this.#answer({
          code: GrpcCode.INVALID_ARGUMENT,
          details: `${this.#path} is unary: expected one request message, got more`,
        });
    });
    call.on("end", () => {
      if (this.#done) return;
      if (this.#request === undefined) {
        this.#answer({
          code: GrpcCode.INVALID_ARGUMENT,
          details: `${this.#path} is unary: the request ended without a message`,
        });
        return;
      }
      this.#route.serve(this, (status, response) => this.#answer(status, response));
    });
    call.on("cancelled", () => {
      this.#done = true;
    });
    call.start();
  }

  #answer(status: XdsCallStatus | null, response?: Buffer): void {
    if (this.#done) return;
    this.#done = true;
    if (status !== null) {
      this.#call.emit("error", status);
      return;
    }
    if (response !== undefined) this.#call.write(response, () => {});
    this.#call.end();
  }
}
