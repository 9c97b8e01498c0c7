// @xdskit/store-etcd: a ConfigStore on etcd v3, so that control-plane
// replicas share one config, and fleet-wide node status published under
// leases. See docs/scale-out.md.
export type { EtcdConfigStoreOptions } from "./etcd-store.js";
export { ETCD_STORE_DEFAULTS, EtcdConfigStore } from "./etcd-store.js";
export type {
  FleetNodeStatus,
  FleetStatusPublisherOptions,
  NodeStatusSource,
  PublishedNodeStatus,
} from "./fleet-status.js";
export { FLEET_STATUS_DEFAULTS, FleetStatusPublisher, FleetStatusReader } from "./fleet-status.js";
