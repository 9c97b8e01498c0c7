import { ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { SnapshotViolation } from "@xdskit/resources";
import type { EntryStore, ResourceInput } from "./entry-store.js";
import { produce } from "./internal/immer.js";
import { type ResourceSetView, sameEntry, updateVersion, versionOf, versionsOf } from "./internal/resource-set.js";
import type { ResourceEntry } from "./types.js";

/** The resources of one type in a snapshot, frozen. */
export interface TypeResources {
  /** Content version of the type: a digest of every (name, entry version); equal content, equal version. */
  readonly version: string;
  /** Entries by name (a null-prototype object). */
  readonly entries: { readonly [name: string]: ResourceEntry };
}

/**
 * A frozen, immutable configuration for a node group: resources by type URL.
 * Make one with `SnapshotCache.createSnapshot` (or pass a {@link SnapshotInput}
 * to `setSnapshot`). One snapshot object may be set on many groups: they then
 * share it, entries and all.
 */
export interface Snapshot {
  /** The snapshot's label, never empty; delta responses carry it as `system_version_info`. */
  readonly version: string;
  /** By type URL. */
  readonly resources: { readonly [typeUrl: string]: TypeResources };
}

/** What `setSnapshot`/`createSnapshot` accept: a version and resources by type URL. */
export interface SnapshotInput {
  /** Non-empty label for this configuration (e.g. a counter or a git sha). */
  readonly version: string;
  /** Messages, encodings or entries, by type URL. Names must be unique per type. */
  readonly resources: { readonly [typeUrl: string]: readonly ResourceInput[] };
}

/** A partial change for `updateResources`: upserts and removals by type URL. */
export interface ResourceUpdate {
  /** The new snapshot's label, never empty. */
  readonly version: string;
  /** Resources to add or replace, by type URL. */
  readonly upsert?: { readonly [typeUrl: string]: readonly ResourceInput[] };
  /** Names to remove, by type URL (unknown names are ignored). */
  readonly remove?: { readonly [typeUrl: string]: readonly string[] };
}

/** One problem found in a snapshot: the `SnapshotViolation` of `@xdskit/resources` (one shape for validators and the cache). */
export type { SnapshotViolation };

/**
 * A refused snapshot: `code` is `XDSKIT_INVALID_SNAPSHOT` and `violations`
 * lists every problem (not only the first).
 */
export class InvalidSnapshotError extends XdskitError {
  readonly violations: readonly SnapshotViolation[];
  constructor(message: string, violations: readonly SnapshotViolation[], context: { nodeId?: string } = {}) {
    const list = violations
      .slice(0, 20)
      .map((v) => `\n  - ${describeViolation(v)}`)
      .join("");
    const more = violations.length > 20 ? `\n  ... and ${violations.length - 20} more (see .violations)` : "";
    super(ErrorCode.INVALID_SNAPSHOT, `${message}${list}${more}`, context);
    this.name = "InvalidSnapshotError";
    this.violations = Object.freeze([...violations]);
  }
}

/** One violation on one line: where (type URL, name, path — whichever are known), then what. */
function describeViolation(v: SnapshotViolation): string {
  const where = [v.typeUrl, v.name === undefined ? undefined : `"${v.name}"`].filter(Boolean).join(" ");
  if (!where) return v.path ? `${v.path}: ${v.message}` : v.message;
  return `${where}${v.path ? ` at ${v.path}` : ""}: ${v.message}`;
}

const built = new WeakSet<Snapshot>();
// Keyed by the resources object and then the type URL: one frozen empty
// TypeResources is shared by every type a snapshot lacks, and each of those
// types needs its own view.
const views = new WeakMap<TypeResources, Map<string, ResourceSetView>>();

/** True when the object was made by this package's snapshot builder. */
export function isBuiltSnapshot(value: unknown): value is Snapshot {
  return typeof value === "object" && value !== null && built.has(value as Snapshot);
}

/** A read-only set view over one type of a snapshot (cached per object and type URL). */
export function viewOf(typeUrl: string, resources: TypeResources): ResourceSetView {
  let byType = views.get(resources);
  if (!byType) {
    byType = new Map();
    views.set(resources, byType);
  }
  let view = byType.get(typeUrl);
  if (!view) {
    let cached: readonly ResourceEntry[] | undefined;
    let byName: Map<string, ResourceEntry> | undefined;
    let keys: readonly string[] | undefined;
    let versions: ReadonlyMap<string, string> | undefined;
    const entries = resources.entries;
    const all = (): readonly ResourceEntry[] => {
      cached ??= Object.freeze(Object.values(entries));
      return cached;
    };
    view = {
      typeUrl,
      version: resources.version,
      get size() {
        return all().length;
      },
      get: (name) => {
        byName ??= new Map(Object.entries(entries));
        return byName.get(name);
      },
      all,
      names: () => {
        keys ??= Object.freeze(Object.keys(entries));
        return keys;
      },
      versions: () => {
        versions ??= versionsOf(all());
        return versions;
      },
    };
    byType.set(typeUrl, view);
  }
  return view;
}

function checkVersion(version: unknown, where: string): void {
  if (version === "") {
    throw new InvalidSnapshotError(
      `${where}: the snapshot version must be a non-empty string; got "" (a fresh client also sends an empty version, so a snapshot versioned "" would never be sent)`,
      [{ path: "version", message: 'expected a non-empty string, got ""' }],
    );
  }
  if (typeof version !== "string") {
    const got = version === null ? "null" : typeof version === "object" ? "an object" : `${typeof version} ${String(version)}`;
    const fix =
      typeof version === "number" || typeof version === "bigint" ? `: write version: "${String(version)}"` : ' such as "1" or "release-42"';
    throw new InvalidSnapshotError(`${where}: the snapshot version must be a string; got ${got}${fix}`, [
      { path: "version", message: `expected a non-empty string, got ${got}` },
    ]);
  }
}

function toEntries(
  store: EntryStore,
  typeUrl: string,
  list: readonly ResourceInput[],
  violations: SnapshotViolation[],
): Map<string, ResourceEntry> {
  const out = new Map<string, ResourceEntry>();
  if (!Array.isArray(list)) {
    violations.push({ typeUrl, message: `resources must be an array; got ${typeof list}` });
    return out;
  }
  for (const item of list) {
    let entry: ResourceEntry;
    try {
      entry = store.entry(typeUrl, item);
    } catch (error) {
      if (!XdskitError.is(error)) throw error;
      violations.push({ typeUrl, ...(error.resourceName ? { name: error.resourceName } : {}), message: error.message });
      continue;
    }
    if (out.has(entry.name)) {
      violations.push({ typeUrl, name: entry.name, message: "two resources of this type have this name (clients NACK duplicates)" });
      continue;
    }
    out.set(entry.name, entry);
  }
  return out;
}

function freezeType(entries: Map<string, ResourceEntry>, version = versionOf(entries.values())): TypeResources {
  const record = Object.create(null) as Record<string, ResourceEntry>;
  for (const [name, entry] of entries) record[name] = entry;
  return Object.freeze({ version, entries: Object.freeze(record) });
}

/**
 * Builds a frozen snapshot; types whose content equals `previous`'s keep
 * `previous`'s objects (so groups and snapshots share them).
 * @throws InvalidSnapshotError for an empty version, duplicate names, or resources that cannot be encoded.
 */
export function buildSnapshot(store: EntryStore, input: SnapshotInput, previous?: Snapshot): Snapshot {
  if (typeof input !== "object" || input === null) {
    throw new InvalidSnapshotError(`snapshot must be an object { version, resources }; got ${input === null ? "null" : typeof input}`, [
      { message: "not an object" },
    ]);
  }
  checkVersion(input.version, "snapshot");
  if (typeof input.resources !== "object" || input.resources === null) {
    throw new InvalidSnapshotError(`snapshot "${input.version}": resources must be an object of type URL -> resources`, [
      { message: "resources is not an object" },
    ]);
  }
  const violations: SnapshotViolation[] = [];
  const types = Object.create(null) as Record<string, TypeResources>;
  for (const [typeUrl, list] of Object.entries(input.resources)) {
    const entries = toEntries(store, typeUrl, list, violations);
    const version = versionOf(entries.values());
    const old = previous?.resources[typeUrl];
    types[typeUrl] = old && old.version === version ? old : freezeType(entries, version);
  }
  if (violations.length > 0) throw new InvalidSnapshotError(`snapshot "${input.version}" is refused`, violations);
  const snapshot: Snapshot = Object.freeze({ version: input.version, resources: Object.freeze(types) });
  built.add(snapshot);
  return snapshot;
}

const diffs = new WeakMap<TypeResources, WeakMap<TypeResources, Set<string>>>();

/** Names whose entries differ between two versions of a type; remembered per pair, so many groups moving between the same objects diff once. */
function diffType(a: TypeResources | undefined, b: TypeResources | undefined): Set<string> {
  if (a && b) {
    const cached = diffs.get(a)?.get(b);
    if (cached) return cached;
  }
  const names = new Set<string>();
  const ae = a?.entries ?? {};
  const be = b?.entries ?? {};
  for (const name in ae) if (!sameEntry(ae[name], Object.hasOwn(be, name) ? be[name] : undefined)) names.add(name);
  for (const name in be) if (!Object.hasOwn(ae, name)) names.add(name);
  if (a && b) {
    let inner = diffs.get(a);
    if (!inner) {
      inner = new WeakMap();
      diffs.set(a, inner);
    }
    inner.set(b, names);
  }
  return names;
}

/** Names changed per type between two snapshots (types with equal versions are skipped). */
export function diffSnapshots(before: Snapshot | undefined, after: Snapshot | undefined): Map<string, Set<string>> {
  const changed = new Map<string, Set<string>>();
  const urls = new Set([...Object.keys(before?.resources ?? {}), ...Object.keys(after?.resources ?? {})]);
  for (const typeUrl of urls) {
    const a = before?.resources[typeUrl];
    const b = after?.resources[typeUrl];
    if (a === b || (a && b && a.version === b.version)) continue;
    // A type appearing or disappearing wakes wildcard watches even when empty.
    changed.set(typeUrl, diffType(a, b));
  }
  return changed;
}

/**
 * Applies a partial update with immer: unchanged types and entries keep their
 * objects; a type's version is updated from the changed entries only.
 * Returns the new snapshot and the names changed per type.
 */
export function applyUpdate(
  store: EntryStore,
  base: Snapshot | undefined,
  update: ResourceUpdate,
): { snapshot: Snapshot; changed: Map<string, Set<string>> } {
  if (typeof update !== "object" || update === null) {
    throw new InvalidSnapshotError(
      `updateResources: expected { version, upsert?, remove? }; got ${update === null ? "null" : typeof update}`,
      [{ message: "not an object" }],
    );
  }
  checkVersion(update.version, "updateResources");
  const violations: SnapshotViolation[] = [];
  const upserts = new Map<string, Map<string, ResourceEntry>>();
  for (const [typeUrl, list] of Object.entries(update.upsert ?? {})) upserts.set(typeUrl, toEntries(store, typeUrl, list, violations));
  const removes = new Map<string, readonly string[]>();
  for (const [typeUrl, names] of Object.entries(update.remove ?? {})) {
    if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
      violations.push({ typeUrl, message: "remove must list resource names (strings)" });
      continue;
    }
    removes.set(typeUrl, names);
  }
  if (violations.length > 0) throw new InvalidSnapshotError(`update "${update.version}" is refused`, violations);

  const changed = new Map<string, Set<string>>();
  const start: Snapshot = base ?? { version: update.version, resources: Object.create(null) };
  const nextTypes = new Map<string, TypeResources>();
  for (const typeUrl of new Set([...upserts.keys(), ...removes.keys()])) {
    const current = start.resources[typeUrl];
    const before = current?.entries ?? {};
    const removed: ResourceEntry[] = [];
    const added: ResourceEntry[] = [];
    const names = new Set<string>();
    for (const name of removes.get(typeUrl) ?? []) {
      if (Object.hasOwn(before, name) && !upserts.get(typeUrl)?.has(name) && !names.has(name)) {
        removed.push(before[name]!);
        names.add(name);
      }
    }
    for (const [name, entry] of upserts.get(typeUrl) ?? []) {
      const old = Object.hasOwn(before, name) ? before[name] : undefined;
      if (sameEntry(old, entry)) continue;
      if (old) removed.push(old);
      added.push(entry);
      names.add(name);
    }
    if (names.size === 0 && current) continue;
    changed.set(typeUrl, names);
    nextTypes.set(typeUrl, updatedType(current, removed, added));
  }
  const next = produce(start, (draft) => {
    (draft as { version: string }).version = update.version;
    for (const [typeUrl, t] of nextTypes) (draft.resources as Record<string, TypeResources>)[typeUrl] = t;
  });
  built.add(next);
  return { snapshot: next, changed };
}

/** Results of recent updates per base type, so many groups applying the same change share one result. */
const updates = new WeakMap<TypeResources, Map<string, TypeResources>>();
const UPDATE_MEMO = 16;

/** A type with entries removed and added: immer keeps every unchanged entry; the version is updated from the changes only. */
function updatedType(
  current: TypeResources | undefined,
  removed: readonly ResourceEntry[],
  added: readonly ResourceEntry[],
): TypeResources {
  const version = updateVersion(current?.version ?? versionOf([]), removed, added);
  if (!current) {
    const map = new Map<string, ResourceEntry>();
    for (const e of added) map.set(e.name, e);
    return freezeType(map, version);
  }
  const key = `${removed.map((e) => e.name).join("\0")}|${added.map((e) => `${e.name}\0${e.version}\0${e.ttlMs ?? ""}`).join("\0")}`;
  let memo = updates.get(current);
  const found = memo?.get(key);
  if (found) return found;
  const addedNames = new Set(added.map((a) => a.name));
  const result = produce(current, (draft) => {
    const t = draft as { version: string; entries: Record<string, ResourceEntry> };
    t.version = version;
    for (const e of removed) if (!addedNames.has(e.name)) delete t.entries[e.name];
    for (const e of added) t.entries[e.name] = e;
  });
  if (!memo) {
    memo = new Map();
    updates.set(current, memo);
  }
  if (memo.size >= UPDATE_MEMO) memo.delete(memo.keys().next().value!);
  memo.set(key, result);
  return result;
}
