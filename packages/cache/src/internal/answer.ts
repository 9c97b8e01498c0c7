// The protocol decisions a cache makes for one watch, shared by every cache.
// Spec: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol
// Each rule cites its row in docs/protocol.md.
import type { DeltaResponse, DeltaWatchRequest, ResourceEntry, SotwResponse, SotwWatchRequest, WatchRequestBase } from "../types.js";
import { labelOf, sameContentVersion, withLabel } from "./labels.js";
import type { ResourceSetView } from "./resource-set.js";
import { versionOf } from "./resource-set.js";

/** How a cache treats one type (resolved from options and the type's descriptor). */
export interface TypePolicy {
  /** SotW responses carry every subscribed resource and absence means deletion (listeners, clusters). */
  readonly fullState: boolean;
  /** A legacy wildcard (empty first request) counts as wildcard for this type. */
  readonly legacyWildcard: boolean;
  /** ADS consistency: hold SotW answers over ADS until the request names every resource of the type. */
  readonly adsConsistency: boolean;
}

/** The wildcard the cache honours: a legacy wildcard only where the type allows it (protocol.md: legacy-wildcard-off). */
export function effectiveWildcard(request: WatchRequestBase, policy: TypePolicy): boolean {
  if (!request.wildcard) return false;
  return request.legacyWildcard !== true || policy.legacyWildcard;
}

// Sets are walked with forEach, not for-of, in the per-watch paths below: V8 allocated an
// iterator result per name there (about a tenth of what a fleet's initial sync allocated).

function subscribed(view: ResourceSetView, request: WatchRequestBase): ResourceEntry[] {
  const out: ResourceEntry[] = [];
  request.names.forEach((name) => {
    const entry = view.get(name);
    if (entry) out.push(entry);
  });
  return out;
}

interface SotwState {
  readonly resources: readonly ResourceEntry[];
  readonly version: string;
  readonly wildcard: boolean;
  readonly everything: boolean;
}

/** The state of a named subscription, as computed last for its set of names (see sotwState). */
interface NamedState {
  /** The view's list and version it was computed from: the same list means the same entries. */
  readonly all: readonly ResourceEntry[];
  readonly version: string;
  readonly typeUrl: string;
  /** The names it was computed for, in the set's order then. */
  readonly names: readonly string[];
  readonly state: SotwState;
}
const namedStates = new WeakMap<ReadonlySet<string>, NamedState>();

/**
 * What the client should hold for this subscription, and its version. A named subscription's
 * state is shared by the watches with the same set (a server shares one between the streams of
 * a group that name the same resources): computed once per state of the type, not per watch.
 */
function sotwState(view: ResourceSetView, request: SotwWatchRequest, policy: TypePolicy): SotwState {
  if (effectiveWildcard(request, policy)) return { resources: view.all(), version: view.version, wildcard: true, everything: true };
  const all = view.all();
  const known = namedStates.get(request.names);
  // The set must still hold what it held then (a server's own sets may change between watches).
  if (
    known !== undefined &&
    known.all === all &&
    known.version === view.version &&
    known.typeUrl === view.typeUrl &&
    holdsInOrder(request.names, known.names)
  ) {
    return known.state;
  }
  const state = namedState(view, request);
  namedStates.set(request.names, { all, version: view.version, typeUrl: view.typeUrl, names: [...request.names], state });
  return state;
}

function namedState(view: ResourceSetView, request: SotwWatchRequest): SotwState {
  if (request.names.size >= view.size && view.size > 0) {
    // Names covering the whole type (an Envoy asking for the endpoints of
    // every cluster): share the type's array and version instead of building
    // a per-watch copy.
    let found = 0;
    request.names.forEach((name) => {
      if (view.get(name)) found++;
    });
    if (found === view.size) return { resources: view.all(), version: view.version, wildcard: false, everything: true };
  }
  const resources = subscribed(view, request);
  // Named subscriptions get the version of what they name, so a change to
  // another name wakes nobody (protocol.md: sotw-answer-only-when-changed).
  return { resources, version: withLabel(labelOf(view.version), versionOf(resources)), wildcard: false, everything: false };
}

/**
 * The SotW answer for a watch, or `undefined` to hold it.
 * `view` is undefined when the cache has nothing for the client yet.
 */
export function answerSotw(view: ResourceSetView | undefined, request: SotwWatchRequest, policy: TypePolicy): SotwResponse | undefined {
  if (!view) return undefined;
  const { resources, version, wildcard, everything } = sotwState(view, request, policy);
  const lastSent = request.lastSent;
  if (!wildcard && resources.length === 0) {
    // A requested name that does not exist is held, never answered with an
    // empty list (protocol.md: sotw-missing-names-held). Exception: a
    // full-state type whose client holds resources it no longer should: the
    // empty answer is how they are deleted (protocol.md: sotw-full-state).
    const clientHolds = lastSent ? lastSent.names.size > 0 : request.versionInfo !== "";
    if (!(policy.fullState && clientHolds && request.names.size > 0)) return undefined;
  }
  // (Names already found to cover the whole type pass without a second walk.)
  if (policy.adsConsistency && request.ads && !everything) {
    for (const name of view.names()) if (!request.names.has(name)) return undefined; // protocol.md: ads-consistency
  }
  // Never resend what the client rejected (protocol.md: nack-no-resend).
  if (lastSent?.nacked && sameContentVersion(lastSent.version, version)) return undefined;
  let namesAdded = false;
  if (lastSent && !lastSent.nacked) {
    for (let i = 0; i < resources.length; i++) {
      if (!lastSent.names.has(resources[i]!.name)) {
        namesAdded = true;
        break;
      }
    }
  }
  // After a NACK, content equal to what the client kept is a rollback: it is
  // answered (once) so the client confirms it with an ACK and its status stops
  // showing the rejection.
  const rollback = lastSent?.nacked === true;
  if (sameContentVersion(version, request.versionInfo) && !request.forceResponse && !namesAdded && !rollback) {
    // Nothing sent on this stream yet: a reconnecting client may have dropped resources whose TTL
    // ran out while it was away, under a version_info that still names them (protocol.md: ttl).
    // Checked only when the client looks current, so changes never pay for the scan.
    const mayHaveExpired = lastSent === undefined && request.versionInfo !== "" && resources.some((e) => e.ttlMs !== undefined);
    if (!mayHaveExpired) return undefined;
  }
  return { typeUrl: view.typeUrl, version, resources };
}

/** A SotW TTL heartbeat, when the client is current and holds resources with a TTL. */
export function heartbeatSotw(view: ResourceSetView | undefined, request: SotwWatchRequest, policy: TypePolicy): SotwResponse | undefined {
  if (!view) return undefined;
  const { resources, version } = sotwState(view, request, policy);
  if (!sameContentVersion(version, request.versionInfo)) return undefined;
  const ttl = resources.filter((e) => e.ttlMs !== undefined);
  if (ttl.length === 0) return undefined;
  return { typeUrl: view.typeUrl, version, resources: ttl, heartbeat: true };
}

/**
 * The delta answer for a watch, or `undefined` to hold it.
 *
 * `changed` (batches of names) limits the work to names changed since the watch was last
 * evaluated (a held watch has already seen everything else); `undefined`
 * evaluates everything.
 */
export function answerDelta(
  view: ResourceSetView | undefined,
  request: DeltaWatchRequest,
  policy: TypePolicy,
  systemVersion: string,
  changed?: readonly ReadonlySet<string>[],
): DeltaResponse | undefined {
  if (!view) return undefined;
  const wildcard = effectiveWildcard(request, policy);
  const held = request.clientVersions;
  const force = request.forceNames;
  if (!changed && held.size === 0) {
    // A client that holds nothing (a proxy's first request): what it is sent depends only on
    // the state and the subscription, so streams with the same sets share one answer.
    const fresh = freshAnswer(view, request, wildcard);
    if (fresh !== undefined) {
      if (fresh.resources.length === 0 && fresh.removed.length === 0 && !request.forceResponse) return undefined;
      return { typeUrl: view.typeUrl, systemVersion, resources: fresh.resources, removed: fresh.removed, versions: view.versions?.() };
    }
  }
  const resources: ResourceEntry[] = [];
  const removed: string[] = [];
  const out: DeltaOut = { view, held, force, resources, removed };
  if (changed) {
    if (force.size === 0 && changed.length <= 1) {
      // One batch (a change woke the watch), or none (a resumed watch with nothing forced: what
      // a delta stream opens after each response): no merged set of names to build.
      if (changed.length === 1) for (const name of changed[0]!) if (wildcard || request.names.has(name)) consider(name, out);
    } else {
      const seen = new Set<string>();
      for (const batch of [...changed, force]) {
        for (const name of batch) {
          if (seen.has(name)) continue;
          seen.add(name);
          if (wildcard || request.names.has(name)) consider(name, out);
        }
      }
    }
  } else if (wildcard) {
    for (const name of view.names()) consider(name, out);
    for (const name of held.keys()) if (!view.get(name)) removed.push(name);
    for (const name of force) if (!view.get(name) && !held.has(name)) removed.push(name);
  } else {
    for (const name of request.names) consider(name, out);
  }
  // The first wildcard request is always answered, even when empty (protocol.md: delta-first-wildcard).
  if (resources.length === 0 && removed.length === 0 && !request.forceResponse) return undefined;
  return { typeUrl: view.typeUrl, systemVersion, resources, removed, versions: view.versions?.() };
}

/** What answerDelta reads and fills, for {@link consider} (one object, not a closure per answer). */
interface DeltaOut {
  readonly view: ResourceSetView;
  readonly held: DeltaWatchRequest["clientVersions"];
  readonly force: ReadonlySet<string>;
  readonly resources: ResourceEntry[];
  readonly removed: string[];
}

/**
 * One name, in scope: send it if the client lacks it or holds another
 * version, or if it was just subscribed (protocol.md: delta-resubscribe-resends);
 * say "removed" if it is gone or never existed (protocol.md: delta-removed).
 */
function consider(name: string, out: DeltaOut): void {
  const entry = out.view.get(name);
  if (entry) {
    const holds = out.held.get(name);
    if (out.force.has(name) || holds === undefined || !sameContentVersion(holds, entry.version)) out.resources.push(entry);
  } else if (out.held.has(name) || out.force.has(name)) {
    out.removed.push(name);
  }
}

interface FreshAnswer {
  /** The subscribed names it answers, in the set's order when it was made. */
  readonly names: readonly string[];
  readonly view: ResourceSetView;
  readonly forced: boolean;
  readonly resources: readonly ResourceEntry[];
  readonly removed: readonly string[];
}
const NOTHING_REMOVED: readonly string[] = Object.freeze([]);
/** The last answer to a client holding nothing, per subscribed set of names. */
const freshAnswers = new WeakMap<object, FreshAnswer>();

/**
 * The delta answer for a client that holds nothing, shared by every stream with the same
 * sets: a wildcard with nothing forced is every entry (the view's own array); a named
 * subscription whose forced names are none or the subscribed set itself (a first request)
 * is the entries of its names in their order, and "removed" for forced names that do not
 * exist. `undefined` for any other shape (evaluated name by name).
 */
function freshAnswer(view: ResourceSetView, request: DeltaWatchRequest, wildcard: boolean): FreshAnswer | undefined {
  const force = request.forceNames;
  if (wildcard) {
    if (force.size > 0) return undefined;
    return { names: NOTHING_REMOVED, view, forced: false, resources: view.all(), removed: NOTHING_REMOVED };
  }
  const names = request.names;
  const forced = force === names && names.size > 0;
  if (force.size > 0 && !forced) return undefined;
  const known = freshAnswers.get(names);
  // The set must still hold what it held then: a server's own sets change between watches
  // (the shared ones never do), and comparing costs no allocation, unlike answering again.
  if (known !== undefined && known.view === view && known.forced === forced && holdsInOrder(names, known.names)) return known;
  const resources: ResourceEntry[] = [];
  const removed: string[] = [];
  for (const name of names) {
    const entry = view.get(name);
    if (entry) resources.push(entry);
    else if (forced) removed.push(name);
  }
  const answer: FreshAnswer = {
    names: Object.freeze([...names]),
    view,
    forced,
    resources: Object.freeze(resources),
    removed: removed.length > 0 ? Object.freeze(removed) : NOTHING_REMOVED,
  };
  freshAnswers.set(names, answer);
  return answer;
}

/** Whether `names` holds exactly `list`, in its order. */
function holdsInOrder(names: ReadonlySet<string>, list: readonly string[]): boolean {
  if (names.size !== list.length) return false;
  let i = 0;
  let same = true;
  // forEach, not for-of: no iterator result per name.
  names.forEach((name) => {
    if (same && name !== list[i++]) same = false;
  });
  return same;
}

/** A delta TTL heartbeat: the TTL resources the client holds in their current version. */
export function heartbeatDelta(
  view: ResourceSetView | undefined,
  request: DeltaWatchRequest,
  policy: TypePolicy,
  systemVersion: string,
): DeltaResponse | undefined {
  if (!view) return undefined;
  const wildcard = effectiveWildcard(request, policy);
  const resources: ResourceEntry[] = [];
  for (const [name, version] of request.clientVersions) {
    if (!wildcard && !request.names.has(name)) continue;
    const entry = view.get(name);
    if (entry && entry.ttlMs !== undefined && sameContentVersion(entry.version, version)) resources.push(entry);
  }
  if (resources.length === 0) return undefined;
  return { typeUrl: view.typeUrl, systemVersion, resources, removed: [], heartbeat: true };
}
