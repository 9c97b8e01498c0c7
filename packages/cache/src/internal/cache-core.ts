import { ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { ResourceTypeLookup } from "@xdskit/resources";
import type { Observable } from "rxjs";
import type { DeltaResponse, DeltaWatchRequest, ResourceEntry, SotwResponse, SotwWatchRequest, WatchRequestBase } from "../types.js";
import { answerDelta, answerSotw, heartbeatDelta, heartbeatSotw, type TypePolicy } from "./answer.js";
import type { ResourceSetView } from "./resource-set.js";
// rxjs, required from its own modules, not the "rxjs" index: the same classes (internal/rx.ts).
import { throwError } from "./rx.js";
import { CacheWatch, type WatchSpec } from "./watch.js";
import type { WatchIndex } from "./watch-index.js";

/** Where a watch waits and what it reads, resolved when it is subscribed. */
export interface WatchPlace {
  readonly index: WatchIndex;
  /** The current resources of the watched type; undefined while the cache knows nothing for the client. */
  view(): ResourceSetView | undefined;
  /** `system_version_info` for delta responses. */
  systemVersion(): string;
}

/**
 * Resolves where a watch waits, when it is opened. A function the cache makes
 * once (not a closure per watch); `key` is what the cache computed for the
 * request when the watch was made (SnapshotCache: the node's group) when the
 * watch is opened right there (CacheWatch.open), else undefined (computed again).
 */
export type WatchPlacer = (request: WatchRequestBase, key: string | undefined) => WatchPlace;

/** Watch plumbing shared by the caches: policies per type, request checks. */
export class CacheCore {
  readonly #owner: string;
  readonly #resourceTypes: ResourceTypeLookup;
  readonly #adsConsistency: boolean;
  readonly #policies = new Map<string, TypePolicy>();

  constructor(owner: string, resourceTypes: ResourceTypeLookup, adsConsistency: boolean) {
    this.#owner = owner;
    this.#resourceTypes = resourceTypes;
    this.#adsConsistency = adsConsistency;
  }

  /**
   * How the cache treats a type: from its descriptor (unknown types: named,
   * not full state) and the options. A legacy wildcard (the server decided,
   * from the descriptor's `legacyWildcard` mode and the node, that an empty
   * first request means everything) is honoured for types that allow wildcard
   * and whose mode is not `"never"`.
   */
  policy(typeUrl: string): TypePolicy {
    let policy = this.#policies.get(typeUrl);
    if (!policy) {
      let fullState = false;
      let legacyWildcard = false;
      let adsConsistent = false;
      try {
        const type = this.#resourceTypes(typeUrl);
        fullState = type.fullState;
        legacyWildcard = type.wildcardAllowed && type.legacyWildcard !== "never";
        adsConsistent = type.adsConsistent;
      } catch {
        // A type URL nobody described: served by name, SotW carries what is asked.
      }
      policy = Object.freeze({
        fullState,
        legacyWildcard,
        adsConsistency: this.#adsConsistency && adsConsistent,
      });
      this.#policies.set(typeUrl, policy);
    }
    return policy;
  }

  /** Checks the fields every watch request needs; returns the error to emit, if any. */
  check(method: string, request: WatchRequestBase, delta: boolean): XdskitError | undefined {
    // Runs for every watch: the error is built only when there is one (no closure per call).
    if (typeof request !== "object" || request === null) return this.#misuse(method, request, "the request must be an object");
    if (typeof request.typeUrl !== "string" || request.typeUrl === "") return this.#misuse(method, request, "the request has no typeUrl");
    if (typeof request.node !== "object" || request.node === null)
      return this.#misuse(method, request, "the request has no node (the server must pass the stream's first node)");
    if (!(request.names instanceof Set)) return this.#misuse(method, request, "request.names must be a Set of resource names");
    if (delta) {
      const d = request as DeltaWatchRequest;
      if (!isReadonlyMap(d.clientVersions))
        return this.#misuse(method, request, "request.clientVersions must be a Map (or ReadonlyMap) of name -> version");
      if (!(d.forceNames instanceof Set)) return this.#misuse(method, request, "request.forceNames must be a Set of names");
    } else if (typeof (request as SotwWatchRequest).versionInfo !== "string") {
      return this.#misuse(method, request, 'request.versionInfo must be a string ("" when the client has nothing)');
    }
    return undefined;
  }

  #misuse(method: string, request: WatchRequestBase, what: string): XdskitError {
    return new XdskitError(ErrorCode.API_MISUSE, `${this.#owner}.${method}: ${what}`, {
      ...(typeof request?.typeUrl === "string" ? { typeUrl: request.typeUrl } : {}),
    });
  }

  watchSotw(given: SotwWatchRequest, place: WatchPlacer, key?: string): Observable<SotwResponse> {
    const error = this.check("watchSotw", given, false);
    if (error) return throwError(() => error);
    // The index keeps its own record of the names a watch was filed under, so
    // a server reusing its set for the next request cannot corrupt it.
    return new CacheWatch<SotwResponse>(new SotwSpec(given, this.policy(given.typeUrl), place, key));
  }

  watchDelta(given: DeltaWatchRequest, place: WatchPlacer, key?: string): Observable<DeltaResponse> {
    const error = this.check("watchDelta", given, true);
    if (error) return throwError(() => error);
    return new CacheWatch<DeltaResponse>(new DeltaSpec(given, this.policy(given.typeUrl), place, key));
  }
}

/** A SotW watch's spec (a class, not closures: one is held per idle stream and type). */
class SotwSpec implements WatchSpec<SotwResponse> {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
  readonly tracksChanges = false;
  #request: SotwWatchRequest;
  /** #request is this spec's own copy (made by the first advance: the given request is never changed). */
  #owned = false;
  readonly #policy: TypePolicy;
  readonly #place: WatchPlacer;
  readonly #key: string | undefined;
  #resolved: WatchPlace | undefined;

  constructor(request: SotwWatchRequest, policy: TypePolicy, place: WatchPlacer, key: string | undefined) {
    this.wildcard = request.wildcard;
    this.names = request.names;
    this.#request = request;
    this.#policy = policy;
    this.#place = place;
    this.#key = key;
  }

  index(opened: boolean): WatchIndex {
    this.#resolved = this.#place(this.#request, opened ? this.#key : undefined);
    return this.#resolved.index;
  }

  answer(): SotwResponse | undefined {
    return answerSotw(this.#resolved!.view(), this.#request, this.#policy);
  }

  heartbeat(): SotwResponse | undefined {
    return heartbeatSotw(this.#resolved!.view(), this.#request, this.#policy);
  }

  /** The client accepted `response`: it now holds its version and names, and nothing is forced. */
  advance(response: SotwResponse): void {
    // A heartbeat refreshes TTLs only: what the client holds stays as it was.
    if (response.heartbeat === true) return;
    const lastSent = { version: response.version, names: namesOfEntries(response.resources), nacked: false };
    if (this.#owned) {
      const request = this.#request as Mutable<SotwWatchRequest>;
      request.versionInfo = response.version;
      request.lastSent = lastSent;
      request.forceResponse = false;
      return;
    }
    const given = this.#request;
    // Every field written out (no spread): see the server's own watch requests.
    this.#request = {
      streamId: given.streamId,
      node: given.node,
      typeUrl: given.typeUrl,
      ads: given.ads,
      wildcard: given.wildcard,
      legacyWildcard: given.legacyWildcard,
      names: given.names,
      versionInfo: response.version,
      lastSent,
      forceResponse: false,
    };
    this.#owned = true;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The names of an answer's entries, shared by every watch answered with the same list (the
 * type's own list for wildcard and whole-type subscriptions). Never modified.
 */
const entryNames = new WeakMap<readonly ResourceEntry[], ReadonlySet<string>>();

function namesOfEntries(entries: readonly ResourceEntry[]): ReadonlySet<string> {
  let names = entryNames.get(entries);
  if (names === undefined) {
    const set = new Set<string>();
    for (let i = 0; i < entries.length; i++) set.add(entries[i]!.name);
    names = set;
    entryNames.set(entries, names);
  }
  return names;
}

/** What a resumed delta watch starts from: no changes (one frozen list for every watch). */
const NO_CHANGES: readonly ReadonlySet<string>[] = Object.freeze([]);

/** A delta watch's spec. A resumed watch starts from what changed: nothing but forceNames. */
class DeltaSpec implements WatchSpec<DeltaResponse> {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
  readonly tracksChanges = true;
  #request: DeltaWatchRequest;
  /** #request is this spec's own copy (made by the first advance: the given request is never changed). */
  #owned = false;
  readonly #policy: TypePolicy;
  readonly #place: WatchPlacer;
  readonly #key: string | undefined;
  #resolved: WatchPlace | undefined;
  #resumed: boolean;

  constructor(request: DeltaWatchRequest, policy: TypePolicy, place: WatchPlacer, key: string | undefined) {
    this.wildcard = request.wildcard;
    this.names = request.names;
    this.#request = request;
    this.#policy = policy;
    this.#place = place;
    this.#key = key;
    this.#resumed = request.resumed === true;
  }

  index(opened: boolean): WatchIndex {
    this.#resolved = this.#place(this.#request, opened ? this.#key : undefined);
    return this.#resolved.index;
  }

  answer(changed: readonly ReadonlySet<string>[] | undefined): DeltaResponse | undefined {
    const scope = this.#resumed ? NO_CHANGES : changed;
    this.#resumed = false;
    const resolved = this.#resolved!;
    return answerDelta(resolved.view(), this.#request, this.#policy, resolved.systemVersion(), scope);
  }

  heartbeat(): DeltaResponse | undefined {
    const resolved = this.#resolved!;
    return heartbeatDelta(resolved.view(), this.#request, this.#policy, resolved.systemVersion());
  }

  /**
   * The client is sent `response`: its forced names are spent and nothing more is forced. What
   * it holds is the server's to track (clientVersions, a live map the server updates as it
   * sends); from here the watch looks only at what changes.
   */
  advance(): void {
    this.#resumed = false;
    if (this.#owned) {
      const request = this.#request as Mutable<DeltaWatchRequest>;
      request.forceNames = NOTHING_FORCED;
      request.forceResponse = false;
      return;
    }
    const given = this.#request;
    this.#request = {
      streamId: given.streamId,
      node: given.node,
      typeUrl: given.typeUrl,
      ads: given.ads,
      wildcard: given.wildcard,
      legacyWildcard: given.legacyWildcard,
      names: given.names,
      clientVersions: given.clientVersions,
      forceNames: NOTHING_FORCED,
      forceResponse: false,
      resumed: false,
    };
    this.#owned = true;
  }
}

/** The forced names of an advanced delta watch: none (never modified). */
const NOTHING_FORCED: ReadonlySet<string> = new Set<string>();

/** A Map, or an object with a ReadonlyMap's methods (a server may keep client versions in its own structure). */
function isReadonlyMap(value: unknown): value is ReadonlyMap<string, string> {
  if (value instanceof Map) return true;
  if (typeof value !== "object" || value === null) return false;
  const map = value as Partial<ReadonlyMap<string, string>>;
  return (
    typeof map.get === "function" &&
    typeof map.has === "function" &&
    typeof map.keys === "function" &&
    typeof map.size === "number" &&
    typeof map[Symbol.iterator] === "function"
  );
}
