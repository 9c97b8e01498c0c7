// A ConfigWatcher in front of a SnapshotCache that can move waiting watches
// to another node group. SnapshotCache files a watch under the node's group
// once, when it opens; a canary changes which group some nodes belong to
// while they wait. `regroup()` reopens every waiting watch whose node now
// maps to another group, so it answers from that group's snapshot at once.
import type {
  ConfigWatcher,
  DeltaResponse,
  DeltaWatchRequest,
  FetchRequest,
  SnapshotCache,
  SotwResponse,
  SotwWatchRequest,
} from "@xdskit/cache";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { Observable, type Subscription } from "rxjs";

/** Options of {@link RegroupingCache}. */
export interface RegroupingCacheOptions {
  /** How long a node is remembered after its last watch ended (for {@link RegroupingCache.knownNodes}), in ms. Default 30,000. */
  readonly idleMs?: number;
}

/** Defaults of {@link RegroupingCacheOptions}. */
export const REGROUPING_CACHE_DEFAULTS = Object.freeze({ idleMs: 30_000 });

interface LiveWatch {
  readonly node: Node;
  group: string | undefined;
  reopen(): void;
}

interface KnownNode {
  node: Node;
  watches: number;
  idleSince: number;
}

/**
 * Delegates to a SnapshotCache, keeping the watches that wait so they can be
 * moved when the cache's node grouping changes. Also remembers the nodes that
 * have watches (with their metadata), so a canary can tell which connected
 * nodes it selects: one entry per node with an open watch, dropped `idleMs`
 * after its last watch ended.
 */
export class RegroupingCache implements ConfigWatcher {
  readonly #inner: SnapshotCache;
  readonly #live = new Set<LiveWatch>();
  readonly #nodes = new Map<string, KnownNode>();
  readonly #idleMs: number;
  readonly #pruner: NodeJS.Timeout;

  constructor(inner: SnapshotCache, options: RegroupingCacheOptions = {}) {
    this.#inner = inner;
    this.#idleMs = options.idleMs ?? REGROUPING_CACHE_DEFAULTS.idleMs;
    this.#pruner = setInterval(() => this.#prune(), this.#idleMs);
    this.#pruner.unref();
  }

  watchSotw(request: SotwWatchRequest): Observable<SotwResponse> {
    return this.#watch(request, (r) => this.#inner.watchSotw(r), request);
  }

  watchDelta(request: DeltaWatchRequest): Observable<DeltaResponse> {
    // Moved to another group, a resumed watch must compare everything the client holds, not only its forced names.
    return this.#watch(request, (r) => this.#inner.watchDelta(r), { ...request, resumed: false });
  }

  fetch(request: FetchRequest): Promise<SotwResponse | undefined> {
    return this.#inner.fetch(request);
  }

  groupOf(node: Node): string {
    return this.#inner.groupOf(node);
  }

  servedVersion(group: string): string | undefined {
    return this.#inner.servedVersion(group);
  }

  /**
   * Reopens every waiting watch whose node the grouping now puts in another
   * group; returns how many moved.
   */
  regroup(): number {
    let moved = 0;
    for (const live of [...this.#live]) {
      if (this.#groupOf(live.node) === live.group) continue;
      live.reopen();
      moved++;
    }
    return moved;
  }

  /** The nodes with an open watch now (or within `idleMs`), as they last identified themselves. */
  knownNodes(): Node[] {
    return [...this.#nodes.values()].map((k) => k.node);
  }

  /** Stops the timer that forgets idle nodes. */
  dispose(): void {
    clearInterval(this.#pruner);
  }

  #groupOf(node: Node): string | undefined {
    try {
      return this.#inner.groupOf(node);
    } catch {
      return undefined; // the watch itself reports it
    }
  }

  #watch<R, Q extends { node: Node }>(request: Q, open: (request: Q) => Observable<R>, reopened: Q): Observable<R> {
    return new Observable<R>((subscriber) => {
      let inner: Subscription | undefined;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        this.#live.delete(live);
        this.#release(request.node);
      };
      const subscribe = (r: Q) => {
        inner = open(r).subscribe({
          next: (value) => {
            end();
            subscriber.next(value);
          },
          error: (error) => {
            end();
            subscriber.error(error);
          },
          complete: () => {
            end();
            subscriber.complete();
          },
        });
      };
      const live: LiveWatch = {
        node: request.node,
        group: this.#groupOf(request.node),
        reopen: () => {
          inner?.unsubscribe();
          live.group = this.#groupOf(request.node);
          subscribe(reopened);
        },
      };
      this.#hold(request.node);
      this.#live.add(live);
      subscribe(request);
      return () => {
        end();
        inner?.unsubscribe();
      };
    });
  }

  #hold(node: Node): void {
    const id = typeof node?.id === "string" ? node.id : "";
    const known = this.#nodes.get(id);
    if (known) {
      known.node = node;
      known.watches++;
    } else this.#nodes.set(id, { node, watches: 1, idleSince: 0 });
  }

  #release(node: Node): void {
    const known = this.#nodes.get(typeof node?.id === "string" ? node.id : "");
    if (known && --known.watches === 0) known.idleSince = Date.now();
  }

  #prune(): void {
    const before = Date.now() - this.#idleMs;
    for (const [id, known] of this.#nodes) if (known.watches === 0 && known.idleSince < before) this.#nodes.delete(id);
  }
}
