// What a delta client holds (name -> version), kept as a shared map plus this
// stream's differences from it.
//
// After its initial sync, every stream of a fleet holds exactly the versions
// of the same cache state, e.g. the 100 clusters and 100 endpoint assignments
// of a snapshot. A Map per stream and type repeated those 200 entries in every
// stream (7 KiB of the 28 KiB an idle delta stream cost). Caches now hand out,
// with each delta answer, the name -> version map of the state it was computed
// from (`DeltaResponse.versions`, one immutable map per state, shared by all
// its answers). A stream keeps a reference to such a map (`base`) and, only
// where it differs, an overlay: names it holds in another version, or does
// not hold although the base has them. After each response the stream moves
// onto the answer's map when that leaves no more differences than it keeps:
// a stream sent exactly a state's versions holds no overlay at all, and one
// endpoint changed costs one overlay entry until the next answer, from the
// state that has it, collapses it again.
//
// What the protocol sees is unchanged: `get`, `has`, `size` and iteration
// answer exactly what a Map updated by the same `set`/`delete` calls would
// (client-versions.test.ts checks this against a Map for random operations).

/** The base of a stream that holds nothing yet. */
const NOTHING: ReadonlyMap<string, string> = new Map();

/** Overlay value: not held, although the base has the name. */
const ABSENT = null;

/**
 * The names whose version differs between two shared maps (in either, not
 * both, or both with other versions), computed once per pair and kept while
 * both maps live: every stream moving from one state to the next asks for
 * the same pair.
 */
const differences = new WeakMap<ReadonlyMap<string, string>, WeakMap<ReadonlyMap<string, string>, readonly string[]>>();

export function namesDiffering(from: ReadonlyMap<string, string>, to: ReadonlyMap<string, string>): readonly string[] {
  let byTarget = differences.get(from);
  if (byTarget === undefined) {
    byTarget = new WeakMap();
    differences.set(from, byTarget);
  }
  let names = byTarget.get(to);
  if (names === undefined) {
    const list: string[] = [];
    for (const [name, version] of to) if (from.get(name) !== version) list.push(name);
    for (const name of from.keys()) if (!to.has(name)) list.push(name);
    names = Object.freeze(list);
    byTarget.set(to, names);
  }
  return names;
}

/**
 * Name -> version of what the server believes one delta client holds, for
 * one type. A `ReadonlyMap` to the cache; changed only by the stream.
 */
export class ClientVersions implements ReadonlyMap<string, string> {
  /** A shared map, never changed (a cache's `DeltaResponse.versions`, or NOTHING). */
  #base: ReadonlyMap<string, string> = NOTHING;
  /** This stream's differences from `base`; undefined when there are none. */
  #overlay: Map<string, string | typeof ABSENT> | undefined = undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(name: string): string | undefined {
    const own = this.#overlay?.get(name);
    if (own !== undefined) return own === ABSENT ? undefined : own;
    return this.#base.get(name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Records that the client holds `name` in `version`. */
  set(name: string, version: string): this {
    if (this.get(name) === undefined) this.#size++;
    if (this.#base.get(name) === version) this.#forget(name);
    else this.#own().set(name, version);
    return this;
  }

  /** Records that the client no longer holds `name`; false if it did not. */
  delete(name: string): boolean {
    if (this.get(name) === undefined) return false;
    this.#size--;
    if (this.#base.has(name)) this.#own().set(name, ABSENT);
    else this.#forget(name);
    // More differences than holdings (most of the base dropped, e.g. a
    // wildcard unsubscribed): keep only what is held, on no base.
    if (this.#overlay !== undefined && this.#overlay.size > this.#size) this.#rebuild(NOTHING);
    return true;
  }

  /**
   * Records a response sent: `resources` now held in their versions,
   * `removed` no longer held. `shared` is the answer's `versions` map, if the
   * cache gave one: a stream that held exactly its base and is sent what
   * turns it into `shared` (a fresh stream sent a whole state, or a current
   * one sent a change) takes `shared` as its base, with no map of its own.
   */
  sent(
    resources: readonly { readonly name: string; readonly version: string }[],
    removed: readonly string[],
    shared?: ReadonlyMap<string, string>,
  ): void {
    if (shared !== undefined && this.#overlay === undefined && this.#reaches(resources, removed, shared)) {
      this.#base = shared;
      this.#size = shared.size;
      return;
    }
    for (const entry of resources) this.set(entry.name, entry.version);
    for (const name of removed) this.delete(name);
  }

  /**
   * Moves onto `shared` (another state's map) when the differences from it
   * are no more than the overlay kept now. Costs the overlay plus the names
   * that differ between the two maps (computed once per pair of maps), and
   * nothing when that alone shows no gain is possible.
   */
  share(shared: ReadonlyMap<string, string>): void {
    if (shared === this.#base) return;
    const own = this.#overlay;
    const kept = own?.size ?? 0;
    const between = namesDiffering(this.#base, shared);
    // Each name differing between the maps and not in the overlay stays a
    // difference from `shared`: at least between.length - kept of them.
    if (between.length > 2 * kept) return;
    let overlay: Map<string, string | typeof ABSENT> | undefined;
    const compare = (name: string): boolean => {
      const held = this.get(name);
      if (held === shared.get(name)) return true;
      overlay ??= new Map();
      overlay.set(name, held === undefined ? ABSENT : held);
      return overlay.size <= kept;
    };
    if (own !== undefined) for (const name of own.keys()) if (!compare(name)) return;
    for (const name of between) if ((own === undefined || !own.has(name)) && !compare(name)) return;
    this.#base = shared;
    this.#overlay = overlay;
  }

  /** True when this stream holds no map of its own (tests and diagnostics). */
  get sharesAll(): boolean {
    return this.#overlay === undefined && this.#base !== NOTHING;
  }

  /** Entries kept for this stream alone (tests and diagnostics). */
  get ownEntries(): number {
    return this.#overlay?.size ?? 0;
  }

  /** The shared map this stream's versions are kept against (tests and diagnostics). */
  get base(): ReadonlyMap<string, string> {
    return this.#base;
  }

  *entries(): MapIterator<[string, string]> {
    const overlay = this.#overlay;
    for (const entry of this.#base) if (overlay === undefined || !overlay.has(entry[0])) yield entry;
    if (overlay !== undefined) for (const [name, version] of overlay) if (version !== ABSENT) yield [name, version];
  }

  *keys(): MapIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): MapIterator<string> {
    for (const [, version] of this.entries()) yield version;
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }

  forEach(callback: (value: string, key: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    for (const [name, version] of this.entries()) callback.call(thisArg, version, name, this);
  }

  /**
   * True when the base, changed by a response, becomes `shared`: every name
   * sent ends as `shared` has it, and every name in which base and `shared`
   * differ is among those sent. Names in one response are distinct (the
   * protocol requires it; Envoy rejects a response naming a resource twice).
   */
  #reaches(
    resources: readonly { readonly name: string; readonly version: string }[],
    removed: readonly string[],
    shared: ReadonlyMap<string, string>,
  ): boolean {
    const base = this.#base;
    if (base === shared) return false;
    // Streams sent the same answer from the same holdings (a fleet's first sync) ask the same
    // question: the last answer is kept per list of resources sent.
    const known = reached.get(resources);
    if (known !== undefined && known.base === base && known.shared === shared && known.removed === removed) return known.reaches;
    const between = namesDiffering(base, shared);
    let reaches = between.length <= resources.length + removed.length;
    let covered = 0;
    for (let i = 0; reaches && i < resources.length; i++) {
      const entry = resources[i]!;
      if (shared.get(entry.name) !== entry.version) reaches = false;
      else if (base.get(entry.name) !== entry.version) covered++;
    }
    for (let i = 0; reaches && i < removed.length; i++) {
      const name = removed[i]!;
      if (shared.has(name)) reaches = false;
      else if (base.has(name)) covered++;
    }
    reaches &&= covered === between.length;
    reached.set(resources, { base, shared, removed, reaches });
    return reaches;
  }

  #own(): Map<string, string | typeof ABSENT> {
    this.#overlay ??= new Map();
    return this.#overlay;
  }

  #forget(name: string): void {
    const overlay = this.#overlay;
    if (overlay === undefined) return;
    overlay.delete(name);
    if (overlay.size === 0) this.#overlay = undefined;
  }

  /** Keeps the same holdings against another base. */
  #rebuild(base: ReadonlyMap<string, string>): void {
    const overlay = new Map<string, string | typeof ABSENT>();
    for (const [name, version] of this.entries()) if (base.get(name) !== version) overlay.set(name, version);
    for (const name of base.keys()) if (!this.has(name)) overlay.set(name, ABSENT);
    this.#base = base;
    this.#overlay = overlay.size > 0 ? overlay : undefined;
  }
}

/** The last `#reaches` answer per list of resources sent (lists are shared between streams sent the same answer). */
const reached = new WeakMap<
  readonly { readonly name: string; readonly version: string }[],
  {
    readonly base: ReadonlyMap<string, string>;
    readonly shared: ReadonlyMap<string, string>;
    readonly removed: readonly string[];
    readonly reaches: boolean;
  }
>();

// The names of a shared map as a set, made once per map: a stream whose
// subscription names exactly a state's resources (an Envoy asking for the
// endpoints of every cluster it was sent) uses it instead of its own set of
// the same names. Never changed: a stream copies it before changing it.
const keySets = new WeakMap<ReadonlyMap<string, string>, ReadonlySet<string>>();
const sharedSets = new WeakSet<ReadonlySet<string>>();

/** The shared set of a shared map's names. */
export function sharedNames(shared: ReadonlyMap<string, string>): ReadonlySet<string> {
  let names = keySets.get(shared);
  if (names === undefined) {
    names = new Set(shared.keys());
    keySets.set(shared, names);
    sharedSets.add(names);
  }
  return names;
}

// The set of a list of names shared between requests (the request decoder gives requests of
// the same bytes one frozen list), made once per list, with the characters of its names.
const listSets = new WeakMap<readonly string[], { readonly names: ReadonlySet<string>; readonly chars: number }>();

/**
 * The shared set of a frozen list of names (a shared set: copied before a change), or
 * undefined for a list that is not frozen (not shared by the decoder), is empty, or holds "*".
 */
export function sharedList(list: readonly string[]): { readonly names: ReadonlySet<string>; readonly chars: number } | undefined {
  if (list.length === 0 || !Object.isFrozen(list)) return undefined;
  let known = listSets.get(list);
  if (known === undefined) {
    if (list.includes("*")) return undefined;
    const names = new Set(list);
    let chars = 0;
    for (const name of names) chars += name.length;
    known = { names, chars };
    listSets.set(list, known);
    sharedSets.add(names);
  }
  return known;
}

/** True for a set made by `sharedNames` or `sharedList` (which must be copied before a change). */
export function isSharedNames(names: ReadonlySet<string>): boolean {
  return sharedSets.has(names);
}

/** The empty set of names, shared: what a type subscribes to or forces before any request says otherwise. */
export const NO_NAMES: ReadonlySet<string> = sharedNames(NOTHING);
