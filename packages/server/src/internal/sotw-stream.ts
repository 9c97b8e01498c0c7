// The state-of-the-world protocol state machine of one stream: per type the
// subscription (wildcard rules), nonces, ACK/NACK detection, what was last
// sent, forced answers, and make-before-break. It reads requests, watches the
// cache, and queues responses; it never writes to the wire itself.
//
// Spec: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol
import type { ResourceEntry, SotwResponse, SotwWatchRequest } from "@xdskit/cache";
import { type DiscoveryRequest, ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { ResolvedTypeDescriptor } from "../type-descriptors.js";
import type { OutgoingItem } from "./outgoing-queue.js";
import { decodeDiscoveryRequest } from "./request-decoding.js";
import { encodeSotw, nameListOf, namesOf, registerNameList, sameNames } from "./response-encoding.js";
import { type CarrierStream, ProtocolMachine, type StreamProtocol, servesTypes, type TypeState } from "./stream-machine.js";
import { checkNames, checkSubscriptionSize, legacyWildcardAllowed, unknownNonce } from "./stream-rules.js";
import { TypeWatch } from "./type-watch.js";

/** The delta-only name lists of SotW events: always empty, one frozen list for every event. */
const NO_NAMES: readonly string[] = Object.freeze([]);

/**
 * The subscription of a type before any name: one set for every state and wildcard request.
 * Never modified: this machine replaces a type's set, it never changes one.
 */
const NO_SUBSCRIPTION: ReadonlySet<string> = new Set<string>();

/** Appended to the version of the first half of a make-before-break update. */
export const MAKE_BEFORE_BREAK_SUFFIX = "+mbb";

interface SentState {
  readonly version: string;
  readonly names: ReadonlySet<string>;
  nacked: boolean;
  readonly entries: readonly ResourceEntry[];
}

/** What one SotW stream knows about one type. Exposed read-only for tests. */
export interface SotwTypeState extends TypeState {
  /** Names were sent explicitly at least once: from then on an empty list means nothing. */
  explicit: boolean;
  names: ReadonlySet<string>;
  /** The version the client accepted last. */
  clientVersion: string;
  /** The latest nonce already got its ACK or NACK. */
  answered: boolean;
  lastSent: SentState | undefined;
  /** A version refused as too large: the cache is told it was NACKed so it waits for other content. */
  refused: SentState | undefined;
  /** Answer the next watch even if the client is current. */
  force: boolean;
  /**
   * The open watch continues from the latest answer (CacheWatch.open's `continuing`), which
   * the client has not ACKed yet: its ACK then needs no new watch. False once ACKed (the watch
   * is then the type's plain waiting watch), and when the watch is replaced or cancelled.
   */
  continued: boolean;
  readonly watch: TypeWatch<SotwResponse>;
  /** Handles the answer of the type's watch: made once per type, not per opening. */
  readonly onResponse: (response: SotwResponse) => void;
  /** Characters of `names`: what option maxSubscriptionBytes bounds, over all types of the stream. */
  subscriptionChars: number;
}

export class SotwStream extends ProtocolMachine<DiscoveryRequest, SotwTypeState> {
  /** Opens a cache watch: one function per stream, not a closure per opening. */
  readonly #watchCache = (request: SotwWatchRequest) => this.env.options.cache.watchSotw(request);

  /** Prepares a queued response: one function per stream, not a closure per response (see SotwSend). */
  readonly #prepareSend = (state: SotwTypeState, response: SotwResponse) => this.#prepare(state, response);

  protected handleRequest(request: DiscoveryRequest, descriptor: ResolvedTypeDescriptor): void {
    const env = this.env;
    const typeUrl = descriptor.typeUrl;
    checkNames(env, typeUrl, request.resourceNames, "resource_names");
    // (No { state, first } object per request.)
    const found = this.table.find(typeUrl);
    const first = found === undefined;
    const state = found ?? this.table.create(descriptor);

    // Classify by nonce (spec: ACK and NACK; stale nonces).
    const nonce = request.responseNonce;
    let kind: "initial" | "ack" | "nack" | "stale";
    if (state.latestNonce === undefined) kind = "initial";
    else if (nonce === state.latestNonce && !state.answered) kind = request.errorDetail !== undefined ? "nack" : "ack";
    else if (nonce === "" || env.nonces.issued(nonce)) kind = "stale";
    else throw unknownNonce(env, typeUrl, nonce);

    // Subscription (spec: "How the client specifies what resources to return").
    // Most requests (ACKs) name exactly what the type already holds: then the held set stands
    // for them, and no set is built per request.
    const requested = request.resourceNames;
    let explicitNames: ReadonlySet<string> = state.names;
    let star = false;
    let chars = state.subscriptionChars;
    if (!sameAsHeld(requested, state.names)) {
      const recent = recentNames.get(descriptor);
      if (recent !== undefined && sameAsHeld(requested, recent.names)) {
        explicitNames = recent.names;
        chars = recent.chars;
      } else {
        // Built only for names other than "*": a wildcard request (every CDS and LDS request of
        // an Envoy) takes the shared empty set.
        let names: Set<string> | undefined;
        let list: string[] | undefined;
        chars = 0;
        for (let i = 0; i < requested.length; i++) {
          const name = requested[i]!;
          if (name === "*") star = true;
          else {
            names ??= new Set<string>();
            list ??= [];
            if (!names.has(name)) {
              names.add(name);
              list.push(name);
              chars += name.length;
            }
          }
        }
        if (names === undefined) explicitNames = NO_SUBSCRIPTION;
        else {
          explicitNames = names;
          registerNameList(names, list!);
          recentNames.set(descriptor, { names, chars });
        }
      }
    }
    let wildcard: boolean;
    let legacy = false;
    if (star) {
      wildcard = true;
      state.explicit = true;
    } else if (explicitNames.size === 0) {
      legacy = !state.explicit && (first || state.legacy) && legacyWildcardAllowed(descriptor, env.node);
      wildcard = legacy;
    } else {
      state.explicit = true;
      wildcard = false;
    }
    let added = wildcard && !state.wildcard;
    let changed: boolean;
    if (explicitNames === state.names) changed = wildcard !== state.wildcard;
    else if (state.names.size === 0) {
      // The type's first names (the usual first request): all of them are new.
      if (explicitNames.size > 0) added = true;
      changed = added || wildcard !== state.wildcard;
    } else {
      const held = state.names;
      // forEach, not for-of: no iterator result per name.
      explicitNames.forEach((name) => {
        if (!added && !held.has(name)) added = true;
      });
      changed = added || wildcard !== state.wildcard || explicitNames.size !== held.size;
      if (!changed) {
        held.forEach((name) => {
          if (!changed && !explicitNames.has(name)) changed = true;
        });
      }
    }
    const sameLegacy = state.legacy === legacy;
    state.wildcard = wildcard;
    state.legacy = legacy;
    if (changed) {
      state.names = explicitNames;
      state.subscriptionChars = chars;
      checkSubscriptionSize(env, typeUrl, this.table.states.values());
    }

    const context = env.context(typeUrl);
    const at = Date.now();
    env.emit({
      kind: "request",
      context,
      resourceNames: request.resourceNames,
      unsubscribed: NO_NAMES,
      versionInfo: request.versionInfo,
      nonce,
      at,
    });

    switch (kind) {
      case "initial":
        state.clientVersion = request.versionInfo;
        // Nothing was sent on this stream yet: a named subscription may hold names the client
        // dropped while away, under a version_info that still covers them, so answer it
        // (spec: skip only when the subscription is known unchanged; protocol.md: reconnect-version).
        // A wildcard subscription covers everything, so its version alone tells.
        this.#rewatch(state, !state.wildcard);
        break;
      case "ack": {
        const sent = state.lastSent!;
        state.answered = true;
        state.awaitingAck = false;
        sent.nacked = false;
        state.clientVersion = sent.version;
        env.emit({ kind: "ack", context, version: sent.version, nonce, at });
        if (changed) this.#rewatch(state, added);
        else if (env.queue.has(typeUrl)) {
          // A newer response already waiting stays (the newest wins anyway), with its watch.
        } else if (state.continued && sameLegacy && !state.force) {
          // The watch continuing from what was sent already waits as this ACK's new watch would
          // (the client's version and last sent are the response's, nothing forced): keep it.
          state.continued = false;
        } else this.#rewatch(state, added);
        break;
      }
      case "nack": {
        const sent = state.lastSent!;
        state.answered = true;
        state.awaitingAck = false;
        sent.nacked = true;
        state.clientVersion = request.versionInfo;
        const detail = request.errorDetail!;
        env.emit({
          kind: "nack",
          context,
          rejectedVersion: sent.version,
          keptVersion: request.versionInfo,
          nonce,
          error: { code: detail.code, message: detail.message },
          at,
        });
        this.#rewatch(state, added);
        break;
      }
      case "stale":
        // Spec: ignore a stale request's version, but honour its subscription change.
        if (changed) this.#rewatch(state, added);
        break;
    }
    this.table.releaseGates();
  }

  /** A replaced watch no longer continues from anything. */
  protected override rewatch(state: SotwTypeState): void {
    state.continued = false;
    super.rewatch(state);
  }

  /** Reopens the type's watch; `force` answers it even if the client is current. */
  #rewatch(state: SotwTypeState, force: boolean): void {
    if (force) state.force = true;
    this.rewatch(state);
  }

  protected createState(descriptor: ResolvedTypeDescriptor): SotwTypeState {
    const state: SotwTypeState = newState(descriptor, this.env, (response) => this.#onResponse(state, response));
    return state;
  }

  protected openWatch(state: SotwTypeState): void {
    const env = this.env;
    const typeUrl = state.descriptor.typeUrl;
    // Nothing subscribed: nothing to answer (spec: an empty list after explicit names means nothing).
    if (!state.wildcard && state.names.size === 0) return;
    const lastSent = state.refused ?? state.lastSent;
    // Every field written out (no spread): an idle stream holds this request per type, and a
    // literal keeps its fields in the object instead of in a separate property store.
    const request: SotwWatchRequest = {
      streamId: env.streamId,
      node: env.node,
      typeUrl,
      ads: env.ads,
      wildcard: state.wildcard,
      legacyWildcard: state.legacy,
      names: state.names,
      versionInfo: state.clientVersion,
      lastSent: lastSent && { version: lastSent.version, names: lastSent.names, nacked: lastSent.nacked },
      forceResponse: state.force,
    };
    // Continuing: once the client ACKs the answer as it was sent, the watch already waits as the
    // ACK's new watch would (see the "ack" case).
    state.watch.openWith(this.#watchCache, request, state.onResponse, true);
  }

  #onResponse(state: SotwTypeState, response: SotwResponse): void {
    const env = this.env;
    const typeUrl = state.descriptor.typeUrl;
    if (state.continued) {
      // A change before the client ACKed the answer the watch continues from: as for any SotW
      // type, it waits for that ACK, whose new watch finds the change.
      state.continued = false;
      state.watch.cancel();
      return;
    }
    // Only an answer sent as it is may be continued from: the watch of a split, a held removal or
    // a heartbeat ends with it, and the ACK opens the next.
    const continues = state.watch.continues;
    if (continues && response.heartbeat === true) state.watch.cancel();
    let toSend = response;
    const sent = state.lastSent;
    if (this.table.gates(response.heartbeat === true) && state.descriptor.fullState && sent !== undefined && !sent.nacked) {
      // A full-state response breaks whatever it leaves out of what the client holds. (The names
      // of the response's list are a set shared by every stream sent it, not a Map per stream.)
      const current = namesOf(response.resources).set;
      const kept = sent.entries.filter((e) => !current.has(e.name));
      if (kept.length > 0) {
        const previous = new Map(sent.entries.map((e) => [e.name, e.version]));
        const grows = response.resources.some((e) => previous.get(e.name) !== e.version);
        if (!grows) {
          // A removal alone: decide when it is its turn to be written, not now. Responses of other
          // types woken by the same change (the route switch that stops using what is removed)
          // are queued by then, and the removal must wait for their ACKs.
          const removal = response;
          if (continues) state.watch.cancel();
          env.queue.enqueue(typeUrl, {
            prepare: () => (this.table.gate(state, false) === "hold" ? [] : this.#prepare(state, removal)),
          });
          return;
        }
        if (continues) state.watch.cancel();
        this.table.gate(state, true);
        // Split: first the additions next to what they replace; the removal follows once all is ACKed.
        toSend = { ...response, version: `${response.version}${MAKE_BEFORE_BREAK_SUFFIX}`, resources: [...response.resources, ...kept] };
      }
    }
    state.continued = state.watch.continues;
    env.queue.enqueue(typeUrl, new SotwSend(this.#prepareSend, state, toSend));
  }

  #prepare(state: SotwTypeState, response: SotwResponse): Buffer[] {
    const env = this.env;
    const typeUrl = state.descriptor.typeUrl;
    const nonce = env.nonces.next();
    const message = encodeSotw(response, nonce);
    const { set: names, list: nameList } = namesOf(response.resources);
    // A named subscription usually names exactly what it is sent (endpoints, routes): keep the
    // sent list's set, shared by every stream of the group, instead of each request's own copy.
    if (!state.wildcard && state.names !== names && sameNames(state.names, names)) state.names = names;
    const keepEntries = env.options.makeBeforeBreak && state.descriptor.fullState ? response.resources : [];
    if (message.length > env.options.maxResponseBytes) {
      const error = new XdskitError(
        ErrorCode.RESPONSE_TOO_LARGE,
        `not sent: the ${state.descriptor.name} response (version ${response.version}, ${response.resources.length} resources) for node ${JSON.stringify(env.node.id)} is ${message.length} bytes, over the client's limit of ${env.options.maxResponseBytes} bytes (option maxResponseBytes); SotW cannot split it: split the resources, use delta, or raise the client's max receive size`,
        { typeUrl, nodeId: env.node.id },
      );
      env.emit({ kind: "error", context: env.context(typeUrl), error, at: Date.now() });
      process.emitWarning(error.message, { code: error.code });
      state.refused = { version: response.version, names, nacked: true, entries: [] };
      if (state.continued) {
        // The watch continued from this response, which the client never gets.
        state.continued = false;
        state.watch.cancel();
      }
      setImmediate(() => {
        if (!state.watch.isOpen && !env.queue.has(typeUrl)) this.rewatch(state);
        // A type held for make-before-break may have waited for this response: no ACK will come for it.
        this.table.releaseGates();
      });
      return [];
    }
    state.latestNonce = nonce;
    state.answered = false;
    state.awaitingAck = true;
    state.refused = undefined;
    state.force = false;
    // A heartbeat only refreshes TTLs: what the client holds stays as it was.
    state.lastSent =
      response.heartbeat && state.lastSent !== undefined
        ? { ...state.lastSent, version: response.version, nacked: false }
        : { version: response.version, names, nacked: false, entries: keepEntries };
    env.emit({
      kind: "response",
      context: env.context(typeUrl),
      version: response.version,
      nonce,
      resourceNames: nameList,
      removed: NO_NAMES,
      bytes: message.length,
      at: Date.now(),
    });
    // Envoy finishes warming a cluster (listener) only on a fresh endpoint (route) response.
    if (env.ads && !response.heartbeat) {
      const forces = state.descriptor.forces;
      for (let i = 0; i < forces.length; i++) {
        const other = this.table.states.get(forces[i]!);
        if (other === undefined) continue;
        other.force = true;
        // (A watch continuing from a response not ACKed yet is not waiting: the ACK sees the force.)
        if (other.watch.isOpen && !other.continued) this.#rewatch(other, true);
      }
    }
    return [message];
  }
}

/** A queued response: one object with what it needs, not an item and a closure per response. */
class SotwSend implements OutgoingItem {
  readonly #prepare: (state: SotwTypeState, response: SotwResponse) => Buffer[];
  readonly #state: SotwTypeState;
  readonly #response: SotwResponse;

  constructor(prepare: (state: SotwTypeState, response: SotwResponse) => Buffer[], state: SotwTypeState, response: SotwResponse) {
    this.#prepare = prepare;
    this.#state = state;
    this.#response = response;
  }

  prepare(): Buffer[] {
    return this.#prepare(this.#state, this.#response);
  }
}

/**
 * The name set built last for each type (of each server: descriptors are per server), with its
 * characters. The streams of a group mostly request the same list, so they share one set instead
 * of building one each: sets are never modified once built, only replaced.
 */
const recentNames = new WeakMap<ResolvedTypeDescriptor, { readonly names: ReadonlySet<string>; readonly chars: number }>();

/**
 * Whether `requested` lists exactly the (non-empty) `held` set, in its order: what a client
 * repeating its subscription sends. (Another order just takes the general path.)
 */
function sameAsHeld(requested: readonly string[], held: ReadonlySet<string>): boolean {
  if (requested.length !== held.size || requested.length === 0) return false;
  const matched = sameLists.get(requested);
  if (matched === held) return true;
  let same = true;
  const list = nameListOf(held);
  if (list !== undefined) {
    // A shared set (every set this module builds, and the names of sent lists): two arrays by index.
    for (let i = 0; i < list.length; i++) {
      if (requested[i] !== list[i]) {
        same = false;
        break;
      }
    }
  } else {
    // forEach, not for-of: no iterator result per name (this runs for every ACK).
    let i = 0;
    held.forEach((name) => {
      if (same && requested[i++] !== name) same = false;
    });
  }
  // The first set a list matches stays its entry: a type's set before its first response and
  // the sent list's set after it would otherwise replace each other at every request.
  if (same && matched === undefined && Object.isFrozen(requested)) sameLists.set(requested, held);
  return same;
}

/**
 * A frozen name list (the decoder shares one per run of bytes, request-decoding.ts) found to
 * list exactly a set, so the next request with that list (every ACK of every stream of the
 * group) is matched without walking the names. Both never change: the list is frozen and this
 * module never modifies a set once built. Weak: an entry lives as long as its list.
 */
const sameLists = new WeakMap<readonly string[], ReadonlySet<string>>();

function newState(descriptor: ResolvedTypeDescriptor, env: CarrierStream, onResponse: (response: SotwResponse) => void): SotwTypeState {
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
    watch: new TypeWatch<SotwResponse>(env, descriptor.typeUrl, "watch"),
    onResponse,
    explicit: false,
    names: NO_SUBSCRIPTION,
    clientVersion: "",
    answered: false,
    lastSent: undefined,
    refused: undefined,
    force: false,
    continued: false,
    subscriptionChars: 0,
  };
}

/** The state-of-the-world protocol as a gRPC stream carries it. */
export const SOTW_PROTOCOL: StreamProtocol<DiscoveryRequest> = Object.freeze({
  kind: "sotw",
  requestName: "DiscoveryRequest",
  decode: (data: Uint8Array) => decodeDiscoveryRequest(data),
  createMachine: (carrier: CarrierStream) => {
    servesTypes(carrier);
    return new SotwStream(carrier);
  },
});
