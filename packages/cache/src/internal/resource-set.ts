import type { ResourceEntry } from "../types.js";
import { addLanes, emptyLanes, type Lanes, lanesVersion, memberLanes } from "./digest.js";
import { digestOf } from "./labels.js";

/** A read-only view over the resources of one type, as the answer functions need it. */
export interface ResourceSetView {
  readonly typeUrl: string;
  /** Version of the whole set (order-independent content digest). */
  readonly version: string;
  readonly size: number;
  get(name: string): ResourceEntry | undefined;
  /** Every entry; the same array until the set changes. */
  all(): readonly ResourceEntry[];
  names(): Iterable<string>;
  /**
   * Name to version of every entry: one map per state of the set, built on
   * first use and never changed after (a change of the set makes a new one).
   * Delta answers carry it so that a server can share it between the streams
   * that hold exactly this state (see `DeltaResponse.versions`). Optional: a
   * set whose changes must cost only what changed (LinearCache) has none,
   * since building it is a pass over the whole set per change.
   */
  versions?(): ReadonlyMap<string, string>;
}

/** The name -> version map of some entries (for `ResourceSetView.versions`). */
export function versionsOf(entries: Iterable<ResourceEntry>): ReadonlyMap<string, string> {
  const versions = new Map<string, string>();
  for (const entry of entries) versions.set(entry.name, entry.version);
  return versions;
}

const laneCache = new WeakMap<ResourceEntry, Lanes>();

/** The set-digest contribution of one entry (computed once per entry). */
export function entryLanes(entry: ResourceEntry): Lanes {
  let lanes = laneCache.get(entry);
  if (!lanes) {
    // The digest part only: a labelled entry (see labels.ts) counts as its content.
    const version = digestOf(entry.version);
    lanes = memberLanes(entry.name, entry.ttlMs === undefined ? version : `${version}/ttl=${entry.ttlMs}`);
    laneCache.set(entry, lanes);
  }
  return lanes;
}

/** True when two entries would be sent identically (same content and TTL), whichever store made them. */
export function sameEntry(a: ResourceEntry | undefined, b: ResourceEntry | undefined): boolean {
  if (a === b) return true;
  return a !== undefined && b !== undefined && a.name === b.name && a.version === b.version && a.ttlMs === b.ttlMs;
}

/** The version of a set of entries (order-independent). */
export function versionOf(entries: Iterable<ResourceEntry>): string {
  const lanes = emptyLanes();
  let size = 0;
  for (const entry of entries) {
    addLanes(lanes, entryLanes(entry), 1);
    size++;
  }
  return lanesVersion(lanes, size);
}

/** Parses a set version back into lanes and size (for O(1) incremental updates). */
export function parseVersion(version: string): { lanes: Lanes; size: number } {
  const lanes: Lanes = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) lanes[i] = Number.parseInt(version.slice(i * 8, i * 8 + 8), 16) >>> 0;
  return { lanes, size: Number.parseInt(version.slice(33), 16) };
}

/** Applies removals and additions to a set version without touching the other members. */
export function updateVersion(version: string, removed: Iterable<ResourceEntry>, added: Iterable<ResourceEntry>): string {
  const { lanes, size } = parseVersion(version);
  let n = size;
  for (const entry of removed) {
    addLanes(lanes, entryLanes(entry), -1);
    n--;
  }
  for (const entry of added) {
    addLanes(lanes, entryLanes(entry), 1);
    n++;
  }
  return lanesVersion(lanes, n);
}
