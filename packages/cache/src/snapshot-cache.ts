import { ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { ResourceTypeLookup, SnapshotValidator } from "@xdskit/resources";
import type { Observable } from "rxjs";
import type { EntryStore } from "./entry-store.js";
import { answerSotw } from "./internal/answer.js";
import { CacheCore, type WatchPlace } from "./internal/cache-core.js";
import { LabelledType } from "./internal/labels.js";
import { type MissingReference, missingReferences } from "./internal/references.js";
import { type ResourceSetView, versionOf } from "./internal/resource-set.js";
import { WatchIndex } from "./internal/watch-index.js";
import { OnceKeys, safeLog } from "./logger.js";
import {
  applyUpdate,
  buildSnapshot,
  diffSnapshots,
  InvalidSnapshotError,
  isBuiltSnapshot,
  type ResourceUpdate,
  type Snapshot,
  type SnapshotInput,
  type SnapshotViolation,
  viewOf,
} from "./snapshot.js";
import {
  type EntriesByType,
  type ResolvedOptions,
  resolveSnapshotCacheOptions,
  type SnapshotCacheOptions,
} from "./snapshot-cache-options.js";
import type {
  ConfigWatcher,
  DeltaResponse,
  DeltaWatchRequest,
  FetchRequest,
  ResourceEntry,
  SotwResponse,
  SotwWatchRequest,
  WatchRequestBase,
} from "./types.js";

const OWNER = "SnapshotCache";

/** What `setSnapshot` and `updateResources` report. */
export interface SnapshotChange {
  /** The group's snapshot now serving. */
  readonly snapshot: Snapshot;
  /** Type URLs whose content changed (only their watches were woken). */
  readonly changedTypes: readonly string[];
  /**
   * Validator findings accepted with the snapshot: warnings (such as a
   * reference to a resource the snapshot lacks) always, errors only under
   * `validation: "report"`. Empty when the validator found nothing.
   */
  readonly violations: readonly SnapshotViolation[];
}

/**
 * Orders the types a change wakes by their descriptors' `order`, the order a
 * server sends them in (secrets, clusters, endpoints, listeners, routes, ...),
 * so what a resource uses is woken before it; unknown types last.
 */
function wakeOrder(types: Iterable<string>, lookup: ResourceTypeLookup): string[] {
  const orderOf = (typeUrl: string): number => {
    try {
      return lookup(typeUrl).order;
    } catch {
      return Number.MAX_SAFE_INTEGER;
    }
  };
  return [...types].sort((a, b) => orderOf(a) - orderOf(b));
}

interface Group {
  /** The latest snapshot set. */
  snapshot?: Snapshot;
  /** The snapshot watches and fetches answer from: the latest, or under `debounce` the last one released. */
  served?: Snapshot;
  /** Per type of `served`: the view watches read, versions labelled by the snapshot in which they last changed. */
  labelled?: Map<string, LabelledType>;
  /** When `served` was published (ms since the epoch). */
  servedAt?: number;
  readonly indexes: Map<string, PrunedIndex>;
}

const EMPTY = Object.freeze(Object.create(null)) as Record<string, ResourceEntry>;

/**
 * A cache of frozen snapshots, one per node group: the usual way to run a
 * control plane that computes whole configurations.
 *
 * When to use: your control plane knows the full configuration of each group
 * of proxies (per node, per service cluster, per id prefix). For one type
 * with many small updates, a {@link LinearCache} is cheaper.
 *
 * Details: resources are encoded once into shared entries (see
 * {@link EntryStore}); a type's version is a digest of its content, so a new
 * snapshot whose type content is unchanged sends nothing for that type, and
 * setting a snapshot wakes only the watches subscribed to changed names (and
 * wildcard watches of changed types). Watches of a group with no snapshot wait
 * for one. All protocol rules are in docs/protocol.md.
 *
 * @example
 * const cache = new SnapshotCache({ nodeGroup: groupByNodeCluster });
 * cache.setSnapshot("front", {
 *   version: "1",
 *   resources: { [TypeUrl.Cluster]: [Cluster.fromPartial({ name: "web" })] },
 * });
 * const xds = new XdsServer({ cache }); // from @xdskit/server
 */
export class SnapshotCache implements ConfigWatcher {
  readonly #options: ResolvedOptions;
  readonly #store: EntryStore;
  readonly #groups = new Map<string, Group>();
  readonly #once = new OnceKeys();
  /** Name sets already looked at for missing names, with the snapshot they were looked at in (#warnUnserved). */
  readonly #namesChecked = new WeakMap<ReadonlySet<string>, Snapshot>();
  /** Changes held back per group under the `debounce` option. */
  readonly #held = new Map<
    string,
    { changed: Map<string, Set<string>> | "all"; readonly first: number; timer: ReturnType<typeof setTimeout> | undefined }
  >();
  readonly #core: CacheCore;
  readonly #validated = new WeakMap<Snapshot, Map<SnapshotValidator<SnapshotViolation, EntriesByType>, readonly SnapshotViolation[]>>();
  readonly #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(options: SnapshotCacheOptions = {}) {
    this.#options = resolveSnapshotCacheOptions(options);
    this.#store = this.#options.entries;
    const resourceTypes = this.#options.resourceTypes;
    this.#core = new CacheCore(OWNER, resourceTypes, this.#options.adsConsistency);
    if (this.#options.heartbeatIntervalMs > 0) {
      this.#heartbeat = setInterval(() => this.#sendHeartbeats(), this.#options.heartbeatIntervalMs);
      this.#heartbeat.unref?.();
    }
  }

  /** The resolved options (defaults filled in), frozen. */
  get options(): Readonly<SnapshotCacheOptions> {
    return this.#options;
  }

  /** The entry store: `cache.entries.encodeCount`, or `cache.entries.entry(typeUrl, msg, { ttlMs })` to make TTL entries. */
  get entries(): EntryStore {
    return this.#store;
  }

  /** Watches waiting right now, over every group and type (for metrics and tests). */
  get openWatches(): number {
    let n = 0;
    for (const g of this.#groups.values()) for (const index of g.indexes.values()) n += index.size;
    return n;
  }

  /** The group key of a node (the `nodeGroup` option applied). */
  groupOf(node: Node): string {
    const key = this.#options.nodeGroup(node);
    if (typeof key !== "string") {
      throw new XdskitError(
        ErrorCode.INVALID_OPTION,
        `${OWNER}: option "nodeGroup" must return a string; got ${typeof key} for node "${node?.id}"`,
        {
          nodeId: node?.id,
          path: "nodeGroup",
        },
      );
    }
    return key;
  }

  /** Group keys that have a snapshot. */
  groups(): string[] {
    return [...this.#groups].filter(([, g]) => g.snapshot).map(([k]) => k);
  }

  /**
   * Builds a frozen snapshot with this cache's entry store, without setting
   * it. Set the result on many groups to share one object (cheapest).
   * @throws InvalidSnapshotError for an empty version, duplicate names per type, or unencodable resources (all listed).
   */
  createSnapshot(input: SnapshotInput): Snapshot {
    return buildSnapshot(this.#store, input);
  }

  /**
   * Sets a group's snapshot, replacing the previous one, and wakes the
   * watches affected by what changed (by content, not by version label).
   *
   * @throws InvalidSnapshotError (`XDSKIT_INVALID_SNAPSHOT`, `.violations`)
   *   for an empty version, duplicate names per type, or (with a validator in
   *   `"refuse"` mode) every violation; the previous snapshot keeps serving.
   * @example cache.setSnapshot("front", { version: "2", resources: { [TypeUrl.Cluster]: clusters } });
   */
  setSnapshot(group: string, snapshot: SnapshotInput | Snapshot): SnapshotChange {
    this.#checkGroup("setSnapshot", group);
    const state = this.#groups.get(group);
    const next = isBuiltSnapshot(snapshot) ? snapshot : buildSnapshot(this.#store, snapshot, state?.snapshot);
    const violations = this.#validate(group, next);
    const changed = diffSnapshots(state?.snapshot, next);
    return this.#commit(group, next, state?.snapshot === undefined ? "all" : changed, violations);
  }

  /**
   * Changes part of a group's snapshot (upserts and removals) without
   * rebuilding the rest: unchanged entries and types keep their objects
   * (immer), and only the watches of changed names wake. A group without a
   * snapshot starts from an empty one.
   *
   * @throws InvalidSnapshotError as {@link setSnapshot}.
   * @example cache.updateResources("front", { version: "3", upsert: { [TypeUrl.ClusterLoadAssignment]: [cla] } });
   */
  updateResources(group: string, update: ResourceUpdate): SnapshotChange {
    this.#checkGroup("updateResources", group);
    const state = this.#groups.get(group);
    const { snapshot, changed } = applyUpdate(this.#store, state?.snapshot, update);
    const violations = this.#validate(group, snapshot);
    return this.#commit(group, snapshot, state?.snapshot === undefined ? "all" : changed, violations);
  }

  /**
   * The version (label) of the snapshot the group's watches answer from:
   * the latest set, or under `debounce` the last one released. `undefined`
   * without a snapshot. A rollout is complete when this is the version you
   * set and every node has ACKed it (`XdsServer.waitForAck`).
   */
  servedVersion(group: string): string | undefined {
    return this.#groups.get(group)?.served?.version;
  }

  /** When (ms since the epoch) the group's watches started answering from {@link servedVersion}; `undefined` without a snapshot. */
  servedAt(group: string): number | undefined {
    return this.#groups.get(group)?.servedAt;
  }

  /** The group's snapshot, or undefined. */
  getSnapshot(group: string): Snapshot | undefined {
    return this.#groups.get(group)?.snapshot;
  }

  /**
   * Removes a group's snapshot. Open watches stay open and wait for a new
   * snapshot (clients keep what they have). Returns true if there was one.
   */
  clearSnapshot(group: string): boolean {
    const state = this.#groups.get(group);
    if (!state?.snapshot) return false;
    delete state.snapshot;
    delete state.served;
    delete state.servedAt;
    delete state.labelled;
    this.#prune(group, state);
    return true;
  }

  /**
   * Every reference a group's snapshot makes to a resource it lacks:
   * clusters naming EDS services, listeners naming RDS route configurations,
   * transport sockets naming SDS secrets, ECDS configs. For one group, or all.
   * @example cache.validateReferences("front"); // [{ group: "front", typeUrl: Cluster, name: "web", referenceTypeUrl: ClusterLoadAssignment, referenceName: "web", path: "eds_cluster_config.service_name" }]
   */
  validateReferences(group?: string): MissingReference[] {
    const out: MissingReference[] = [];
    const keys = group === undefined ? this.groups() : [group];
    for (const key of keys) {
      const snapshot = this.#groups.get(key)?.snapshot;
      if (snapshot) out.push(...missingReferences(key, snapshot, this.#options.resourceTypes));
    }
    return out;
  }

  /**
   * Watches one type for one SotW subscription of a node (its group's
   * snapshot). Cold and one-shot: subscribing evaluates at once and emits
   * when the client should get something (then completes), otherwise waits
   * for a change to what the subscription names; unsubscribing cancels.
   * Never emits a version the client NACKed; holds names that do not exist
   * yet; see docs/protocol.md for every rule. Malformed requests (the
   * server's job to build) error the Observable with `XDSKIT_API_MISUSE`.
   *
   * @example
   * cache.watchSotw({ streamId: 1, node, typeUrl: TypeUrl.Cluster, ads: true, wildcard: true, names: new Set(),
   *   versionInfo: "", forceResponse: false }).subscribe((r) => send(r)); // r.resources: every cluster of the group
   */
  watchSotw(request: SotwWatchRequest): Observable<SotwResponse> {
    return this.#core.watchSotw(request, this.#placeOf, this.#warnUnserved(request));
  }

  /**
   * Watches one type for one delta subscription: emits the resources whose
   * version differs from `clientVersions` (or that are in `forceNames`) and
   * the names to remove, or waits for a change. Same lifecycle as
   * {@link watchSotw}.
   */
  watchDelta(request: DeltaWatchRequest): Observable<DeltaResponse> {
    return this.#core.watchDelta(request, this.#placeOf, this.#warnUnserved(request));
  }

  /** Answers a REST/`Fetch*` request from the group's snapshot; `undefined` when up to date or no snapshot. */
  async fetch(request: FetchRequest): Promise<SotwResponse | undefined> {
    const state = this.#groups.get(this.groupOf(request.node));
    const view = this.#view(state, request.typeUrl);
    const policy = this.#core.policy(request.typeUrl);
    return answerSotw(
      view,
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
      policy,
    );
  }

  /** Stops the heartbeat timer and drops changes held back by `debounce`. Open watches stay usable. */
  dispose(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    for (const held of this.#held.values()) if (held.timer !== undefined) clearTimeout(held.timer);
    this.#held.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #checkGroup(method: string, group: unknown): void {
    if (typeof group !== "string") {
      throw new XdskitError(ErrorCode.API_MISUSE, `${OWNER}.${method}: the group key must be a string; got ${typeof group}`);
    }
  }

  #validate(group: string, snapshot: Snapshot): readonly SnapshotViolation[] {
    const { validator: shared, validatorForGroup } = this.#options;
    const validator = validatorForGroup ? validatorForGroup(group) : shared;
    if (!validator) return [];
    let byValidator = this.#validated.get(snapshot);
    if (!byValidator) {
      byValidator = new Map();
      this.#validated.set(snapshot, byValidator);
    }
    let violations = byValidator.get(validator);
    if (!violations) {
      const byType: Record<string, readonly ResourceEntry[]> = {};
      for (const [typeUrl, t] of Object.entries(snapshot.resources)) byType[typeUrl] = viewOf(typeUrl, t).all();
      violations = Object.freeze([...validator(byType)]);
      byValidator.set(validator, violations);
      this.#logWarnings(group, snapshot, violations);
    }
    const errors = violations.filter((v) => v.severity !== "warning");
    if (errors.length > 0 && this.#options.validation === "refuse") {
      throw new InvalidSnapshotError(
        `${OWNER}: snapshot "${snapshot.version}" for group "${group}" is refused (${errors.length} violation${errors.length === 1 ? "" : "s"}); the previous snapshot keeps serving`,
        errors,
      );
    }
    return violations;
  }

  /** Logs a snapshot's warnings once per snapshot object (one shared by many groups logs once). */
  #logWarnings(group: string, snapshot: Snapshot, violations: readonly SnapshotViolation[]): void {
    const found = violations.filter((v) => v.severity === "warning");
    if (found.length === 0) return;
    const shown = found
      .slice(0, 3)
      .map((v) => `${v.typeUrl ?? ""} "${v.name ?? ""}"${v.path ? ` at ${v.path}` : ""}: ${v.message}`)
      .join("; ");
    safeLog(
      this.#options.logger,
      "warn",
      { group, version: snapshot.version, warnings: found.length },
      `snapshot "${snapshot.version}" for group "${group}" is served with ${found.length} warning${found.length === 1 ? "" : "s"} (clients wait for what is missing): ${shown}${found.length > 3 ? "; ..." : ""}`,
    );
  }

  #commit(
    group: string,
    next: Snapshot,
    changed: Map<string, Set<string>> | "all",
    violations: readonly SnapshotViolation[],
  ): SnapshotChange {
    let state = this.#groups.get(group);
    if (!state) {
      state = { indexes: new Map() };
      this.#groups.set(group, state);
    }
    state.snapshot = next;
    const changedTypes = changed === "all" ? Object.keys(next.resources) : [...changed.keys()];
    if (this.#options.debounce && state.served !== undefined) {
      this.#hold(group, state, changed);
    } else {
      this.#serve(state, next, changed);
    }
    return Object.freeze({ snapshot: next, changedTypes: Object.freeze(changedTypes), violations });
  }

  /** Holds a change back under the `debounce` option, merged with the changes already held for the group. */
  #hold(group: string, state: Group, changed: Map<string, Set<string>> | "all"): void {
    const { windowMs, maxDelayMs = windowMs * 10 } = this.#options.debounce!;
    const now = Date.now();
    let held = this.#held.get(group);
    if (!held) {
      held = { changed: new Map(), first: now, timer: undefined };
      this.#held.set(group, held);
    }
    if (changed === "all" || held.changed === "all") {
      held.changed = "all";
    } else {
      for (const [typeUrl, names] of changed) {
        const prior = held.changed.get(typeUrl);
        // An empty set means "the whole type": it absorbs any names.
        if (prior === undefined) held.changed.set(typeUrl, new Set(names));
        else if (prior.size > 0 && names.size > 0) for (const n of names) prior.add(n);
        else prior.clear();
      }
    }
    if (held.timer !== undefined) clearTimeout(held.timer);
    const h = held;
    h.timer = setTimeout(
      () => {
        this.#held.delete(group);
        if (state.snapshot === undefined) return; // cleared meanwhile
        this.#serve(state, state.snapshot, h.changed);
      },
      Math.max(0, Math.min(windowMs, h.first + maxDelayMs - now)),
    );
    h.timer.unref?.();
  }

  /**
   * Makes `snapshot` the one watches answer from: labels what changed with its
   * version (docs/cache.md, "Versions"), then wakes the watches of what changed.
   */
  #serve(state: Group, snapshot: Snapshot, changed: Map<string, Set<string>> | "all"): void {
    state.served = snapshot;
    state.servedAt = Date.now();
    state.labelled ??= new Map();
    const labelled = state.labelled;
    const types = changed === "all" ? new Set([...Object.keys(snapshot.resources), ...labelled.keys()]) : changed.keys();
    for (const typeUrl of types) {
      const t = snapshot.resources[typeUrl] ?? emptyType();
      labelled.set(typeUrl, LabelledType.of(typeUrl, t.entries, t.version, snapshot.version, labelled.get(typeUrl)));
    }
    this.#wake(state, changed);
  }

  #wake(state: Group, changed: Map<string, Set<string>> | "all"): void {
    if (changed === "all") {
      for (const typeUrl of wakeOrder([...state.indexes.keys()], this.#options.resourceTypes)) state.indexes.get(typeUrl)?.notify("all");
    } else {
      for (const typeUrl of wakeOrder(changed.keys(), this.#options.resourceTypes)) {
        const index = state.indexes.get(typeUrl);
        if (!index) continue;
        const names = changed.get(typeUrl)!;
        index.notify(names.size > 0 ? names : "all");
      }
    }
  }

  #view(state: Group | undefined, typeUrl: string): ResourceSetView | undefined {
    const snapshot = state?.served;
    if (!snapshot) return undefined;
    let view = state!.labelled?.get(typeUrl);
    if (view === undefined) {
      // A type no snapshot of the group has held yet: empty, labelled by the served snapshot.
      const t = snapshot.resources[typeUrl] ?? emptyType();
      view = LabelledType.of(typeUrl, t.entries, t.version, snapshot.version, undefined);
      state!.labelled ??= new Map();
      state!.labelled.set(typeUrl, view);
    }
    return view;
  }

  /**
   * Warns once about the common mistakes: a group without a snapshot, names the snapshot lacks.
   * Returns the node's group, which the watch then waits in (nodeGroup called once per watch),
   * or undefined when there is none to give (the watch then reports what is wrong).
   */
  #warnUnserved(request: SotwWatchRequest | DeltaWatchRequest): string | undefined {
    if (typeof request?.node !== "object" || request.node === null || typeof request.typeUrl !== "string") return undefined;
    let group: string;
    try {
      group = this.groupOf(request.node);
    } catch {
      return undefined; // reported by the watch itself
    }
    const snapshot = this.#groups.get(group)?.snapshot;
    if (!snapshot) {
      if (this.#once.first(`group\0${group}`)) {
        const groups = this.groups();
        safeLog(
          this.#options.logger,
          "warn",
          warnBindings(request, group),
          `node "${request.node.id}" is in node group "${group}", which has no snapshot: its requests wait until one is set (groups with a snapshot: ${groups.length === 0 ? "none" : groups.slice(0, 10).join(", ") + (groups.length > 10 ? `, and ${groups.length - 10} more` : "")}; check the cache's nodeGroup option)`,
        );
      }
      return group;
    }
    if (request.wildcard || request.names.size === 0) return group;
    // The server shares one name set between the streams that name the same resources (and
    // keeps it from watch to watch): look at each set once per snapshot, not at every watch.
    const delta = request as Partial<DeltaWatchRequest>;
    const resumed = delta.resumed === true && delta.forceNames !== undefined;
    if (!resumed && this.#namesChecked.get(request.names) === snapshot) return group;
    const entries = snapshot.resources[request.typeUrl]?.entries;
    const missing: string[] = [];
    // A resumed delta watch only adds its forceNames: the rest were looked at before.
    const added = resumed ? delta.forceNames! : request.names;
    for (const name of added) {
      if (!entries || !Object.hasOwn(entries, name)) missing.push(name);
      if (missing.length === 5) break;
    }
    if (!resumed) this.#namesChecked.set(request.names, snapshot);
    if (missing.length > 0 && this.#once.first(`names\0${group}\0${request.typeUrl}\0${missing.join("\0")}`)) {
      safeLog(
        this.#options.logger,
        "warn",
        warnBindings(request, group),
        `node "${request.node.id}" asks for ${request.typeUrl} names that snapshot "${snapshot.version}" of group "${group}" does not have: ${missing.map((n) => JSON.stringify(n)).join(", ")}; they are held until a snapshot has them`,
      );
    }
    return group;
  }

  /** Where a watch waits: made once per cache (not a closure per watch). */
  readonly #placeOf = (request: WatchRequestBase, group: string | undefined): WatchPlace =>
    this.#place(group ?? this.groupOf(request.node), request.typeUrl);

  /** The place of a group's watches of a type (`group` from the node's groupOf when the watch was made). */
  #place(group: string, typeUrl: string): WatchPlace {
    let state = this.#groups.get(group);
    if (!state) {
      state = { indexes: new Map() };
      this.#groups.set(group, state);
    }
    let index = state.indexes.get(typeUrl);
    if (!index) {
      const s = state;
      index = new PrunedIndex(() => this.#prune(group, s));
      const created = index;
      // One place per index, shared by every watch in it (not two closures per watch).
      index.place = {
        index: created,
        view: () => this.#view(s, typeUrl),
        systemVersion: () => s.served?.version ?? "",
      };
      state.indexes.set(typeUrl, index);
    }
    return index.place!;
  }

  #prune(group: string, state: Group): void {
    for (const [typeUrl, index] of state.indexes) if (index.size === 0) state.indexes.delete(typeUrl);
    if (!state.snapshot && state.indexes.size === 0 && this.#groups.get(group) === state) this.#groups.delete(group);
  }

  #sendHeartbeats(): void {
    for (const state of this.#groups.values()) for (const index of [...state.indexes.values()]) index.heartbeat();
  }
}

/** The log bindings of #warnUnserved's warnings (built only when one is logged). */
function warnBindings(request: SotwWatchRequest | DeltaWatchRequest, group: string): Record<string, unknown> {
  return { nodeId: request.node.id, streamId: request.streamId, typeUrl: request.typeUrl, group };
}

let emptyTypeResources: { version: string; entries: Record<string, ResourceEntry> } | undefined;
function emptyType(): { version: string; entries: Record<string, ResourceEntry> } {
  emptyTypeResources ??= Object.freeze({ version: versionOf([]), entries: EMPTY });
  return emptyTypeResources;
}

/** A WatchIndex that reports when it becomes empty, so idle groups are forgotten. */
class PrunedIndex extends WatchIndex {
  /** Where its watches wait and what they read (set right after construction). */
  place: WatchPlace | undefined;
  readonly #onEmpty: () => void;
  constructor(onEmpty: () => void) {
    super();
    this.#onEmpty = onEmpty;
  }
  override remove(watch: Parameters<WatchIndex["remove"]>[0]): void {
    super.remove(watch);
    if (this.size === 0) this.#onEmpty();
  }
}
