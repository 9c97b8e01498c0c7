import { ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import { type ResourceTypeLookup, resourceTypeOf } from "@xdskit/resources/descriptors";
import type { Observable } from "rxjs";
import { type EntryOptions, EntryStore, type ResourceInput } from "./entry-store.js";
import { answerSotw } from "./internal/answer.js";
import { CacheCore, type WatchPlace } from "./internal/cache-core.js";
import { addLanes, emptyLanes, type Lanes, lanesVersion } from "./internal/digest.js";
import { checkBoolean, checkDuration, checkFunction, checkKnown, checkObject, optionError } from "./internal/options.js";
import { entryLanes, type ResourceSetView, sameEntry } from "./internal/resource-set.js";
// rxjs, required from its own modules, not the "rxjs" index: the same classes (internal/rx.ts).
import { throwError } from "./internal/rx.js";
import { WatchIndex } from "./internal/watch-index.js";
import type {
  ConfigWatcher,
  DeltaResponse,
  DeltaWatchRequest,
  FetchRequest,
  ResourceEntry,
  SotwResponse,
  SotwWatchRequest,
} from "./types.js";

/** Options of {@link LinearCache}. */
export interface LinearCacheOptions {
  /** The one type URL this cache serves. Required. */
  readonly typeUrl: string;
  /**
   * Resources to start with. Giving this option (even `[]`) declares the
   * cache loaded (see {@link LinearCache.loaded}). Default: none; the cache
   * starts unloaded and holds every watch until its first write or
   * {@link LinearCache.markLoaded}.
   */
  readonly resources?: readonly ResourceInput[];
  /** The entry store. Default: a new `EntryStore` using `resourceTypes`. */
  readonly entries?: EntryStore;
  /** Resource-type descriptors. Default: `resourceTypeOf` from `@xdskit/resources`. */
  readonly resourceTypes?: ResourceTypeLookup;
  /** ADS consistency for endpoint/route types (see `SnapshotCacheOptions.adsConsistency`). Default: false. */
  readonly adsConsistency?: boolean;
  /** TTL heartbeat interval in milliseconds; 0 turns heartbeats off. Default: 0. */
  readonly heartbeatIntervalMs?: number;
}

/** The defaults of {@link LinearCacheOptions}. */
export const LINEAR_CACHE_DEFAULTS = Object.freeze({
  resources: Object.freeze([]) as readonly ResourceInput[],
  adsConsistency: false,
  heartbeatIntervalMs: 0,
});

const OWNER = "LinearCache";
const KNOWN = ["typeUrl", "resources", "entries", "resourceTypes", "adsConsistency", "heartbeatIntervalMs"];

/** A batch for {@link LinearCache.update}. */
export interface LinearUpdate {
  /** Resources to add or replace. */
  readonly upsert?: readonly ResourceInput[];
  /** Names to delete (unknown names are ignored). */
  readonly delete?: readonly string[];
}

type ResolvedOptions = Required<Omit<LinearCacheOptions, "entries" | "resourceTypes">> & {
  readonly entries: EntryStore;
  readonly resourceTypes: ResourceTypeLookup;
};

/**
 * A cache of one resource type that changes one resource at a time: every
 * resource has its own version (the hash of its encoding), and an update
 * wakes only the watches subscribed to the changed names plus wildcard ones.
 *
 * When to use: large, fast-moving types such as endpoints, where rebuilding
 * a snapshot per change would be wasteful; combine with other caches through
 * {@link MuxCache}. Every node sees the same resources (no node groups).
 *
 * Details: a change costs O(changed resources + woken watches), whatever the
 * size of the cache: the type version is updated incrementally, no resource
 * is re-hashed, and watches are indexed by name.
 *
 * Hold until loaded (docs/protocol.md: hold-until-loaded): a cache created
 * without `resources` is not loaded, and holds every SotW and delta watch
 * (and `fetch` resolves `undefined`) until it is: on its first write call
 * (`upsert`, `upsertMany`, `update`, `delete`, `deleteMany`, `replaceAll`,
 * even one that changes nothing) or on {@link LinearCache.markLoaded}. An
 * empty answer to a wildcard listener or cluster watch tells Envoy to delete
 * everything it has, so a restarted control plane must not give one before
 * it has read its state. Load in one batch (`replaceAll`, `upsertMany`): a
 * first `upsert` of one resource releases the held watches with that one.
 *
 * @example
 * const endpoints = new LinearCache({ typeUrl: TypeUrl.ClusterLoadAssignment });
 * // Watches opened now wait: the cache is not loaded yet.
 * endpoints.replaceAll(await loadEndpoints()); // loaded: held watches are answered
 * endpoints.upsert(ClusterLoadAssignment.fromPartial({ clusterName: "web", endpoints: [...] }));
 * endpoints.delete("old");
 */
export class LinearCache implements ConfigWatcher {
  readonly #options: ResolvedOptions;
  readonly #store: EntryStore;
  readonly #entries = new Map<string, ResourceEntry>();
  readonly #lanes: Lanes = emptyLanes();
  #version: string;
  #all: readonly ResourceEntry[] | undefined;
  #loaded = false;
  readonly #index = new WatchIndex();
  readonly #core: CacheCore;
  readonly #view: ResourceSetView;
  readonly #place: WatchPlace;
  /** Every watch waits in the one index (made once, not a closure per watch). */
  readonly #placeOf = (): WatchPlace => this.#place;
  readonly #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(options: LinearCacheOptions) {
    checkObject(OWNER, options);
    checkKnown(OWNER, options, KNOWN);
    if (typeof options.typeUrl !== "string" || !/\/[^/]+$/.test(options.typeUrl)) {
      throw optionError(
        OWNER,
        "typeUrl",
        'a type URL such as "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"',
        options.typeUrl,
      );
    }
    if (options.resources !== undefined && !Array.isArray(options.resources))
      throw optionError(OWNER, "resources", "an array", options.resources);
    if (options.entries !== undefined && !(options.entries instanceof EntryStore))
      throw optionError(OWNER, "entries", "an EntryStore", options.entries);
    checkFunction(OWNER, "resourceTypes", options.resourceTypes);
    checkBoolean(OWNER, "adsConsistency", options.adsConsistency);
    checkDuration(OWNER, "heartbeatIntervalMs", options.heartbeatIntervalMs);
    const resourceTypes = options.resourceTypes ?? options.entries?.resourceTypes ?? (resourceTypeOf as ResourceTypeLookup);
    this.#store = options.entries ?? new EntryStore({ resourceTypes });
    this.#options = Object.freeze({
      ...LINEAR_CACHE_DEFAULTS,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      resourceTypes,
      entries: this.#store,
    }) as ResolvedOptions;
    this.#core = new CacheCore(OWNER, resourceTypes, this.#options.adsConsistency);
    this.#version = lanesVersion(this.#lanes, 0);
    const entries = this.#entries;
    const self = this;
    this.#view = {
      typeUrl: this.#options.typeUrl,
      get version() {
        return self.#version;
      },
      get size() {
        return entries.size;
      },
      get: (name) => entries.get(name),
      all: () => this.all(),
      names: () => entries.keys(),
      // No versions(): a shared name -> version map would be rebuilt, a pass over every entry,
      // after each change, and a change here costs only what changed. Delta streams served
      // from a LinearCache keep their own maps.
    };
    this.#place = { index: this.#index, view: () => this.#servedView(), systemVersion: () => this.#version };
    if (options.resources !== undefined) this.upsertMany(options.resources);
    if (this.#options.heartbeatIntervalMs > 0) {
      this.#heartbeat = setInterval(() => this.#index.heartbeat(), this.#options.heartbeatIntervalMs);
      this.#heartbeat.unref?.();
    }
  }

  /** The resolved options, frozen. */
  get options(): Readonly<LinearCacheOptions> {
    return this.#options;
  }

  /** The served type URL. */
  get typeUrl(): string {
    return this.#options.typeUrl;
  }

  /** The version of the whole type (a content digest; equal content, equal version). */
  get version(): string {
    return this.#version;
  }

  /**
   * Whether the cache has been loaded: `resources` was given to the
   * constructor, a write method was called, or {@link markLoaded}. Until
   * then every watch is held and `fetch` resolves `undefined`.
   */
  get loaded(): boolean {
    return this.#loaded;
  }

  /**
   * Declares the current content (possibly empty) the truth, without
   * changing it, and answers the held watches. Use it when the source of
   * resources really has none, e.g. an operator who wants zero listeners:
   * wildcard watches then get the empty answer (for listeners and clusters,
   * Envoy deletes what it holds). `replaceAll([])` does the same. Calling it
   * again does nothing.
   *
   * @example
   * const listeners = new LinearCache({ typeUrl: TypeUrl.Listener });
   * const rows = await db.listeners();
   * if (rows.length === 0) listeners.markLoaded(); // else listeners.replaceAll(rows)
   */
  markLoaded(): void {
    this.#apply([], []);
  }

  /** Watches waiting right now (for metrics and tests). */
  get openWatches(): number {
    return this.#index.size;
  }

  /** How many resources the cache holds. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry store (encode count, TTL entries). */
  get entries(): EntryStore {
    return this.#store;
  }

  /** The entry under a name. */
  get(name: string): ResourceEntry | undefined {
    return this.#entries.get(name);
  }

  /** Every entry (the same frozen array until the next change). */
  all(): readonly ResourceEntry[] {
    this.#all ??= Object.freeze([...this.#entries.values()]);
    return this.#all;
  }

  /**
   * Adds or replaces one resource; wakes the watches of its name (and
   * wildcard ones) only if its content changed.
   * @example cache.upsert(cla); cache.upsert(bytes, { name: "web" }); cache.upsert(cla, { ttlMs: 30_000 });
   */
  upsert(resource: ResourceInput, options?: EntryOptions): ResourceEntry {
    const entry = this.#store.entry(this.typeUrl, resource, options);
    this.#apply([entry], []);
    return entry;
  }

  /** Adds or replaces several resources in one change (one wake per watch). Names must be unique in the batch. */
  upsertMany(resources: readonly ResourceInput[]): readonly ResourceEntry[] {
    return this.update({ upsert: resources });
  }

  /** Deletes one resource; true if it existed. */
  delete(name: string): boolean {
    const had = this.#entries.has(name);
    this.#apply([], [name]);
    return had;
  }

  /** Deletes several resources in one change; returns how many existed. */
  deleteMany(names: readonly string[]): number {
    let n = 0;
    for (const name of names) if (this.#entries.has(name)) n++;
    this.#apply([], names);
    return n;
  }

  /**
   * Upserts and deletes in one change. A name both upserted and deleted is
   * upserted.
   * @throws XdskitError `XDSKIT_INVALID_RESOURCE` for a bad resource or a name twice in `upsert` (nothing is applied).
   */
  update(batch: LinearUpdate): readonly ResourceEntry[] {
    if (typeof batch !== "object" || batch === null) {
      throw new XdskitError(
        ErrorCode.INVALID_RESOURCE,
        `${OWNER}.update: expected { upsert?, delete? }; got ${batch === null ? "null" : typeof batch}`,
      );
    }
    const entries = (batch.upsert ?? []).map((r) => this.#store.entry(this.typeUrl, r));
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e.name)) {
        throw new XdskitError(ErrorCode.INVALID_RESOURCE, `${OWNER}.update: "${e.name}" appears twice in one batch of ${this.typeUrl}`, {
          typeUrl: this.typeUrl,
          resourceName: e.name,
        });
      }
      seen.add(e.name);
    }
    this.#apply(
      entries,
      (batch.delete ?? []).filter((n) => !seen.has(n)),
    );
    return entries;
  }

  /** Replaces the whole content: resources not in the list are deleted. Wakes only what changed. */
  replaceAll(resources: readonly ResourceInput[]): readonly ResourceEntry[] {
    const entries = this.update({ upsert: resources });
    const keep = new Set(entries.map((e) => e.name));
    const gone = [...this.#entries.keys()].filter((n) => !keep.has(n));
    if (gone.length > 0) this.#apply([], gone);
    return entries;
  }

  /**
   * Watches this cache's type for one SotW subscription. Cold and one-shot: subscribing evaluates at once and emits
   * when the client should get something (then completes), otherwise waits
   * for a change to what the subscription names; unsubscribing cancels.
   * Never emits a version the client NACKed; holds names that do not exist
   * yet; see docs/protocol.md for every rule. Malformed requests (the
   * server's job to build) error the Observable with `XDSKIT_API_MISUSE`.
   *
   * @example
   * cache.watchSotw({ streamId: 1, node, typeUrl: cache.typeUrl, ads: true, wildcard: false, names: new Set(["web"]),
   *   versionInfo: "", forceResponse: false }).subscribe((r) => send(r)); // r.resources: the entry "web", once it exists
   */
  watchSotw(request: SotwWatchRequest): Observable<SotwResponse> {
    const error = this.#checkType("watchSotw", request?.typeUrl);
    if (error) return throwError(() => error);
    return this.#core.watchSotw(request, this.#placeOf);
  }

  /**
   * Watches one type for one delta subscription: emits the resources whose
   * version differs from `clientVersions` (or that are in `forceNames`) and
   * the names to remove, or waits for a change. Same lifecycle as
   * {@link watchSotw}.
   */
  watchDelta(request: DeltaWatchRequest): Observable<DeltaResponse> {
    const error = this.#checkType("watchDelta", request?.typeUrl);
    if (error) return throwError(() => error);
    return this.#core.watchDelta(request, this.#placeOf);
  }

  /** Answers a one-shot fetch; `undefined` when the client is up to date or the cache is not {@link loaded} yet. */
  async fetch(request: FetchRequest): Promise<SotwResponse | undefined> {
    const error = this.#checkType("fetch", request?.typeUrl);
    if (error) throw error;
    return answerSotw(
      this.#servedView(),
      {
        streamId: -1,
        node: request.node,
        typeUrl: request.typeUrl,
        ads: false,
        wildcard: request.names.size === 0,
        legacyWildcard: request.names.size === 0,
        names: request.names,
        versionInfo: request.versionInfo,
        forceResponse: false,
      },
      this.#core.policy(this.typeUrl),
    );
  }

  /** Stops the heartbeat timer. Open watches stay usable. */
  dispose(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #checkType(method: string, typeUrl: unknown): XdskitError | undefined {
    if (typeUrl === this.typeUrl) return undefined;
    return new XdskitError(
      ErrorCode.API_MISUSE,
      `${OWNER}.${method}: this cache serves ${this.typeUrl}, not ${String(typeUrl)} (route types with a MuxCache)`,
      { typeUrl: String(typeUrl) },
    );
  }

  /** The resources watches are answered from; undefined (hold) until loaded (protocol.md: hold-until-loaded). */
  #servedView(): ResourceSetView | undefined {
    return this.#loaded ? this.#view : undefined;
  }

  /** Applies one change; the first call, even with no change, loads the cache and re-evaluates every held watch. */
  #apply(upserts: readonly ResourceEntry[], deletes: readonly string[]): void {
    const changed = new Set<string>();
    for (const entry of upserts) {
      const old = this.#entries.get(entry.name);
      if (sameEntry(old, entry)) continue;
      if (old) addLanes(this.#lanes, entryLanes(old), -1);
      addLanes(this.#lanes, entryLanes(entry), 1);
      this.#entries.set(entry.name, entry);
      changed.add(entry.name);
    }
    for (const name of deletes) {
      const old = this.#entries.get(name);
      if (!old) continue;
      addLanes(this.#lanes, entryLanes(old), -1);
      this.#entries.delete(name);
      changed.add(name);
    }
    const loading = !this.#loaded;
    this.#loaded = true;
    if (changed.size > 0) {
      this.#version = lanesVersion(this.#lanes, this.#entries.size);
      this.#all = undefined;
    }
    // Loading wakes every watch: named watches held before the load may now
    // be due an answer even for names that did not change (a full-state
    // client told its resources are gone, a delta client told "removed").
    if (loading) this.#index.notify("all");
    else if (changed.size > 0) this.#index.notify(changed);
  }
}
