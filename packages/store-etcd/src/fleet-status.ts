// Fleet-wide node status: each control-plane replica publishes the status of
// the nodes connected to it under an etcd lease, and any replica can read
// every replica's entries merged into one view. A replica that dies stops
// renewing its lease, so its entries expire on their own after the lease's
// TTL: nobody has to clean up after it.
//
// Keys: `<store prefix>status/<replicaId>/<nodeId>` (both parts URI-encoded),
// values: {@link PublishedNodeStatus} as JSON.
import { ErrorCode, type JsonValue, optionError, XdskitError } from "@xdskit/envoy-api";
import type { Lease, Namespace } from "etcd3";
import type { Observable, Subscription } from "rxjs";
import type { EtcdConfigStore } from "./etcd-store.js";

/**
 * What a publisher reads node status from: `NodeStatusTracker` of
 * `@xdskit/cache` fits as it is (the server feeds it).
 */
export interface NodeStatusSource<S extends { readonly nodeId: string } = { readonly nodeId: string }> {
  /** Every node the tracker holds. */
  nodes(): readonly S[];
  /** One node's status, or `undefined` once it is dropped. */
  nodeStatus(nodeId: string): S | undefined;
  /** Emits for every change of a node's status (protocol events, drops). */
  readonly events: Observable<{ readonly nodeId: string }>;
}

/** One node's status as one replica published it. */
export interface PublishedNodeStatus<S = JsonValue> {
  /** The replica that serves (or served) the node. */
  readonly replicaId: string;
  /** When the replica wrote this entry (ms since the epoch, the replica's clock). */
  readonly publishedAt: number;
  /** The node's status as the replica's tracker holds it (`NodeStatus` of `@xdskit/cache`). */
  readonly status: S;
}

/** Options of {@link FleetStatusPublisher.start}. */
export interface FleetStatusPublisherOptions {
  /** The etcd store whose connection and prefix the entries use. Required. */
  readonly store: EtcdConfigStore;
  /** This replica's id, unique in the fleet (e.g. the pod name). Required; non-empty. */
  readonly replicaId: string;
  /** Where the status comes from (a `NodeStatusTracker`). Required. */
  readonly source: NodeStatusSource;
  /**
   * TTL of the lease the entries live under, in seconds: a replica that dies
   * (or loses etcd for longer) has its entries removed by etcd this long
   * after its last renewal. etcd may round very small values up. Default 10.
   */
  readonly ttlSeconds?: number;
  /** Changes are coalesced: each node's entry is written at most once per this many ms. Default 1000. */
  readonly publishIntervalMs?: number;
  /** At most this many nodes are published by this replica (the rest are counted in {@link FleetStatusPublisher.skipped}). Default 10000. */
  readonly maxNodes?: number;
  /** Hears failures to publish (etcd unreachable); publishing retries on the next interval. Default: ignored. */
  readonly onError?: (error: XdskitError) => void;
}

/** Defaults of {@link FleetStatusPublisherOptions}. */
export const FLEET_STATUS_DEFAULTS = Object.freeze({ ttlSeconds: 10, publishIntervalMs: 1000, maxNodes: 10_000 });

const STATUS = "status/";
/** Entries written concurrently during a publication. */
const WRITES_IN_FLIGHT = 64;
const keyOf = (replicaId: string, nodeId: string) => `${STATUS}${encodeURIComponent(replicaId)}/${encodeURIComponent(nodeId)}`;

/**
 * Publishes this replica's node status to etcd under a lease, so that every
 * replica's {@link FleetStatusReader} sees every node of the fleet and which
 * replica serves it.
 *
 * A full publication on start and after every new lease, then each changed
 * node at most once per `publishIntervalMs`; a dropped node's entry is
 * deleted. If the lease is lost (etcd was away longer than the TTL) a new one
 * is granted and everything is published again. `close()` revokes the lease:
 * the entries vanish at once.
 *
 * @example
 * const publisher = await FleetStatusPublisher.start({ store, replicaId: "cp-1", source: statusTracker });
 * // ... on shutdown:
 * await publisher.close();
 */
export class FleetStatusPublisher {
  readonly replicaId: string;
  readonly #ns: Namespace;
  readonly #source: NodeStatusSource;
  readonly #ttl: number;
  readonly #maxNodes: number;
  readonly #onError: (error: XdskitError) => void;
  readonly #dirty = new Set<string>();
  /** Nodes that have an entry under the current lease. */
  readonly #published = new Set<string>();
  readonly #subscription: Subscription;
  readonly #timer: NodeJS.Timeout;
  #lease: Lease | undefined;
  #needsFull = true;
  #flushing: Promise<void> | undefined;
  #closed = false;
  #skipped = 0;

  private constructor(options: FleetStatusPublisherOptions, ttl: number, interval: number, maxNodes: number) {
    this.replicaId = options.replicaId;
    this.#ns = options.store.client.namespace(options.store.prefix);
    this.#source = options.source;
    this.#ttl = ttl;
    this.#maxNodes = maxNodes;
    this.#onError = options.onError ?? (() => undefined);
    this.#subscription = options.source.events.subscribe((event) => this.#dirty.add(event.nodeId));
    this.#timer = setInterval(() => void this.flush().catch(() => undefined), interval);
    this.#timer.unref();
  }

  /**
   * Starts publishing; resolves after the first full publication.
   * @throws XdskitError `XDSKIT_INVALID_OPTION` for bad options; `XDSKIT_STORE_FAILED` when etcd cannot be reached.
   */
  static async start(options: FleetStatusPublisherOptions): Promise<FleetStatusPublisher> {
    const owner = "FleetStatusPublisher";
    if (!options?.store?.client) throw optionError(owner, "store", "an EtcdConfigStore", options?.store);
    if (typeof options.replicaId !== "string" || options.replicaId === "")
      throw optionError(owner, "replicaId", "a non-empty string", options.replicaId);
    if (!options.source || typeof options.source.nodeStatus !== "function")
      throw optionError(owner, "source", "a NodeStatusTracker", options.source);
    const ttl = options.ttlSeconds ?? FLEET_STATUS_DEFAULTS.ttlSeconds;
    if (!Number.isInteger(ttl) || ttl < 1) throw optionError(owner, "ttlSeconds", "an integer >= 1", options.ttlSeconds);
    const interval = options.publishIntervalMs ?? FLEET_STATUS_DEFAULTS.publishIntervalMs;
    if (!Number.isFinite(interval) || interval < 10)
      throw optionError(owner, "publishIntervalMs", "a number of ms >= 10", options.publishIntervalMs);
    const maxNodes = options.maxNodes ?? FLEET_STATUS_DEFAULTS.maxNodes;
    if (!Number.isInteger(maxNodes) || maxNodes < 1) throw optionError(owner, "maxNodes", "an integer >= 1", options.maxNodes);
    const publisher = new FleetStatusPublisher(options, ttl, interval, maxNodes);
    try {
      await publisher.flush();
    } catch (error) {
      await publisher.close();
      throw error;
    }
    return publisher;
  }

  /** Nodes not published because of `maxNodes`, at the last full publication. */
  get skipped(): number {
    return this.#skipped;
  }

  /**
   * Publishes pending changes now (a full publication if the lease is new).
   * @throws XdskitError `XDSKIT_STORE_FAILED` when etcd cannot be reached (the changes stay pending).
   */
  flush(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    // One publication at a time; a call during one waits for it, then runs its own.
    const run = async (): Promise<void> => {
      try {
        await this.#publish();
      } catch (error) {
        const failure = XdskitError.is(error)
          ? error
          : new XdskitError(
              ErrorCode.STORE_FAILED,
              `FleetStatusPublisher ${this.replicaId}: publishing node status failed: ${(error as Error)?.message ?? error}; retrying on the next interval`,
              { cause: error },
            );
        try {
          this.#onError(failure);
        } catch {
          // An observer that throws must not stop publishing.
        }
        throw failure;
      }
    };
    const next = (this.#flushing ?? Promise.resolve()).catch(() => undefined).then(run);
    this.#flushing = next;
    return next;
  }

  async #publish(): Promise<void> {
    if (this.#closed) return;
    if (!this.#lease || this.#needsFull) {
      const lease = this.#lease ?? this.#newLease();
      await lease.grant();
      this.#needsFull = false;
      this.#published.clear();
      this.#dirty.clear();
      const nodes = this.#source.nodes();
      this.#skipped = Math.max(0, nodes.length - this.#maxNodes);
      for (const status of nodes.slice(0, this.#maxNodes)) this.#dirty.add(status.nodeId);
    }
    const lease = this.#lease as Lease;
    const ids = [...this.#dirty];
    this.#dirty.clear();
    try {
      // Up to WRITES_IN_FLIGHT writes at a time: thousands of nodes take a few round trips, not thousands.
      for (let i = 0; i < ids.length; i += WRITES_IN_FLIGHT) {
        if (this.#closed) return;
        await Promise.all(ids.slice(i, i + WRITES_IN_FLIGHT).map((nodeId) => this.#write(lease, nodeId)));
      }
    } catch (error) {
      // Not written: try again next time.
      for (const nodeId of ids) this.#dirty.add(nodeId);
      throw error;
    }
  }

  async #write(lease: Lease, nodeId: string): Promise<void> {
    const status = this.#source.nodeStatus(nodeId);
    if (status === undefined) {
      if (this.#published.delete(nodeId)) await this.#ns.delete().key(keyOf(this.replicaId, nodeId));
      return;
    }
    if (!this.#published.has(nodeId) && this.#published.size >= this.#maxNodes) return;
    // Counted before the write so that concurrent writes cannot pass maxNodes together.
    this.#published.add(nodeId);
    const value: PublishedNodeStatus<unknown> = { replicaId: this.replicaId, publishedAt: Date.now(), status };
    await lease.put(keyOf(this.replicaId, nodeId)).value(JSON.stringify(value));
  }

  #newLease(): Lease {
    const lease = this.#ns.lease(this.#ttl, { autoKeepAlive: true });
    lease.on("lost", () => {
      // etcd was away longer than the TTL (or revoked the lease): its entries are gone; start over with a new lease.
      if (this.#lease !== lease || this.#closed) return;
      this.#lease = undefined;
      this.#needsFull = true;
    });
    this.#lease = lease;
    return lease;
  }

  /** Stops publishing and revokes the lease, so this replica's entries vanish now. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#subscription.unsubscribe();
    await this.#flushing?.catch(() => undefined);
    await this.#lease?.revoke().catch(() => undefined);
  }
}

/** One node of the fleet: who serves it now, and what every replica published about it. */
export interface FleetNodeStatus<S = JsonValue> {
  readonly nodeId: string;
  /**
   * The replica that serves the node: among the entries, one whose status has
   * open streams (the latest `publishedAt` if several), else the latest.
   */
  readonly replicaId: string;
  /** That replica's status of the node. */
  readonly status: S;
  /** Every replica's entry for the node (a node that moved shows on the old replica until its tracker drops it). */
  readonly entries: readonly PublishedNodeStatus<S>[];
}

/**
 * Reads every replica's published node status and merges it per node. Any
 * replica (or a tool) can use it; it only reads.
 *
 * @example
 * const fleet = await new FleetStatusReader(store).nodes();
 * for (const node of fleet) console.log(node.nodeId, "served by", node.replicaId);
 */
export class FleetStatusReader {
  constructor(readonly store: EtcdConfigStore) {
    if (!store?.client) throw optionError("FleetStatusReader", "store", "an EtcdConfigStore", store);
  }

  /**
   * Every node any live replica published, sorted by node id.
   * @throws XdskitError `XDSKIT_STORE_FAILED` when etcd cannot be reached.
   */
  async nodes(): Promise<FleetNodeStatus[]> {
    const listing = await this.store.list(STATUS);
    const byNode = new Map<string, PublishedNodeStatus[]>();
    for (const entry of listing.entries) {
      const nodeId = decodeURIComponent(entry.key.slice(entry.key.lastIndexOf("/") + 1));
      const value = entry.value as unknown as PublishedNodeStatus;
      if (!value || typeof value !== "object" || typeof value.replicaId !== "string") continue;
      const list = byNode.get(nodeId) ?? [];
      list.push(value);
      byNode.set(nodeId, list);
    }
    return [...byNode]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([nodeId, entries]) => {
        const open = (e: PublishedNodeStatus) => ((e.status as { openStreams?: number } | null)?.openStreams ?? 0) > 0;
        const latest = (list: PublishedNodeStatus[]) => list.reduce((a, b) => (b.publishedAt > a.publishedAt ? b : a));
        const serving = entries.some(open) ? latest(entries.filter(open)) : latest(entries);
        return { nodeId, replicaId: serving.replicaId, status: serving.status, entries };
      });
  }
}
