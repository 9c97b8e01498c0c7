// The incremental (delta) protocol state machine of one stream: per type the
// subscription, the name -> version map of what the client holds (seeded from
// initial_resource_versions, updated on every send; kept as a map shared with
// other streams plus this stream's differences, see client-versions.ts), names
// to send even if current, ACK/NACK reporting, split responses and
// make-before-break.
//
// Spec: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#incremental-xds
import type { DeltaResponse, DeltaWatchRequest } from "@xdskit/cache";
import { type DeltaDiscoveryRequest, ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { ResolvedTypeDescriptor } from "../type-descriptors.js";
import { ClientVersions, isSharedNames, NO_NAMES, sharedList, sharedNames } from "./client-versions.js";
import type { OutgoingItem } from "./outgoing-queue.js";
import { decodeDeltaDiscoveryRequest } from "./request-decoding.js";
import { chunkNames, encodeDelta, splitDelta } from "./response-encoding.js";
import { type CarrierStream, ProtocolMachine, type StreamProtocol, servesTypes, type TypeState } from "./stream-machine.js";
import { checkNames, checkSubscriptionSize, GrpcCode, legacyWildcardAllowed, unknownNonce, violation } from "./stream-rules.js";
import { TypeWatch } from "./type-watch.js";

const REMEMBERED_NONCES = 16;
const NO_LIST: readonly string[] = Object.freeze([]);

/** What one delta stream knows about one type. Exposed read-only for tests. */
export interface DeltaTypeState extends TypeState {
  /**
   * Names subscribed explicitly. May be a set shared with other streams
   * (see `sharedNames`): changed only through `ownSet`, which copies it first.
   */
  names: ReadonlySet<string>;
  /** What the server believes the client holds: name -> version. */
  readonly clientVersions: ClientVersions;
  /** Names of the latest subscribe lists, sent even if the client holds them (NO_NAMES when none). */
  forceNames: ReadonlySet<string>;
  /** Answer even if empty (the first wildcard request). */
  forceResponse: boolean;
  /** A wildcard request was already answered on this stream. */
  wildcardAnswered: boolean;
  /** Recent nonces sent for this type, with their system version. */
  readonly sentNonces: Map<string, string>;
  readonly watch: TypeWatch<DeltaResponse>;
  /** Handles the answer of the type's watch: made once per type, not per opening. */
  readonly onResponse: (response: DeltaResponse) => void;
  /**
   * Characters of the subscribed names, plus those of the names and versions
   * of the first request's initial_resource_versions (charged once): what
   * option maxSubscriptionBytes bounds, kept up to date per name changed.
   */
  subscriptionChars: number;
  /** The next watch may tell the cache it is resumed (see DeltaWatchRequest.resumed). */
  resume: boolean;
  /**
   * A response is queued or being written; meanwhile `watch` (if open) is a
   * continuation: a resumed watch opened when the cache answered, which
   * records any change in between. `fired` when it answered meanwhile.
   */
  writing: { fired: boolean } | undefined;
}

export class DeltaStream extends ProtocolMachine<DeltaDiscoveryRequest, DeltaTypeState> {
  /** Opens a cache watch: one function per stream, not a closure per opening. */
  readonly #watchCache = (request: DeltaWatchRequest) => this.env.options.cache.watchDelta(request);

  /** What a queued response calls back: functions made once per stream, not two closures per response. */
  readonly #sends: SendSteps = {
    prepare: (state, response) => this.#prepare(state, response),
    written: (state, sending) => this.#written(state, sending),
  };

  protected handleRequest(request: DeltaDiscoveryRequest, descriptor: ResolvedTypeDescriptor): void {
    const env = this.env;
    const typeUrl = descriptor.typeUrl;
    checkNames(env, typeUrl, request.resourceNamesSubscribe, "resource_names_subscribe");
    checkNames(env, typeUrl, request.resourceNamesUnsubscribe, "resource_names_unsubscribe");
    // Most requests carry no initial_resource_versions (all but a reconnect's first ones): no entries list for them.
    const initial = hasEntries(request.initialResourceVersions) ? Object.entries(request.initialResourceVersions) : NO_ENTRIES;
    if (initial.length > 0) {
      checkNames(
        env,
        typeUrl,
        initial.map(([name]) => name),
        "initial_resource_versions",
      );
    }
    // (No { state, first } object per request.)
    const found = this.table.find(typeUrl);
    const first = found === undefined;
    const state = found ?? this.table.create(descriptor);
    const charsBefore = state.subscriptionChars;
    // A watch still waiting had nothing to send for the names it covers, so a
    // replacement that only adds names need evaluate only those.
    let resumable = !first && state.watch.isOpen && state.writing === undefined;
    // Spec: on reconnect the client says what it holds.
    if (first) {
      for (const [name, version] of initial) {
        state.clientVersions.set(name, version);
        state.subscriptionChars += name.length + version.length;
      }
    }

    const context = env.context(typeUrl);
    const at = Date.now();
    const nonce = request.responseNonce;
    let ackKind: "ack" | "nack" | undefined;
    let ackVersion = "";
    if (nonce !== "") {
      const version = state.sentNonces.get(nonce);
      if (version !== undefined) {
        ackKind = request.errorDetail !== undefined ? "nack" : "ack";
        ackVersion = version;
        if (nonce === state.latestNonce) state.awaitingAck = false;
      } else if (!env.nonces.issued(nonce) && state.latestNonce !== undefined) {
        throw unknownNonce(env, typeUrl, nonce);
      }
      // Otherwise: an old nonce, or one left over from a previous stream: ignored.
    }

    let changed = first;
    let wildcardAdded = false;
    const subscribe = request.resourceNamesSubscribe;
    // The common first subscription: names and nothing held, as every proxy of a group sends
    // it (the decoder shares the list between requests of the same bytes). Then the stream
    // takes the list's shared set, once for the names and once for the forced names.
    const shared = state.names.size === 0 && state.forceNames.size === 0 && initial.length === 0 ? sharedList(subscribe) : undefined;
    if (shared !== undefined) {
      state.names = shared.names;
      state.forceNames = shared.names;
      state.subscriptionChars += shared.chars;
      changed = true;
    }
    // Indexed loops over the request's lists: no iterator and results per name, optimized or not
    // (this function is large, and a fleet's initial sync runs much of it before it is optimized).
    const listed = shared === undefined ? subscribe : NO_LIST;
    for (let i = 0; i < listed.length; i++) {
      const name = listed[i]!;
      if (name === "*") {
        if (!state.wildcard) wildcardAdded = true;
        state.wildcard = true;
        state.legacy = false;
      } else {
        if (!state.names.has(name)) {
          ownNames(state).add(name);
          state.subscriptionChars += name.length;
        }
        // A name subscribed again is answered even if the client seems to hold it (it may have
        // dropped it: delta-resubscribe-resends), except on the stream's first request, where
        // initial_resource_versions says exactly what it holds: a reconnecting client gets only
        // what differs (delta-reconnect-only-differences).
        if (!(first && Object.hasOwn(request.initialResourceVersions, name))) ownForced(state).add(name);
      }
      changed = true;
    }
    if (first && request.resourceNamesSubscribe.length === 0 && legacyWildcardAllowed(descriptor, env.node)) {
      state.wildcard = true;
      state.legacy = true;
      wildcardAdded = true;
    }
    const unsubscribe = request.resourceNamesUnsubscribe;
    for (let i = 0; i < unsubscribe.length; i++) {
      const name = unsubscribe[i]!;
      changed = true;
      if (name === "*") {
        resumable = false;
        state.wildcard = false;
        state.legacy = false;
        for (const held of [...state.clientVersions.keys()]) if (!state.names.has(held)) state.clientVersions.delete(held);
        continue;
      }
      if (state.names.has(name)) {
        ownNames(state).delete(name);
        state.subscriptionChars -= name.length;
      }
      if (state.wildcard && state.clientVersions.has(name)) {
        // Still covered by the wildcard: the client cannot tell and keeps the resource as
        // "ambiguous" until the server says, so say it again (or that it is gone).
        ownForced(state).add(name);
      } else {
        if (state.forceNames.has(name)) ownForced(state).delete(name);
        // Spec: the client forgets an unsubscribed resource unless a wildcard still covers it.
        if (!state.wildcard) state.clientVersions.delete(name);
      }
    }
    if (wildcardAdded && !state.wildcardAnswered) state.forceResponse = true;
    if (state.names.size > env.options.maxSubscribedNames) {
      throw violation(
        `stream subscribes to ${state.names.size} names of ${typeUrl}; the limit is ${env.options.maxSubscribedNames} (option maxSubscribedNames)`,
        { typeUrl, nodeId: env.node.id },
        GrpcCode.RESOURCE_EXHAUSTED,
      );
    }
    // Only a request that adds characters can pass the limit (no walk over the types for an ACK).
    if (state.subscriptionChars > charsBefore) checkSubscriptionSize(env, typeUrl, this.table.states.values());

    env.emit({
      kind: "request",
      context,
      resourceNames: request.resourceNamesSubscribe,
      unsubscribed: request.resourceNamesUnsubscribe,
      versionInfo: "",
      nonce,
      at,
    });
    if (ackKind === "ack") env.emit({ kind: "ack", context, version: ackVersion, nonce, at });
    if (ackKind === "nack") {
      const detail = request.errorDetail!;
      env.emit({
        kind: "nack",
        context,
        rejectedVersion: ackVersion,
        keptVersion: "",
        nonce,
        error: { code: detail.code, message: detail.message },
        at,
      });
    }
    if (changed) {
      state.resume = resumable && !wildcardAdded;
      this.rewatch(state);
      state.resume = false;
    }
    this.table.releaseGates();
  }

  protected createState(descriptor: ResolvedTypeDescriptor): DeltaTypeState {
    const state: DeltaTypeState = newState(descriptor, this.env, (response) => this.#onResponse(state, response));
    return state;
  }

  /** A replaced watch also drops the pending response, so no continuation is kept after it. */
  protected override rewatch(state: DeltaTypeState): void {
    state.writing = undefined;
    super.rewatch(state);
  }

  protected openWatch(state: DeltaTypeState): void {
    const env = this.env;
    const typeUrl = state.descriptor.typeUrl;
    if (!state.wildcard && state.names.size === 0 && state.clientVersions.size === 0) return;
    // The live sets, not copies: they change only in handleRequest, which
    // replaces this watch right after, so a request costs what it changes.
    // Every field written out (no spread): an idle stream holds this request per type, and a
    // literal keeps its fields in the object instead of in a separate property store.
    const request: DeltaWatchRequest = {
      streamId: env.streamId,
      node: env.node,
      typeUrl,
      ads: env.ads,
      wildcard: state.wildcard,
      legacyWildcard: state.legacy,
      names: state.names,
      clientVersions: state.clientVersions,
      forceNames: state.forceNames,
      forceResponse: state.forceResponse,
      resumed: state.resume,
    };
    // Continuing: after its answer the watch keeps waiting, looking only at later changes, as
    // the continuation below would (a cache whose watches cannot continue gets that instead).
    state.watch.openWith(this.#watchCache, request, state.onResponse, true);
  }

  #onResponse(state: DeltaTypeState, response: DeltaResponse): void {
    const env = this.env;
    const typeUrl = state.descriptor.typeUrl;
    const writing = state.writing;
    if (writing !== undefined) {
      // A continuing watch answered while its last answer is still queued or being written:
      // dropped, as a continuation's answer is (see #continue), and the write's end watches again.
      writing.fired = true;
      state.watch.cancel();
      return;
    }
    // Only an answer sent as it is may be continued from: a split or a held removal ends its watch.
    let continues = state.watch.continues;
    const names = state.names;
    if (response.versions !== undefined) shareNames(state, response.versions);
    if (continues && state.names !== names) {
      // The subscription now uses the answer's shared set: a new continuation (below) waits with
      // it, so the idle stream keeps no set of its own alive in its watch.
      state.watch.cancel();
      continues = false;
    }
    let toSend = response;
    if (this.table.gates(response.heartbeat === true) && response.removed.length > 0) {
      // Only names the client holds are breaks. "Does not exist" for a name it never had goes at
      // once: its force is spent when this response is sent, so it would never be said otherwise.
      const notHeld = response.removed.filter((name) => !state.clientVersions.has(name));
      if (notHeld.length < response.removed.length) {
        if (response.resources.length === 0) {
          // Removals alone: decide when it is their turn to be written (see sotw-stream.ts), so the
          // responses of other types woken by the same change count as waiting for their ACKs.
          const removal = response;
          if (continues) state.watch.cancel();
          env.queue.enqueue(typeUrl, {
            prepare: () => (this.table.gate(state, false) === "hold" ? [] : this.#prepare(state, removal)),
            written: () => this.rewatch(state),
          });
          return;
        }
        this.table.gate(state, true);
        if (continues) state.watch.cancel();
        // Split: additions first; the removal follows once every type is ACKed.
        toSend = { ...response, removed: notHeld };
      }
    }
    const sending = new DeltaSend(this.#sends, state, toSend);
    state.writing = sending;
    env.queue.enqueue(typeUrl, sending);
    if (toSend === response && !state.gated && !continues) this.#continue(state, sending);
  }

  /**
   * Opens the continuation of an answered watch at once, rather than a full
   * watch once the response is written: resumed, with nothing forced, over
   * the live subscription and client versions (updated when the response is
   * prepared). The cache then records the changes made while the response
   * is on its way, and the stream needs no full evaluation afterwards.
   */
  #continue(state: DeltaTypeState, writing: { fired: boolean }): void {
    const env = this.env;
    const request: DeltaWatchRequest = {
      streamId: env.streamId,
      node: env.node,
      typeUrl: state.descriptor.typeUrl,
      ads: env.ads,
      wildcard: state.wildcard,
      legacyWildcard: state.legacy,
      names: state.names,
      clientVersions: state.clientVersions,
      forceNames: NO_NAMES,
      forceResponse: false,
      resumed: true,
    };
    // An answer before the write ends is dropped (the full watch after the
    // write covers it); once the write ended and the watch was kept, it is
    // the type's waiting watch and its answer is sent.
    state.watch.openWith(this.#watchCache, request, (response) => {
      if (state.writing === writing) writing.fired = true;
      else this.#onResponse(state, response);
    });
  }

  /** After a response was written: keep a continuation that saw no change, else watch everything again. */
  #written(state: DeltaTypeState, writing: { fired: boolean }): void {
    if (state.writing !== writing) return;
    state.writing = undefined;
    if (!writing.fired && state.watch.isOpen && !state.gated && !this.table.closed) return;
    this.rewatch(state);
  }

  #prepare(state: DeltaTypeState, response: DeltaResponse): Buffer[] {
    const env = this.env;
    const typeUrl = state.descriptor.typeUrl;
    let resources = response.resources;
    let plan = splitDelta(response, env.options.maxResponseBytes);
    while ("tooLarge" in plan) {
      const culprit = plan.resourceName;
      const entry = resources.find((e) => e.name === culprit)!;
      const error = new XdskitError(
        ErrorCode.RESPONSE_TOO_LARGE,
        `not sent: ${state.descriptor.name} resource ${JSON.stringify(culprit)} (version ${entry.version}) for node ${JSON.stringify(env.node.id)} needs about ${plan.bytes} bytes, over the client's limit of ${env.options.maxResponseBytes} bytes (option maxResponseBytes); it is retried only when its version changes`,
        { typeUrl, nodeId: env.node.id, resourceName: culprit! },
      );
      env.emit({ kind: "error", context: env.context(typeUrl), error, at: Date.now() });
      process.emitWarning(error.message, { code: error.code });
      // Recorded as held so that the cache does not offer the same version again.
      state.clientVersions.set(entry.name, entry.version);
      resources = resources.filter((e) => e !== entry);
      plan = splitDelta({ ...response, resources }, env.options.maxResponseBytes);
    }
    const messages: Buffer[] = [];
    for (const chunk of plan) {
      const nonce = env.nonces.next();
      const message = encodeDelta(response, chunk, nonce);
      // A heartbeat only refreshes TTLs: the client's versions do not change.
      if (response.heartbeat) for (const name of chunk.removed) state.clientVersions.delete(name);
      else state.clientVersions.sent(chunk.resources, chunk.removed, response.versions);
      state.sentNonces.set(nonce, response.systemVersion);
      if (state.sentNonces.size > REMEMBERED_NONCES) state.sentNonces.delete(state.sentNonces.keys().next().value!);
      state.latestNonce = nonce;
      state.awaitingAck = true;
      env.emit({
        kind: "response",
        context: env.context(typeUrl),
        version: response.systemVersion,
        nonce,
        resourceNames: chunkNames(chunk.resources),
        removed: chunk.removed,
        bytes: message.length,
        at: Date.now(),
      });
      messages.push(message);
    }
    // Back onto the answer's shared map where this stream now holds what it says.
    if (response.versions !== undefined && !response.heartbeat) state.clientVersions.share(response.versions);
    state.forceNames = NO_NAMES;
    if (state.forceResponse) state.wildcardAnswered = true;
    state.forceResponse = false;
    if (messages.length === 0) {
      setImmediate(() => {
        this.rewatch(state);
        // Nothing was sent, so no ACK will release a type held for make-before-break.
        this.table.releaseGates();
      });
    }
    return messages;
  }
}

/** The steps of a queued response, supplied by its stream (see DeltaSend). */
interface SendSteps {
  prepare(state: DeltaTypeState, response: DeltaResponse): Buffer[];
  written(state: DeltaTypeState, sending: { fired: boolean }): void;
}

/**
 * A response on its way: the queue's item, and the type's `writing` marker (`fired` when a
 * watch answered meanwhile). One object per response instead of an item, two closures and a marker.
 */
class DeltaSend implements OutgoingItem {
  fired = false;
  readonly #steps: SendSteps;
  readonly #state: DeltaTypeState;
  readonly #response: DeltaResponse;

  constructor(steps: SendSteps, state: DeltaTypeState, response: DeltaResponse) {
    this.#steps = steps;
    this.#state = state;
    this.#response = response;
  }

  prepare(): Buffer[] {
    return this.#steps.prepare(this.#state, this.#response);
  }

  written(): void {
    this.#steps.written(this.#state, this);
  }
}

function newState(descriptor: ResolvedTypeDescriptor, env: CarrierStream, onResponse: (response: DeltaResponse) => void): DeltaTypeState {
  // One literal with every field (no spread of the common part): a spread copies into a new
  // object whose further fields go to a separate property store, which cost CPU and memory per
  // stream and type (see docs/benchmarks.md).
  return {
    descriptor,
    wildcard: false,
    legacy: false,
    latestNonce: undefined,
    awaitingAck: false,
    gated: false,
    watch: new TypeWatch<DeltaResponse>(env, descriptor.typeUrl, "delta watch"),
    onResponse,
    names: NO_NAMES,
    clientVersions: new ClientVersions(),
    forceNames: NO_NAMES,
    forceResponse: false,
    wildcardAnswered: false,
    sentNonces: new Map(),
    subscriptionChars: 0,
    resume: false,
    writing: undefined,
  };
}

/** A set this stream may change: `names` itself, or its copy if it is shared with other streams. */
function ownSet(names: ReadonlySet<string>): Set<string> {
  return isSharedNames(names) ? new Set(names) : (names as Set<string>);
}

/** The type's subscribed names as a set the stream may change (copied first, once, if shared). */
function ownNames(state: DeltaTypeState): Set<string> {
  const names = ownSet(state.names);
  state.names = names;
  return names;
}

/** The type's forced names as a set the stream may change (copied first, once, if shared). */
function ownForced(state: DeltaTypeState): Set<string> {
  const forced = ownSet(state.forceNames);
  state.forceNames = forced;
  return forced;
}

const NO_ENTRIES: readonly [string, string][] = Object.freeze([]) as readonly [string, string][];

/** Whether an object has an own enumerable property (without listing them). */
function hasEntries(object: object): boolean {
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
}

/**
 * A named subscription equal to the names of the answer's state (an Envoy
 * subscribed to the endpoints of every cluster) takes that state's shared set
 * instead of keeping its own copy of the same names. Done before the watch
 * that follows is opened, so no open watch keeps the stream's own set alive.
 */
function shareNames(state: DeltaTypeState, versions: ReadonlyMap<string, string>): void {
  const names = state.names;
  if (names.size === 0 || names.size !== versions.size || isSharedNames(names)) return;
  for (const name of names) if (!versions.has(name)) return;
  state.names = sharedNames(versions);
}

/** The incremental (delta) protocol as a gRPC stream carries it. */
export const DELTA_PROTOCOL: StreamProtocol<DeltaDiscoveryRequest> = Object.freeze({
  kind: "delta",
  requestName: "DeltaDiscoveryRequest",
  decode: (data: Uint8Array) => decodeDeltaDiscoveryRequest(data),
  createMachine: (carrier: CarrierStream) => {
    servesTypes(carrier);
    return new DeltaStream(carrier);
  },
});
