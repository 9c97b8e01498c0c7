/**
 * Open watches of one resource set, indexed by the names they subscribe to,
 * so a change wakes only the watches subscribed to what changed plus the
 * wildcard ones.
 *
 * Reentrancy: `notify` evaluates one watch at a time and leaves the others
 * indexed until they are answered, so a subscriber that changes the cache
 * from inside `next()` triggers a nested `notify` that sees every watch still
 * waiting, with the changes merged into their pending sets.
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
  pending: Set<string> | undefined;
  /** Computes the response for the pending changes; true when it answered (and deactivated itself). */
  wake(): boolean;
  /** Emits a TTL heartbeat if one is due; true when it answered. */
  heartbeat(): boolean;
}

/** Past this many pending names a watch re-evaluates everything instead. */
const PENDING_LIMIT = 4096;

export class WatchIndex {
  readonly #wildcard = new Set<IndexedWatch>();
  readonly #byName = new Map<string, Set<IndexedWatch>>();
  readonly #all = new Set<IndexedWatch>();

  get size(): number {
    return this.#all.size;
  }

  add(watch: IndexedWatch): void {
    this.#all.add(watch);
    if (watch.wildcard) this.#wildcard.add(watch);
    for (const name of watch.names) {
      let set = this.#byName.get(name);
      if (!set) {
        set = new Set();
        this.#byName.set(name, set);
      }
      set.add(watch);
    }
  }

  remove(watch: IndexedWatch): void {
    if (!this.#all.delete(watch)) return;
    this.#wildcard.delete(watch);
    for (const name of watch.names) {
      const set = this.#byName.get(name);
      if (set) {
        set.delete(watch);
        if (set.size === 0) this.#byName.delete(name);
      }
    }
  }

  /** Wakes the watches affected by `changed` (names), or every watch for `"all"`. */
  notify(changed: Iterable<string> | "all"): void {
    const affected = new Set<IndexedWatch>();
    if (changed === "all") {
      for (const w of this.#all) {
        w.pending = undefined;
        affected.add(w);
      }
    } else {
      const names = changed instanceof Set ? (changed as Set<string>) : new Set(changed);
      if (names.size === 0) return;
      for (const w of this.#wildcard) affected.add(w);
      for (const name of names) {
        const set = this.#byName.get(name);
        if (set) for (const w of set) affected.add(w);
      }
      for (const w of affected) {
        const pending = w.pending;
        if (!pending) continue;
        if (pending.size + names.size > PENDING_LIMIT) w.pending = undefined;
        else for (const name of names) pending.add(name);
      }
    }
    for (const w of affected) {
      if (!w.active || !this.#all.has(w)) continue;
      if (w.wake()) this.remove(w);
    }
  }

  /** Offers every open watch a heartbeat. */
  heartbeat(): void {
    for (const w of [...this.#all]) {
      if (w.active && w.heartbeat()) this.remove(w);
    }
  }
}
