/**
 * Open watches of one resource set, indexed by the names they subscribe to,
 * so a change wakes only the watches subscribed to what changed plus the
 * wildcard ones.
 *
 * Reentrancy: `notify` evaluates one watch at a time and leaves the others
 * indexed until they are answered, so a subscriber that changes the cache
 * from inside `next()` triggers a nested `notify` that sees every watch still
 * waiting, with the changes added to their pending lists.
 */
export interface IndexedWatch {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
  /** False once answered or cancelled. */
  active: boolean;
  /**
   * Names changed since the watch was last evaluated (kept only by watches
   * that can use it: delta); `undefined` means "anything may have changed".
   */
  pending: PendingChanges | undefined;
  /** Computes the response for the pending changes; true when it answered (and deactivated itself). */
  wake(): boolean;
  /** Emits a TTL heartbeat if one is due; true when it answered. */
  heartbeat(): boolean;
}

/** Change batches a held watch has not looked at yet (shared, never mutated), with their total size. */
export interface PendingChanges {
  readonly batches: ReadonlySet<string>[];
  size: number;
}

/**
 * The pending changes of a watch that has seen every change so far: one shared, frozen
 * object, replaced (never filled) by the first change that arrives. A delta watch waits after
 * every response, and a new empty record each time was two objects per wait.
 */
export const NO_PENDING_CHANGES: PendingChanges = Object.freeze({
  batches: Object.freeze([]) as unknown as ReadonlySet<string>[],
  size: 0,
}) as PendingChanges;

/** Past this many pending names a watch re-evaluates everything instead. */
const PENDING_LIMIT = 4096;

/**
 * Watches naming more than this many resources are not indexed name by name
 * (an Envoy naming the endpoints of 1,000 clusters would cost 1,000 set
 * insertions per watch); a change tests them directly, stopping at the first
 * name they share with it.
 */
const BROAD_WATCH = 32;

const WILDCARD = Symbol("wildcard");
const BROAD = Symbol("broad");

/**
 * How a watch was registered: wildcard, broad, or the names it was indexed
 * under (a copy: the server may change its own set for the next request
 * while this watch is still registered, and removal must undo exactly what
 * adding did).
 */
type Registration = typeof WILDCARD | typeof BROAD | readonly string[];

export class WatchIndex {
  readonly #wildcard = new Set<IndexedWatch>();
  readonly #broad = new Set<IndexedWatch>();
  readonly #byName = new Map<string, Set<IndexedWatch>>();
  readonly #all = new Map<IndexedWatch, Registration>();

  get size(): number {
    return this.#all.size;
  }

  add(watch: IndexedWatch): void {
    if (this.#all.has(watch)) return;
    if (watch.wildcard) {
      this.#all.set(watch, WILDCARD);
      this.#wildcard.add(watch);
      return;
    }
    if (watch.names.size > BROAD_WATCH) {
      this.#all.set(watch, BROAD);
      this.#broad.add(watch);
      return;
    }
    const names = [...watch.names];
    this.#all.set(watch, names);
    for (const name of names) {
      let set = this.#byName.get(name);
      if (!set) {
        set = new Set();
        this.#byName.set(name, set);
      }
      set.add(watch);
    }
  }

  remove(watch: IndexedWatch): void {
    const registration = this.#all.get(watch);
    if (registration === undefined) return;
    this.#all.delete(watch);
    if (registration === WILDCARD) {
      this.#wildcard.delete(watch);
    } else if (registration === BROAD) {
      this.#broad.delete(watch);
    } else {
      for (const name of registration) {
        const set = this.#byName.get(name);
        if (set) {
          set.delete(watch);
          if (set.size === 0) this.#byName.delete(name);
        }
      }
    }
  }

  /** Wakes the watches affected by `changed` (names), or every watch for `"all"`. */
  notify(changed: Iterable<string> | "all"): void {
    const affected = new Set<IndexedWatch>();
    if (changed === "all") {
      for (const w of this.#all.keys()) {
        w.pending = undefined;
        affected.add(w);
      }
    } else {
      const names = changed instanceof Set ? (changed as Set<string>) : new Set(changed);
      if (names.size === 0) return;
      for (const w of this.#wildcard) affected.add(w);
      for (const w of this.#broad) if (intersects(names, w.names)) affected.add(w);
      for (const name of names) {
        const set = this.#byName.get(name);
        if (set) for (const w of set) affected.add(w);
      }
      for (const w of affected) {
        const pending = w.pending;
        if (!pending) continue;
        if (pending.size + names.size > PENDING_LIMIT) {
          w.pending = undefined;
        } else if (pending === NO_PENDING_CHANGES) {
          w.pending = { batches: [names], size: names.size };
        } else {
          pending.batches.push(names);
          pending.size += names.size;
        }
      }
    }
    for (const w of affected) {
      if (!w.active || !this.#all.has(w)) continue;
      if (w.wake()) this.remove(w);
    }
  }

  /** Offers every open watch a heartbeat. */
  heartbeat(): void {
    for (const w of [...this.#all.keys()]) {
      if (w.active && w.heartbeat()) this.remove(w);
    }
  }
}

function intersects(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const name of small) if (large.has(name)) return true;
  return false;
}
