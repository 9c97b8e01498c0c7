// The seam between caches and servers. A server (@xdskit/server) depends on
// nothing in this package but these types: any object that implements
// `ConfigWatcher` can back it — SnapshotCache, LinearCache, MuxCache, or a
// user's own cache.
//
// The server owns the per-stream protocol state (nonces, ACK/NACK detection,
// subscriptions, what each client holds) and hands the cache a read-only view
// of it with every watch. The cache decides what the client should get.
//
// Changes since the first version of this seam (all backward compatible):
// - WatchRequestBase.legacyWildcard (optional): tells the cache that
//   `wildcard` comes only from a legacy empty first request, so a cache can
//   turn legacy wildcard off per type (gRPC clients) without the server
//   knowing the option. Servers that omit it get the old behaviour.
// - DeltaResponse.versions (optional): the shared name -> version map of the
//   state an answer came from, so a server can share what its streams hold.
//   DeltaWatchRequest.clientVersions may be any ReadonlyMap (not only a Map).
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { Observable } from "rxjs";

/**
 * One resource as a cache stores it: encoded once, versioned by a stable hash
 * of that encoding, immutable, shared by every node group and stream.
 */
export interface ResourceEntry {
  /** The resource name, as clients subscribe to it. */
  readonly name: string;
  /** The resource's type URL, e.g. `type.googleapis.com/envoy.config.cluster.v3.Cluster`. */
  readonly typeUrl: string;
  /**
   * Stable hash of `bytes`: the same content gives the same version in every
   * process and replica.
   */
  readonly version: string;
  /** The resource's protobuf encoding (what goes into `Any.value`). */
  readonly bytes: Uint8Array;
  /**
   * xDS TTL in milliseconds: the client drops the resource unless it is
   * refreshed in time. Resources with a TTL are sent wrapped in
   * `envoy.service.discovery.v3.Resource`, and heartbeats keep them alive.
   */
  readonly ttlMs?: number;
}

/** Which variant of the xDS protocol a stream speaks. */
export type XdsProtocol = "sotw" | "delta";

/** Fields every watch request carries. */
export interface WatchRequestBase {
  /** Id of the stream the watch belongs to, unique in the process (one cache may back several servers). */
  readonly streamId: number;
  /** The node from the stream's first request (later requests may omit it). */
  readonly node: Node;
  /** The type URL being watched. */
  readonly typeUrl: string;
  /** True on an ADS stream (the ADS consistency option applies only there). */
  readonly ads: boolean;
  /**
   * True when the client subscribed to every resource of the type: an explicit
   * `*`, or (where the server allows legacy wildcard for the type) a first
   * request with no names.
   */
  readonly wildcard: boolean;
  /**
   * True when `wildcard` is set only because of the legacy rule (a first
   * request with no names, no explicit `*`). Caches whose `legacyWildcard`
   * option is off for the type then treat the request as subscribing to
   * nothing. Default (omitted): false.
   */
  readonly legacyWildcard?: boolean;
  /** Names subscribed explicitly, without `*`. */
  readonly names: ReadonlySet<string>;
}

/**
 * A state-of-the-world watch: "tell me when what this client should have for
 * this type differs from what it has".
 */
export interface SotwWatchRequest extends WatchRequestBase {
  /** The request's `version_info`: the last version the client accepted ("" when none). */
  readonly versionInfo: string;
  /**
   * What the server last sent on this stream for this type, if anything: its
   * version, the names it held, and whether the client NACKed it. A cache must
   * not answer with the same version the client NACKed (that loops forever);
   * it waits for different content.
   */
  readonly lastSent?: {
    readonly version: string;
    readonly names: ReadonlySet<string>;
    readonly nacked: boolean;
  };
  /**
   * Answer even if the client's version is current: set by the server after a
   * cluster or listener was sent (Envoy finishes warming only on a fresh
   * endpoint or route response) and when names were added to the subscription.
   */
  readonly forceResponse: boolean;
}

/** A state-of-the-world answer. The server adds the nonce and the envelope. */
export interface SotwResponse {
  readonly typeUrl: string;
  /** The version the client will ACK: per type, following content. */
  readonly version: string;
  /**
   * For full-state types (listeners, clusters) every resource the client is
   * subscribed to; for other types the subscribed names that exist.
   */
  readonly resources: readonly ResourceEntry[];
  /**
   * A TTL heartbeat: `resources` are sent as `Resource` wrappers without a
   * body, which refreshes their TTL without changing them.
   */
  readonly heartbeat?: boolean;
}

/** An incremental (delta) watch. */
export interface DeltaWatchRequest extends WatchRequestBase {
  /**
   * Name to version of what the server believes the client holds: seeded from
   * `initial_resource_versions` on reconnect, updated by the server on every
   * send. Read-only to the cache.
   */
  readonly clientVersions: ReadonlyMap<string, string>;
  /**
   * Names in the latest `resource_names_subscribe`: sent even if the server
   * believes the client holds them.
   */
  readonly forceNames: ReadonlySet<string>;
  /**
   * Answer even when there is nothing to send: true for the first wildcard
   * request of a stream, which must always be answered.
   */
  readonly forceResponse: boolean;
  /**
   * True when this watch replaces one that was still waiting (it had nothing
   * to send) only to add names: the client holds the current version of every
   * name in scope except `forceNames`. A cache may then evaluate only
   * `forceNames` first (and later changes as usual), so that a subscription
   * change costs what changed, not the whole subscription. Optional: a cache
   * that ignores it is correct, only slower. The server owns `names` and
   * `forceNames` and may change them once the watch is cancelled.
   */
  readonly resumed?: boolean;
}

/** An incremental answer. */
export interface DeltaResponse {
  readonly typeUrl: string;
  /** Debugging aid only (the spec's `system_version_info`). */
  readonly systemVersion: string;
  /** Resources the client lacks or holds in another version. */
  readonly resources: readonly ResourceEntry[];
  /**
   * Names to remove: resources the client holds that are gone, and
   * subscribed names that do not exist.
   */
  readonly removed: readonly string[];
  /** A TTL heartbeat (see `SotwResponse.heartbeat`). */
  readonly heartbeat?: boolean;
  /**
   * Optional: name to version of every resource of the type in the state
   * this answer was computed from — one immutable map per state, shared by
   * every answer given from it (SnapshotCache sets it; LinearCache does not,
   * as building it is a pass over every resource per change). A
   * server may then keep what a client holds as this shared map plus the
   * client's few differences from it, instead of a map per stream and type
   * (see docs/server.md, "Memory per delta stream"). Never to be changed.
   * A cache that omits it is served the same, with a map per stream.
   */
  readonly versions?: ReadonlyMap<string, string>;
}

/** A one-shot REST fetch (Envoy's REST-JSON API, `Fetch*` gRPC methods). */
export interface FetchRequest {
  readonly node: Node;
  readonly typeUrl: string;
  /** Requested names; empty asks for every resource of a wildcard-capable type. */
  readonly names: ReadonlySet<string>;
  /** The client's current version: an up-to-date client gets `undefined` (HTTP 304). */
  readonly versionInfo: string;
}

/**
 * Events a server reports to a `NodeStatusTracker` so it can keep
 * per-node status (what each node requested, was sent, ACKed and NACKed).
 * Not part of the cache seam: a cache only answers watches and fetches.
 */
export type ProtocolEvent =
  | {
      readonly kind: "stream-opened";
      readonly streamId: number;
      readonly node: Node;
      readonly protocol: XdsProtocol;
      readonly ads: boolean;
      readonly at: number;
    }
  | { readonly kind: "stream-closed"; readonly streamId: number; readonly node: Node; readonly at: number }
  | {
      readonly kind: "request";
      readonly streamId: number;
      readonly node: Node;
      readonly typeUrl: string;
      readonly at: number;
    }
  | {
      readonly kind: "response";
      readonly streamId: number;
      readonly node: Node;
      readonly typeUrl: string;
      readonly version: string;
      readonly nonce: string;
      readonly resourceNames: readonly string[];
      readonly at: number;
    }
  | {
      readonly kind: "ack";
      readonly streamId: number;
      readonly node: Node;
      readonly typeUrl: string;
      readonly version: string;
      readonly nonce: string;
      readonly at: number;
    }
  | {
      readonly kind: "nack";
      readonly streamId: number;
      readonly node: Node;
      readonly typeUrl: string;
      /** The version the client rejected (the one sent with the nonce). */
      readonly rejectedVersion: string;
      /** The version the client keeps running (the request's version_info). */
      readonly keptVersion: string;
      readonly nonce: string;
      /** The client's `error_detail`: gRPC status code and message. */
      readonly error: { readonly code: number; readonly message: string };
      readonly at: number;
    };

/**
 * What a server needs from a cache. Watches are cold Observables: subscribing
 * registers the watch, unsubscribing cancels it. Each emits at most one
 * response and then completes; the server watches again after the client's
 * next request (SotW) or after sending (delta). A watch never blocks the
 * cache: emission only hands a response over, the server queues it.
 */
export interface ConfigWatcher {
  /** Watches one type for one SotW subscription. */
  watchSotw(request: SotwWatchRequest): Observable<SotwResponse>;
  /** Watches one type for one delta subscription. */
  watchDelta(request: DeltaWatchRequest): Observable<DeltaResponse>;
  /** Answers a one-shot fetch; `undefined` when the client is up to date or nothing is known yet. */
  fetch(request: FetchRequest): Promise<SotwResponse | undefined>;
  /** Optional: the node group a node belongs to (rollout tracking by group needs it; SnapshotCache has it). */
  groupOf?(node: Node): string;
  /** Optional: the snapshot version a group's watches answer from (rollout tracking needs it; SnapshotCache has it). */
  servedVersion?(group: string): string | undefined;
}
