// One xDS stream on grpc-js (or on node:http2, see http2-transport.ts):
// admission, decoding, the node check, the open hook, limits, max age, and
// ending with a clear status. The protocol itself is in sotw-stream.ts /
// delta-stream.ts; writing is in outgoing-queue.ts.
import type { PeerCertificate } from "node:tls";
import { ErrorCode, Node, XdskitError } from "@xdskit/envoy-api/core";
import type { PeerIdentity, XdsContext, XdsStatus } from "../events.js";
import type { XdsMethodSpec } from "../services.js";
import { originOf } from "./admission.js";
import { OutgoingQueue } from "./outgoing-queue.js";
import { grpcCallIdentity } from "./peer-certificate.js";
import type { StreamHost, StreamSync, TrackedStream } from "./stream-host.js";
import type { CarrierStream, StreamMachine, StreamProtocol } from "./stream-machine.js";
import { GrpcCode, Nonces, StreamFailure, violation } from "./stream-rules.js";

/** Requests held while onStreamOpen decides before asking grpc-js to pause (it may deliver more). */
const PAUSE_WAITING_REQUESTS = 16;
/** Requests held while onStreamOpen decides before the stream ends with RESOURCE_EXHAUSTED. */
const MAX_WAITING_REQUESTS = 64;
const EMPTY_NODE: Node = Node.fromPartial({});

/** The fields of a request the stream itself reads (the first request's node). */
type AnyRequest = { readonly node?: Node | undefined; readonly typeUrl: string };

/** A gRPC status to end a call with. */
export interface XdsCallStatus {
  readonly code: number;
  readonly details: string;
}

/**
 * The part of a grpc-js `ServerDuplexStream<Buffer, Buffer>` a stream uses,
 * so the node:http2 transport can carry the same streams: one `data` per
 * request message, `end` on the client's half-close, `cancelled`/`close`
 * when it goes away; `write` calls back once the transport took the message;
 * `end()` ends with OK, `emit("error", status)` with that status.
 */
export interface XdsCall {
  on(event: "data", listener: (data: Buffer) => void): unknown;
  on(event: "end" | "cancelled" | "close", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  write(message: Buffer, callback: (error?: Error | null) => void): unknown;
  end(): void;
  emit(event: "error", status: XdsCallStatus): unknown;
  getPeer(): string;
  pause(): unknown;
  resume(): unknown;
  getAuthContext?(): { sslPeerCertificate?: PeerCertificate | undefined };
}

export class GrpcXdsStream<Request extends AnyRequest> implements TrackedStream {
  readonly id: number;
  readonly #core: StreamHost;
  readonly #call: XdsCall;
  readonly #method: XdsMethodSpec;
  readonly #protocol: StreamProtocol<Request>;
  readonly #serviceTypeUrl: string | undefined;
  readonly #peer: string;
  readonly #queue: OutgoingQueue;
  readonly #nonces = new Nonces();
  #phase: "new" | "opening" | "open" | "closed" = "new";
  #node: Node = EMPTY_NODE;
  #machine: StreamMachine<Request> | undefined;
  #waiting: Buffer[] = [];
  #waitingBytes = 0;
  #ageTimer: NodeJS.Timeout | undefined;
  #ending = false;
  #opened = false;
  /** The stream's context, then one per type (made on first use; a short list, not a Map: held per idle stream). */
  #streamContext: XdsContext | undefined;
  readonly #typeContexts: XdsContext[] = [];
  /** The type context returned last. */
  #lastContext: XdsContext | undefined;
  /** The verified client certificate's identity (mTLS), if any. */
  #identity: PeerIdentity | undefined;

  constructor(
    core: StreamHost,
    call: XdsCall,
    method: XdsMethodSpec,
    protocol: StreamProtocol<Request>,
    serviceTypeUrl: string | undefined,
  ) {
    this.#core = core;
    this.#call = call;
    this.#method = method;
    this.#protocol = protocol;
    this.#serviceTypeUrl = serviceTypeUrl;
    this.id = core.nextId();
    let peer = "unknown";
    try {
      peer = call.getPeer();
    } catch {}
    this.#peer = peer;
    this.#queue = new OutgoingQueue({
      write: (message, done) => {
        if (this.#phase === "closed") return done();
        this.#call.write(message, done);
      },
      rank: (typeUrl) => core.options.types.get(typeUrl)?.order ?? 100,
      ordered: core.options.ordered,
      limiter: core.pushes,
      onError: (error) =>
        this.#fail(
          new StreamFailure(
            GrpcCode.INTERNAL,
            new XdskitError(ErrorCode.WRITE_FAILED, `writing a response failed: ${error.message}`, {
              nodeId: this.#node.id,
              cause: error,
            }),
          ),
        ),
    });
  }

  /** Starts handling the call. */
  start(): void {
    this.#identity = grpcCallIdentity(this.#call);
    const refusal = this.#core.admission.enter(this, originOf(this.#peer, this.#identity?.key));
    if (refusal !== undefined) {
      this.#phase = "closed";
      this.#core.hub.emit({ kind: "stream-rejected", context: undefined, status: refusal, at: Date.now() });
      this.#sendStatus(refusal);
      return;
    }
    this.#call.on("data", (data: Buffer) => this.#onData(data));
    this.#call.on("end", () => this.end({ code: GrpcCode.OK, details: "client closed the stream" }));
    this.#call.on("cancelled", () => this.#cleanup({ code: GrpcCode.CANCELLED, details: "cancelled by the client" }));
    this.#call.on("error", (error: Error) => {
      if (!this.#ending) this.#cleanup({ code: GrpcCode.INTERNAL, details: `stream error: ${error.message}` });
    });
    this.#call.on("close", () => this.#cleanup({ code: GrpcCode.CANCELLED, details: "stream closed" }));
    // firstRequestTimeoutMs is kept by admission: one timer for every opening stream (expireOpening).
  }

  expireOpening(): void {
    if (this.#phase !== "new" && this.#phase !== "opening") return;
    this.#fail(
      violation(
        `no first request accepted within ${this.#core.options.firstRequestTimeoutMs} ms (option firstRequestTimeoutMs)`,
        { nodeId: this.#node.id },
        GrpcCode.DEADLINE_EXCEEDED,
      ),
    );
  }

  get silent(): boolean {
    return this.#phase === "new";
  }

  get stats() {
    return { ...this.#queue.stats, types: this.#machine?.types.size ?? 0 };
  }

  sync(): StreamSync | undefined {
    const machine = this.#machine;
    if (machine === undefined || this.#phase !== "open") return undefined;
    const types = [...machine.types.values()].map((state) => ({
      typeUrl: state.descriptor.typeUrl,
      current: !state.awaitingAck && !state.gated && state.watch.isOpen && !this.#queue.has(state.descriptor.typeUrl),
    }));
    return { node: this.#node, types };
  }

  /** The protocol state machine (for tests). */
  get machine(): StreamMachine<Request> | undefined {
    return this.#machine;
  }

  whenIdle(): Promise<void> {
    return this.#queue.whenIdle();
  }

  /** Ends the stream: flushes what grpc-js holds, then sends the status. */
  end(status: XdsStatus): void {
    if (this.#phase === "closed") return;
    this.#cleanup(status);
    this.#sendStatus(status);
  }

  #context(typeUrl: string | undefined): XdsContext {
    let context: XdsContext | undefined;
    if (typeUrl === undefined) context = this.#streamContext;
    else if (this.#lastContext?.typeUrl === typeUrl) return this.#lastContext;
    else {
      // Indexed, not for-of: this runs for every event, and the iterator was not always optimized away.
      const contexts = this.#typeContexts;
      for (let i = 0; i < contexts.length; i++) if (contexts[i]!.typeUrl === typeUrl) context = contexts[i];
    }
    if (context === undefined) {
      // Two literals, not a spread of an optional part: one object made, the same fields in the same order.
      const identity = this.#identity;
      context = Object.freeze(
        identity === undefined
          ? {
              streamId: this.id,
              node: this.#node,
              typeUrl,
              protocol: this.#protocol.kind,
              ads: this.#serviceTypeUrl === undefined,
              peer: this.#peer,
              method: this.#method.path,
            }
          : {
              streamId: this.id,
              node: this.#node,
              typeUrl,
              protocol: this.#protocol.kind,
              ads: this.#serviceTypeUrl === undefined,
              peer: this.#peer,
              identity,
              method: this.#method.path,
            },
      );
      if (typeUrl === undefined) this.#streamContext = context;
      else if (this.#typeContexts.length < 64) this.#typeContexts.push(context);
    }
    // A type's events come in runs (its request, response, ACK): the next one is asked for the same type.
    if (typeUrl !== undefined) this.#lastContext = context;
    return context;
  }

  #onData(data: Buffer): void {
    if (this.#phase === "closed") return;
    if (this.#phase === "opening") {
      // grpc-js keeps delivering after pause(): bound what is held, in bytes and messages.
      this.#waiting.push(data);
      this.#waitingBytes += data.length;
      const limit = this.#core.options.maxBufferedRequestBytes;
      if (this.#waitingBytes > limit || this.#waiting.length > MAX_WAITING_REQUESTS) {
        this.#fail(
          violation(
            `${this.#waiting.length} requests (${this.#waitingBytes} bytes) arrived while onStreamOpen was deciding; the limit is ${MAX_WAITING_REQUESTS} requests and ${limit} bytes (option maxBufferedRequestBytes)`,
            { nodeId: this.#node.id },
            GrpcCode.RESOURCE_EXHAUSTED,
          ),
        );
        return;
      }
      if (this.#waiting.length >= PAUSE_WAITING_REQUESTS) this.#call.pause();
      return;
    }
    try {
      const request = this.#decode(data);
      if (this.#phase === "new") {
        this.#open(request);
        return;
      }
      this.#machine!.handle(request);
    } catch (error) {
      this.#failWith(error);
    }
  }

  #decode(data: Buffer): Request {
    const limit = this.#core.options.maxRequestBytes;
    if (data.length > limit) {
      throw violation(
        `request of ${data.length} bytes is over the limit of ${limit} bytes (option maxRequestBytes)`,
        { nodeId: this.#node.id },
        GrpcCode.RESOURCE_EXHAUSTED,
      );
    }
    try {
      return this.#protocol.decode(data);
    } catch (error) {
      throw violation(`could not decode the ${this.#protocol.requestName} (${data.length} bytes): ${(error as Error).message}`, {
        nodeId: this.#node.id,
      });
    }
  }

  #open(request: Request): void {
    // Spec: the node is only guaranteed on a stream's first request.
    if (request.node === undefined) {
      throw violation("the first request of a stream must carry the node (node is required on the first request)", {
        ...(request.typeUrl ? { typeUrl: request.typeUrl } : {}),
      });
    }
    if (request.node.id === "" && !this.#core.options.allowEmptyNodeId) {
      throw violation(
        "the node has an empty id: every node must name itself (set node.id in the client's bootstrap), or allow it with the server option allowEmptyNodeId",
        { ...(request.typeUrl ? { typeUrl: request.typeUrl } : {}) },
      );
    }
    this.#node = request.node;
    this.#phase = "opening";
    const admission = this.#core.admission;
    const early = admission.identified();
    if (early !== undefined) {
      this.#refuse(early);
      return;
    }
    admission.decide(this.#context(undefined), "stream", (status) => {
      if (this.#phase === "closed") return;
      const refusal = status ?? admission.admit(this, this.#context(undefined));
      if (refusal !== undefined) {
        this.#refuse(refusal);
        return;
      }
      this.#accept(request);
    });
  }

  /** Refuses a stream that is not admitted: a stream-rejected event, then the status. */
  #refuse(status: XdsStatus): void {
    this.#phase = "closed";
    this.#waiting = [];
    this.#core.admission.release(this);
    this.#core.hub.emit({ kind: "stream-rejected", context: this.#context(undefined), status, at: Date.now() });
    this.#sendStatus(status);
  }

  #accept(first: Request): void {
    const options = this.#core.options;
    const carrier: CarrierStream = {
      streamId: this.id,
      node: this.#node,
      ads: this.#serviceTypeUrl === undefined,
      serviceTypeUrl: this.#serviceTypeUrl,
      options,
      queue: this.#queue,
      nonces: this.#nonces,
      context: (typeUrl) => this.#context(typeUrl),
      emit: (event) => this.#core.hub.emit(event),
      fail: (failure) => this.#fail(failure),
    };
    this.#machine = this.#protocol.createMachine(carrier);
    this.#phase = "open";
    this.#opened = true;
    this.#core.hub.emit({ kind: "stream-opened", context: this.#context(undefined), at: Date.now() });
    if (options.maxStreamAgeMs > 0) {
      const spread = options.maxStreamAgeMs * options.maxStreamAgeJitter;
      const age = options.maxStreamAgeMs - spread + Math.random() * 2 * spread;
      this.#ageTimer = setTimeout(() => this.end({ code: GrpcCode.OK, details: "maximum stream age reached; reconnect" }), age);
      this.#ageTimer.unref();
    }
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#waitingBytes = 0;
    try {
      this.#machine.handle(first);
      for (const data of waiting) {
        if (this.#phase !== "open") return;
        this.#machine.handle(this.#decode(data));
      }
    } catch (error) {
      this.#failWith(error);
      return;
    }
    if (waiting.length >= PAUSE_WAITING_REQUESTS) this.#call.resume();
  }

  #failWith(error: unknown): void {
    if (error instanceof StreamFailure) {
      this.#fail(error);
      return;
    }
    this.#fail(
      new StreamFailure(
        GrpcCode.INTERNAL,
        new XdskitError(ErrorCode.INTERNAL, `internal error handling a request: ${(error as Error)?.message ?? String(error)}`, {
          nodeId: this.#node.id,
          cause: error,
        }),
      ),
    );
  }

  #fail(failure: StreamFailure): void {
    if (this.#phase === "closed") return;
    this.#core.hub.emit({
      kind: "error",
      context: this.#node === EMPTY_NODE ? undefined : this.#context(failure.error.typeUrl),
      error: failure.error,
      at: Date.now(),
    });
    this.end(failure.status);
  }

  #cleanup(status: XdsStatus): void {
    if (this.#phase === "closed") return;
    this.#phase = "closed";
    if (this.#ageTimer !== undefined) clearTimeout(this.#ageTimer);
    this.#machine?.close();
    this.#queue.close();
    this.#waiting = [];
    this.#core.admission.release(this);
    if (this.#opened) this.#core.hub.emit({ kind: "stream-closed", context: this.#context(undefined), status, at: Date.now() });
  }

  #sendStatus(status: XdsStatus): void {
    if (this.#ending) return;
    this.#ending = true;
    try {
      if (status.code === GrpcCode.OK) this.#call.end();
      else this.#call.emit("error", { code: status.code, details: status.details });
    } catch {
      // The call is already gone.
    }
  }
}
