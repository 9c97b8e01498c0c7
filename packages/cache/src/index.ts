// @xdskit/cache: caches with exact xDS semantics. See docs/cache.md and docs/protocol.md.
export type { EntryOptions, EntryStoreOptions, ResourceInput } from "./entry-store.js";
export { ENTRY_STORE_DEFAULTS, EntryStore } from "./entry-store.js";
export { digestOf, LABEL_SEPARATOR, labelOf, sameContentVersion } from "./internal/labels.js";
export type { MissingReference } from "./internal/references.js";
export type { WatchSink } from "./internal/watch.js";
export { CacheWatch } from "./internal/watch.js";
export type { LinearCacheOptions, LinearUpdate } from "./linear-cache.js";
export { LINEAR_CACHE_DEFAULTS, LinearCache } from "./linear-cache.js";
export type { XdsLogger } from "./logger.js";
export { isLogger, OnceKeys, safeLog, silentLogger, stderrLogger } from "./logger.js";
export type { MuxCacheOptions } from "./mux-cache.js";
export { MuxCache } from "./mux-cache.js";
export type { NodeGroupKey } from "./node-group.js";
export { groupByIdPrefix, groupByNodeCluster, groupByNodeId } from "./node-group.js";
export type { GroupStatus, NodeIdentity, NodeStatus, NodeStatusOptions, StatusEvent, TypeStatus } from "./node-status.js";
export { groupStatusOf, NODE_STATUS_DEFAULTS, NodeStatusTracker, nodeIdentity } from "./node-status.js";
export type { ResourceUpdate, Snapshot, SnapshotInput, SnapshotViolation, TypeResources } from "./snapshot.js";
export { InvalidSnapshotError } from "./snapshot.js";
export type { SnapshotChange } from "./snapshot-cache.js";
export { SnapshotCache } from "./snapshot-cache.js";
export type { EntriesByType, SnapshotCacheOptions } from "./snapshot-cache-options.js";
export { SNAPSHOT_CACHE_DEFAULTS } from "./snapshot-cache-options.js";
export type {
  ConfigWatcher,
  DeltaResponse,
  DeltaWatchRequest,
  FetchRequest,
  ProtocolEvent,
  ResourceEntry,
  SotwResponse,
  SotwWatchRequest,
  WatchRequestBase,
  XdsProtocol,
} from "./types.js";
