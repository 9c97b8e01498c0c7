// The control plane behind `xdskit serve`: file config and API config merged
// per node group into a SnapshotCache. API config lives in a ConfigStore
// (key `groups/<group>`), with the last N versions kept for rollback.
import { groupByIdPrefix, groupByNodeCluster, groupByNodeId, type NodeGroupKey, SnapshotCache, type XdsLogger } from "@xdskit/cache";
import type { JsonValue } from "@xdskit/envoy-api";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { createSnapshotValidator, type SnapshotValidator, type SnapshotViolation, type ValidationProfile } from "@xdskit/resources";
import type { ConfigStore, StoreEntry, StoreEvent } from "@xdskit/stores";
import { Subject, type Subscription } from "rxjs";
import { RegroupingCache } from "./regrouping-cache.js";
import { type ConfigProblem, type GroupResources, type ParsedResource, parseResource } from "./resource-docs.js";

/** How nodes are grouped: by the node id's prefix before the first `-` (sxds), by node cluster, or by node id. */
export type GroupBy = "prefix" | "cluster" | "id";
/** The node-group key of each {@link GroupBy}. */
export const GROUPERS: Readonly<Record<GroupBy, NodeGroupKey>> = {
  prefix: groupByIdPrefix,
  cluster: groupByNodeCluster,
  id: groupByNodeId,
};

/** What the store keeps per group. */
interface StoredGroup {
  readonly version: number;
  /** Canonical Envoy JSON resources (with `@type`). */
  readonly resources: JsonValue[];
  readonly history: { version: number; resources: JsonValue[]; at: string }[];
}

/** A refused change: every problem, for a 400. */
export class ConfigRefused extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`refused: ${problems.length} problem(s)`);
  }
}

/** A write to a group while a canary runs on it: refused (409) until the canary ends. */
export class CanaryRunning extends Error {
  constructor(readonly group: string) {
    super(
      `group ${group} has a canary running; its config changes only through the canary (wait for it, or DELETE /v1/groups/${group}/canary to roll it back)`,
    );
  }
}

/** A validated change, not applied yet: what {@link ControlPlane.plan} returns. */
export interface PlannedChange extends ConfigDiff {
  readonly group: string;
  /** The API resources the group would have. */
  readonly next: GroupResources;
  /** The store revision the change was planned against (compare-and-set on commit). */
  readonly expectedRevision: number;
  /** The API version the change would get. */
  readonly version: number;
}

/** Resources that differ between two versions of a group (`resource` is `Type/name`). */
export interface VersionDiff {
  readonly group: string;
  readonly from: number;
  readonly to: number;
  readonly added: { resource: string; after: JsonValue }[];
  readonly changed: { resource: string; before: JsonValue; after: JsonValue }[];
  readonly removed: { resource: string; before: JsonValue }[];
}

/** The name of the derived node group serving a group's canary. */
export const canaryGroupOf = (group: string) => `${group}~canary`;

/** The difference between two versions of a group, by `Type/name`. */
export interface ConfigDiff {
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
}

const key = (group: string) => `groups/${group}`;
const label = (r: ParsedResource) => `${r.typeUrl.slice(r.typeUrl.lastIndexOf(".") + 1)}/${r.name}`;

export class ControlPlane {
  /** The snapshots, by node group (a canary adds `<group>~canary`). */
  readonly cache: SnapshotCache;
  /** What the xDS server watches: the cache, with waiting watches moved when a canary changes a node's group. */
  readonly watcher: RegroupingCache;
  /** A node's group by the `groupBy` rule alone, ignoring canaries. */
  readonly baseGroupOf: NodeGroupKey;
  /** Running canaries: base group → which nodes it selects, and the canary's resources. */
  readonly #canaries = new Map<string, { selects: (node: Node) => boolean; next: GroupResources }>();
  /** Emits a group's name when what it serves, its canary or its history changes (the status page listens). Never completes. */
  readonly changes = new Subject<string>();
  #files = new Map<string, GroupResources>();
  #filesGeneration = 0;
  readonly #api = new Map<string, { version: number; modRevision: number; resources: GroupResources; history: StoredGroup["history"] }>();
  readonly #validator: SnapshotValidator;

  constructor(
    readonly store: ConfigStore,
    groupBy: GroupBy,
    readonly historyLimit: number,
    logger?: XdsLogger,
    profile: ValidationProfile = "envoy",
  ) {
    this.#validator = createSnapshotValidator({ profile });
    const base = GROUPERS[groupBy];
    this.baseGroupOf = base;
    const nodeGroup = (node: Node): string => {
      const group = base(node);
      const canary = this.#canaries.get(group);
      return canary !== undefined && safeSelects(canary.selects, node) ? canaryGroupOf(group) : group;
    };
    this.cache = new SnapshotCache({ nodeGroup, validator: this.#validator, ...(logger ? { logger } : {}) });
    this.watcher = new RegroupingCache(this.cache);
  }

  /**
   * Starts serving `planned` to the nodes of its group that `selects` picks,
   * as the derived group `<group>~canary` with snapshot version `version`;
   * waiting watches of those nodes move at once. The group's own config is
   * unchanged until {@link endCanary} promotes it.
   */
  beginCanary(planned: PlannedChange, selects: (node: Node) => boolean, version: string): void {
    if (this.#canaries.has(planned.group)) throw new CanaryRunning(planned.group);
    const merged = merge(this.#files.get(planned.group), planned.next);
    this.cache.setSnapshot(canaryGroupOf(planned.group), { version, resources: toSnapshot(merged) as never });
    this.#canaries.set(planned.group, { selects, next: planned.next });
    this.watcher.regroup();
    this.changes.next(planned.group);
  }

  /** The snapshot version a group would serve with API version `apiVersion`: `files-<reloads>.api-<version>`. */
  versionLabel(apiVersion: number): string {
    return `files-${this.#filesGeneration}.api-${apiVersion}`;
  }

  /** Whether a canary runs on `group`. */
  canaryRunning(group: string): boolean {
    return this.#canaries.has(group);
  }

  /**
   * Ends a group's canary: with `promote`, commits its resources as the
   * group's next version (returned) first; either way the selected nodes
   * return to the group, and the canary's snapshot is dropped.
   */
  async endCanary(planned: PlannedChange, promote: boolean): Promise<number | undefined> {
    let version: number | undefined;
    try {
      if (promote) version = await this.#commit(planned.group, planned.next, planned.expectedRevision);
    } finally {
      this.#canaries.delete(planned.group);
      this.watcher.regroup();
      this.cache.clearSnapshot(canaryGroupOf(planned.group));
      this.changes.next(planned.group);
    }
    return version;
  }

  /** Loads API config from the store and serves it with the file config. */
  async load(files: Map<string, GroupResources>): Promise<ConfigProblem[]> {
    const listing = await this.store.list("groups/");
    for (const entry of listing.entries) this.#setApi(entry);
    this.#loadedRevision = listing.revision;
    return this.setFiles(files);
  }

  /** The store revision of the last listing {@link load} or {@link follow} read. */
  #loadedRevision = 0;

  /**
   * Follows the store after {@link load}: every change another replica writes
   * (`groups/<group>`) is applied and served, in revision order, so replicas
   * sharing a store (etcd) converge on identical snapshots and versions. A
   * change this replica wrote itself is skipped (already applied). When the
   * watch fails (etcd compacted the revisions it needed) the store is listed
   * again and followed from there; `onResync` hears about it. Returns a
   * function that stops following.
   */
  follow(onProblem: (error: unknown) => void = () => undefined): () => void {
    let subscription: Subscription | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const apply = (event: StoreEvent) => {
      if (event.kind === "put") {
        if (this.#setApi(event.entry)) this.#publish(event.entry.key.slice("groups/".length));
        return;
      }
      const group = event.key.slice("groups/".length);
      const current = this.#api.get(group);
      if (current && current.modRevision < event.revision) {
        this.#api.delete(group);
        this.#publish(group);
      }
    };
    const start = (from: number) => {
      subscription = this.store.watch("groups/", from).subscribe({
        next: (event) => {
          try {
            apply(event);
          } catch (error) {
            // A change this replica cannot serve (its own file config differs): the last good snapshot keeps serving.
            onProblem(error);
          }
        },
        error: (error: unknown) => {
          onProblem(error);
          resync();
        },
      });
    };
    const resync = () => {
      if (stopped) return;
      this.#relist().then(
        (revision) => !stopped && start(revision),
        // The store is away: try again shortly.
        () => {
          if (!stopped) timer = setTimeout(resync, 1000).unref();
        },
      );
    };
    start(this.#loadedRevision);
    return () => {
      stopped = true;
      clearTimeout(timer);
      subscription?.unsubscribe();
    };
  }

  /** Lists the store again and applies what changed since (watch lost its history). */
  async #relist(): Promise<number> {
    const listing = await this.store.list("groups/");
    const seen = new Set<string>();
    for (const entry of listing.entries) {
      const group = entry.key.slice("groups/".length);
      seen.add(group);
      try {
        if (this.#setApi(entry)) this.#publish(group);
      } catch {
        // As in follow: the last good snapshot keeps serving.
      }
    }
    for (const group of [...this.#api.keys()]) {
      if (!seen.has(group)) {
        this.#api.delete(group);
        this.#publish(group);
      }
    }
    this.#loadedRevision = listing.revision;
    return listing.revision;
  }

  /** Takes a stored group if it is newer than what this replica holds; true when it was. */
  #setApi(entry: StoreEntry): boolean {
    const group = entry.key.slice("groups/".length);
    const current = this.#api.get(group);
    if (current && current.modRevision >= entry.modRevision) return false;
    const stored = entry.value as unknown as StoredGroup;
    const parsed = parseList(stored.resources);
    this.#api.set(group, {
      version: stored.version,
      modRevision: entry.modRevision,
      resources: parsed.resources,
      history: [...stored.history],
    });
    return true;
  }

  /** Replaces the file config; a group whose merged config is invalid keeps serving its last good snapshot. */
  setFiles(files: Map<string, GroupResources>): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    for (const [group, resources] of files)
      problems.push(...this.#check(merge(resources, this.#api.get(group)?.resources)).map((p) => ({ ...p, group })));
    if (problems.length > 0) return problems;
    const before = this.#files;
    this.#files = files;
    this.#filesGeneration++;
    for (const group of new Set([...before.keys(), ...files.keys(), ...this.#api.keys()])) this.#publish(group);
    return [];
  }

  groups(): string[] {
    return [...new Set([...this.#files.keys(), ...this.#api.keys()])].sort();
  }

  /** The merged resources of a group as Envoy JSON. */
  dump(group: string): { version: string; resources: JsonValue[] } | undefined {
    const snapshot = this.cache.getSnapshot(group);
    if (!snapshot) return undefined;
    const merged = merge(this.#files.get(group), this.#api.get(group)?.resources);
    return { version: snapshot.version, resources: [...merged.values()].flatMap((m) => [...m.values()].map((r) => r.json)) };
  }

  /** API-owned resources of a group, with the store revision to pass back for compare-and-set. */
  apiResources(group: string) {
    return this.#api.get(group);
  }

  /**
   * Changes the API-owned resources of a group: `replace` (PUT) replaces them all,
   * else `upsert` and `remove` (PATCH, DELETE). Validated against the merged
   * config; with `dryRun` nothing is applied. Returns the diff.
   */
  async change(
    group: string,
    change: {
      replace?: unknown[];
      upsert?: unknown[];
      remove?: { type: string; name: string }[];
      dryRun?: boolean;
      expectedRevision?: number;
    },
  ): Promise<ConfigDiff & { version?: number }> {
    if (this.#canaries.has(group) && !change.dryRun) throw new CanaryRunning(group);
    const planned = this.plan(group, change);
    const diff = { added: planned.added, changed: planned.changed, removed: planned.removed };
    if (change.dryRun) return diff;
    return { ...diff, version: await this.#commit(group, planned.next, planned.expectedRevision) };
  }

  /** Validates a change against the group's merged config and computes its diff; throws {@link ConfigRefused} with every problem. */
  plan(
    group: string,
    change: { replace?: unknown[]; upsert?: unknown[]; remove?: { type: string; name: string }[]; expectedRevision?: number },
  ): PlannedChange {
    const current = this.#api.get(group);
    const next: GroupResources = change.replace ? new Map() : cloneGroup(current?.resources);
    const problems: ConfigProblem[] = [];
    const incoming = parseList(change.replace ?? change.upsert ?? []);
    problems.push(...incoming.problems);
    for (const r of incoming.resources.values()) for (const [, res] of r) setIn(next, res);
    for (const { type, name } of change.remove ?? []) {
      const byName = next.get(type);
      if (!byName?.delete(name)) problems.push({ typeUrl: type, resource: name, message: "no such API-owned resource in this group" });
    }
    if (problems.length === 0) problems.push(...this.#check(merge(this.#files.get(group), next)));
    if (problems.length > 0) throw new ConfigRefused(problems);
    const diff = diffOf(merge(this.#files.get(group), current?.resources), merge(this.#files.get(group), next));
    return {
      ...diff,
      group,
      next,
      expectedRevision: change.expectedRevision ?? current?.modRevision ?? 0,
      version: (current?.version ?? 0) + 1,
    };
  }

  /** Versions kept for rollback, newest first. */
  history(group: string) {
    const api = this.#api.get(group);
    return api ? [{ version: api.version, current: true }, ...api.history.map((h) => ({ version: h.version, at: h.at }))] : [];
  }

  /** The API resources of a kept version (the current one included); undefined when not kept. */
  versionResources(group: string, version: number): JsonValue[] | undefined {
    const api = this.#api.get(group);
    if (!api) return undefined;
    if (api.version === version) return jsonOf(api.resources);
    return api.history.find((h) => h.version === version)?.resources;
  }

  /**
   * What changed in the API resources of a group from one kept version to
   * another, each resource as Envoy JSON before and after; undefined when
   * either version is not kept.
   */
  diffVersions(group: string, from: number, to: number): VersionDiff | undefined {
    const before = this.versionResources(group, from);
    const after = this.versionResources(group, to);
    if (!before || !after) return undefined;
    const byLabel = (list: JsonValue[]) => {
      const out = new Map<string, JsonValue>();
      for (const r of list) {
        const parsed = parseResource(r, undefined, { message: "" });
        if ("json" in parsed) out.set(label(parsed), parsed.json);
      }
      return out;
    };
    const a = byLabel(before);
    const b = byLabel(after);
    return {
      group,
      from,
      to,
      added: [...b].filter(([k]) => !a.has(k)).map(([resource, json]) => ({ resource, after: json })),
      changed: [...b]
        .filter(([k, json]) => a.has(k) && JSON.stringify(a.get(k)) !== JSON.stringify(json))
        .map(([resource, json]) => ({ resource, before: a.get(resource) as JsonValue, after: json })),
      removed: [...a].filter(([k]) => !b.has(k)).map(([resource, json]) => ({ resource, before: json })),
    };
  }

  /** Makes an earlier version current again (as a new version). */
  async rollback(group: string, version: number): Promise<ConfigDiff & { version?: number }> {
    const old = this.#api.get(group)?.history.find((h) => h.version === version);
    if (!old) throw new ConfigRefused([{ message: `group ${group} has no kept version ${version}` }]);
    return this.change(group, { replace: old.resources });
  }

  async #commit(group: string, resources: GroupResources, expectedRevision: number): Promise<number> {
    const current = this.#api.get(group);
    const version = (current?.version ?? 0) + 1;
    const history = current
      ? [{ version: current.version, resources: jsonOf(current.resources), at: new Date().toISOString() }, ...current.history].slice(
          0,
          this.historyLimit,
        )
      : [];
    const value: StoredGroup = { version, resources: jsonOf(resources), history };
    // Durable first (fsync, or a quorum), served second: a restart never loses what a client was told.
    const modRevision = await this.store.put(key(group), value as unknown as JsonValue, { expectedRevision });
    // A replica following a shared store may already have applied this write, or a later one, from its watch.
    if ((this.#api.get(group)?.modRevision ?? 0) < modRevision) {
      this.#api.set(group, { version, modRevision, resources, history });
      this.#publish(group);
    }
    return version;
  }

  #check(resources: GroupResources): ConfigProblem[] {
    return checkGroup(resources, this.#validator);
  }

  #publish(group: string): void {
    const merged = merge(this.#files.get(group), this.#api.get(group)?.resources);
    // A group emptied by the API gets an empty snapshot (proxies drop what they had), not none (they would keep it).
    if (merged.size === 0 && !this.cache.getSnapshot(group)) return;
    this.cache.setSnapshot(group, {
      version: this.versionLabel(this.#api.get(group)?.version ?? 0),
      resources: toSnapshot(merged) as never,
    });
    this.changes.next(group);
  }
}

/**
 * Checks the merged resources of one group as a snapshot (field rules of the
 * validator's profile, and references between resources); every problem found.
 */
export function checkGroup(resources: GroupResources, validator: SnapshotValidator): ConfigProblem[] {
  const input = Object.fromEntries([...resources].map(([url, byName]) => [url, [...byName.values()].map((r) => r.message)]));
  return (validator(input) as SnapshotViolation[]).map((v) => ({
    ...(v.typeUrl === undefined ? {} : { typeUrl: v.typeUrl }),
    ...(v.name === undefined ? {} : { resource: v.name }),
    ...(v.path ? { path: v.path } : {}),
    message: v.message,
  }));
}

function toSnapshot(merged: GroupResources) {
  return Object.fromEntries([...merged].map(([url, byName]) => [url, [...byName.values()].map((r) => r.message)]));
}

/** A selector that throws selects nothing (a node must never fail to get a group). */
function safeSelects(selects: (node: Node) => boolean, node: Node): boolean {
  try {
    return selects(node) === true;
  } catch {
    return false;
  }
}

function parseList(list: readonly unknown[]): { resources: GroupResources; problems: ConfigProblem[] } {
  const resources: GroupResources = new Map();
  const problems: ConfigProblem[] = [];
  list.forEach((raw, i) => {
    const parsed = parseResource(raw, undefined, { message: "" });
    if ("json" in parsed) setIn(resources, parsed);
    else problems.push({ ...parsed, path: parsed.path ? `resources[${i}].${parsed.path}` : `resources[${i}]` });
  });
  return { resources, problems };
}

function setIn(into: GroupResources, r: ParsedResource): void {
  let byName = into.get(r.typeUrl);
  if (!byName) {
    byName = new Map();
    into.set(r.typeUrl, byName);
  }
  byName.set(r.name, r);
}

function cloneGroup(g: GroupResources | undefined): GroupResources {
  return new Map([...(g ?? [])].map(([url, byName]) => [url, new Map(byName)]));
}

/** File resources overlaid by API resources (same type and name: the API's wins). */
function merge(files: GroupResources | undefined, api: GroupResources | undefined): GroupResources {
  const out = cloneGroup(files);
  for (const byName of api?.values() ?? []) for (const r of byName.values()) setIn(out, r);
  for (const [url, byName] of out) if (byName.size === 0) out.delete(url);
  return out;
}

function jsonOf(g: GroupResources): JsonValue[] {
  return [...g.values()].flatMap((m) => [...m.values()].map((r) => r.json));
}

function diffOf(before: GroupResources, after: GroupResources): ConfigDiff {
  const flat = (g: GroupResources) =>
    new Map([...g.values()].flatMap((m) => [...m.values()].map((r) => [label(r), JSON.stringify(r.json)] as const)));
  const a = flat(before);
  const b = flat(after);
  return {
    added: [...b.keys()].filter((k) => !a.has(k)),
    changed: [...b.keys()].filter((k) => a.has(k) && a.get(k) !== b.get(k)),
    removed: [...a.keys()].filter((k) => !b.has(k)),
  };
}
