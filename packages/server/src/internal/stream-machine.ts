// The skeleton both protocol state machines (SotW in sotw-stream.ts, delta in
// delta-stream.ts) are built on:
// - `CarrierStream`: what a machine gets from the gRPC stream that carries it;
// - `StreamMachine` and `StreamProtocol`: the typed interface the stream drives
//   (decode a message, hand the request to the machine, close it);
// - `TypeTable`: one state per type URL with the fields every protocol needs
//   (subscription mode, latest nonce, awaiting ACK, gate, open watch), bounded
//   by maxTypesPerStream, and the make-before-break gate over those states.
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { XdsContext, XdsServerEvent } from "../events.js";
import type { ResolvedXdsServerOptions } from "../options.js";
import type { ResolvedTypeDescriptor } from "../type-descriptors.js";
import type { OutgoingQueue } from "./outgoing-queue.js";
import { serveTypeUrls } from "./request-decoding.js";
import { checkTypeCount, type Nonces, resolveRequestType, type StreamFailure } from "./stream-rules.js";
import type { TypeWatch } from "./type-watch.js";

/** The stream that carries a protocol machine, as the machine sees it. */
export interface CarrierStream {
  readonly streamId: number;
  readonly node: Node;
  readonly ads: boolean;
  /** The type a per-type service serves; `undefined` on ADS. */
  readonly serviceTypeUrl: string | undefined;
  readonly options: ResolvedXdsServerOptions;
  readonly queue: OutgoingQueue;
  readonly nonces: Nonces;
  /** The context object of events about `typeUrl` on this stream. */
  context(typeUrl: string | undefined): XdsContext;
  /** Reports an event (callbacks, events Observable, diagnostics, cache.observe). */
  emit(event: XdsServerEvent): void;
  /** Ends the stream with the failure's status. */
  fail(failure: StreamFailure): void;
}

/** What every per-type state holds, whatever the protocol. */
export interface TypeState {
  readonly descriptor: ResolvedTypeDescriptor;
  /** Subscribed to everything (explicit `*` or the legacy empty first request). */
  wildcard: boolean;
  /** The wildcard comes from the legacy rule only (an empty first request). */
  legacy: boolean;
  /** The nonce of the latest response sent for this type. */
  latestNonce: string | undefined;
  /** Sent, and its ACK/NACK has not arrived. */
  awaitingAck: boolean;
  /** Make-before-break: the next watch waits until every type of the stream is ACKed. */
  gated: boolean;
  /** The one open cache watch of this type. */
  readonly watch: Pick<TypeWatch<{ readonly typeUrl: string }>, "isOpen" | "cancel">;
}

/** A protocol state machine: reads requests, watches the cache, queues responses. */
export interface StreamMachine<Request> {
  /** The per-type states (read-only, for stats and tests). */
  readonly types: ReadonlyMap<string, Readonly<TypeState>>;
  /** Handles one request; throws {@link StreamFailure} when the stream must end. */
  handle(request: Request): void;
  /** Cancels every watch; nothing is queued afterwards. */
  close(): void;
}

/**
 * The part both protocol machines share: the carrier, the per-type table, and
 * reopening a type's watch (cancel the open watch and the pending response,
 * then open a new one unless the stream is closed or the type is gated). A
 * machine adds how a request is handled and what a watch asks the cache.
 */
export abstract class ProtocolMachine<Request extends { readonly typeUrl: string }, S extends TypeState> implements StreamMachine<Request> {
  protected readonly env: CarrierStream;
  protected readonly table: TypeTable<S>;

  constructor(env: CarrierStream) {
    this.env = env;
    this.table = new TypeTable(
      env,
      (descriptor) => this.createState(descriptor),
      (state) => this.rewatch(state),
    );
  }

  /** The per-type state (read-only view for tests and stats). */
  get types(): ReadonlyMap<string, Readonly<S>> {
    return this.table.states;
  }

  /** Handles one request; throws {@link StreamFailure} when the stream must end. */
  handle(request: Request): void {
    if (this.table.closed) return;
    this.handleRequest(request, resolveRequestType(this.env, request.typeUrl));
  }

  /** Cancels every watch and drops pending responses. */
  close(): void {
    this.table.close();
  }

  /** Replaces the type's watch (and drops its pending response) with one for its current subscription. */
  protected rewatch(state: S): void {
    state.watch.cancel();
    this.env.queue.remove(state.descriptor.typeUrl);
    if (this.table.closed || state.gated) return;
    this.openWatch(state);
  }

  /** The state of a type on its first request. */
  protected abstract createState(descriptor: ResolvedTypeDescriptor): S;

  /** Handles a request of a served type (resolved by the base, which also ignores requests after close). */
  protected abstract handleRequest(request: Request, descriptor: ResolvedTypeDescriptor): void;

  /** Opens the cache watch of a type that is neither closed nor gated. */
  protected abstract openWatch(state: S): void;
}

/** One xDS streaming protocol as a gRPC stream carries it. */
export interface StreamProtocol<Request extends { readonly node?: Node | undefined; readonly typeUrl: string }> {
  readonly kind: "sotw" | "delta";
  /** The request message's name, for error messages. */
  readonly requestName: string;
  decode(data: Uint8Array): Request;
  createMachine(carrier: CarrierStream): StreamMachine<Request>;
}

/** What the make-before-break gate says about a response that removes something the client holds. */
export type GateDecision =
  /** Send it as it is. */
  | "send"
  /** Send the additions only (the removal follows once every type is ACKed); the type is now gated. */
  | "split"
  /** Send nothing now (only removals, others wait for ACKs); the type is now gated. */
  | "hold";

/**
 * The per-type states of one stream and the make-before-break gate over them.
 * The machine supplies how a state is created and how a type's watch is
 * (re)opened; the table owns the map, the type-count limit, closing, and
 * when a gated type may proceed.
 */
export class TypeTable<S extends TypeState> {
  readonly #carrier: CarrierStream;
  readonly #create: (descriptor: ResolvedTypeDescriptor) => S;
  readonly #rewatch: (state: S) => void;
  readonly #states = new Map<string, S>();
  /** How many states are gated: releaseGates runs after every request, and almost always has none to release. */
  #gated = 0;
  #closed = false;

  constructor(carrier: CarrierStream, create: (descriptor: ResolvedTypeDescriptor) => S, rewatch: (state: S) => void) {
    this.#carrier = carrier;
    this.#create = create;
    this.#rewatch = rewatch;
  }

  get states(): ReadonlyMap<string, S> {
    return this.#states;
  }

  /** True once {@link close} ran: no watch may open. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The state of a type; undefined before its first request (then {@link create} it). */
  find(typeUrl: string): S | undefined {
    return this.#states.get(typeUrl);
  }

  /** Creates the state of a type on its first request (within option maxTypesPerStream). */
  create(descriptor: ResolvedTypeDescriptor): S {
    checkTypeCount(this.#carrier, descriptor.typeUrl, this.#states.size);
    const state = this.#create(descriptor);
    this.#states.set(descriptor.typeUrl, state);
    return state;
  }

  /** Cancels every watch. */
  close(): void {
    this.#closed = true;
    for (const state of this.#states.values()) state.watch.cancel();
  }

  /**
   * Whether a response with removals goes through the gate at all: only on
   * ADS (the only place types can be ordered against each other), with
   * option makeBeforeBreak, and not for a heartbeat.
   */
  gates(heartbeat: boolean): boolean {
    return this.#carrier.ads && this.#carrier.options.makeBeforeBreak && !heartbeat;
  }

  /**
   * Make-before-break for a response of `state` that removes something the
   * client holds: with additions, send those first and hold the removal;
   * removals alone wait while another type waits for its ACK.
   */
  gate(state: S, hasAdditions: boolean): GateDecision {
    if (hasAdditions) {
      this.#gate(state);
      return "split";
    }
    if (this.#othersBusy(state)) {
      this.#gate(state);
      return "hold";
    }
    return "send";
  }

  /** A gated type proceeds (its watch reopens) once no type of the stream waits for an ACK. */
  releaseGates(): void {
    if (this.#gated === 0 || !this.#carrier.options.makeBeforeBreak) return;
    for (const state of this.#states.values()) {
      if (!state.gated) continue;
      for (const other of this.#states.values()) if (this.#busy(other)) return;
      state.gated = false;
      this.#gated -= 1;
      this.#rewatch(state);
    }
  }

  #gate(state: S): void {
    if (state.gated) return;
    state.gated = true;
    this.#gated += 1;
  }

  #busy(state: S): boolean {
    return state.awaitingAck || this.#carrier.queue.has(state.descriptor.typeUrl);
  }

  #othersBusy(state: S): boolean {
    for (const other of this.#states.values()) if (other !== state && this.#busy(other)) return true;
    return false;
  }
}

/** The type tables whose type URLs the request decoders know (see serveTypeUrls): once per server. */
const servedTables = new WeakSet<object>();

/** Tells the request decoders the type URLs a stream's server serves, so requests name them with the same strings. */
export function servesTypes(carrier: CarrierStream): void {
  const types = carrier.options.types;
  if (servedTables.has(types)) return;
  servedTables.add(types);
  serveTypeUrls(types.keys());
}
