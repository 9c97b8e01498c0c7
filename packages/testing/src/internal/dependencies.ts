// What Envoy subscribes to after it accepts clusters and listeners:
// - EDS: every cluster of type EDS, by `eds_cluster_config.service_name` or
//   else the cluster name;
// - RDS: every HTTP connection manager (in every filter chain, the default
//   filter chain and an api_listener) that uses `rds`, by `route_config_name`;
// - SDS: every SdsSecretConfig name in the TLS contexts of transport sockets
//   (cluster, cluster transport_socket_matches, listener filter chains).
import { TypeUrl, unpack } from "@xdskit/envoy-api";
import { type Cluster, Cluster_DiscoveryType } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { TransportSocket } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import type { FilterChain } from "@xdskit/envoy-api/envoy/config/listener/v3/listener_components";
import type { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import {
  type CommonTlsContext,
  DownstreamTlsContext,
  UpstreamTlsContext,
} from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import type { Any } from "@xdskit/envoy-api/google/protobuf/any";

const HCM_TYPE_URL = `type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const UPSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
const DOWNSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";

/** The EDS name Envoy subscribes to for a cluster, or undefined when it is not an EDS cluster. */
export function edsNameOf(cluster: Cluster): string | undefined {
  if (cluster.type !== Cluster_DiscoveryType.EDS) return undefined;
  return cluster.edsClusterConfig?.serviceName || cluster.name;
}

function tryUnpack<T>(any: Any | undefined, type: Parameters<typeof unpack<T>>[1]): T | undefined {
  if (!any) return undefined;
  try {
    return unpack(any, type);
  } catch {
    return undefined;
  }
}

/** Every HCM of a listener, with the filter chain it sits in (or `api_listener`). */
export function connectionManagersOf(listener: Listener): { where: string; hcm: HttpConnectionManager }[] {
  const found: { where: string; hcm: HttpConnectionManager }[] = [];
  const chains: [string, FilterChain][] = listener.filterChains.map((c, i) => [`filter_chains[${i}]`, c]);
  if (listener.defaultFilterChain) chains.push(["default_filter_chain", listener.defaultFilterChain]);
  for (const [where, chain] of chains) {
    chain.filters.forEach((filter, i) => {
      if (filter.typedConfig?.typeUrl !== HCM_TYPE_URL) return;
      const hcm = tryUnpack(filter.typedConfig, HttpConnectionManager);
      if (hcm) found.push({ where: `${where}.filters[${i}]`, hcm });
    });
  }
  const api = listener.apiListener?.apiListener;
  if (api?.typeUrl === HCM_TYPE_URL) {
    const hcm = tryUnpack(api, HttpConnectionManager);
    if (hcm) found.push({ where: "api_listener", hcm });
  }
  return found;
}

function secretsOfCommon(common: CommonTlsContext | undefined, into: Set<string>): void {
  if (!common) return;
  for (const sds of common.tlsCertificateSdsSecretConfigs) if (sds.name) into.add(sds.name);
  if (common.validationContextSdsSecretConfig?.name) into.add(common.validationContextSdsSecretConfig.name);
  const combined = common.combinedValidationContext?.validationContextSdsSecretConfig;
  if (combined?.name) into.add(combined.name);
}

function secretsOfSocket(socket: TransportSocket | undefined, into: Set<string>): void {
  const config = socket?.typedConfig;
  if (config?.typeUrl === UPSTREAM_TLS) secretsOfCommon(tryUnpack(config, UpstreamTlsContext)?.commonTlsContext, into);
  if (config?.typeUrl === DOWNSTREAM_TLS) secretsOfCommon(tryUnpack(config, DownstreamTlsContext)?.commonTlsContext, into);
}

/** The names Envoy would subscribe to per dependent type, given its clusters and listeners. */
export function dependentNames(clusters: Iterable<Cluster>, listeners: Iterable<Listener>): Map<string, Set<string>> {
  const eds = new Set<string>();
  const rds = new Set<string>();
  const sds = new Set<string>();
  for (const cluster of clusters) {
    const name = edsNameOf(cluster);
    if (name !== undefined) eds.add(name);
    secretsOfSocket(cluster.transportSocket, sds);
    for (const match of cluster.transportSocketMatches) secretsOfSocket(match.transportSocket, sds);
  }
  for (const listener of listeners) {
    for (const { hcm } of connectionManagersOf(listener)) {
      if (hcm.rds?.routeConfigName) rds.add(hcm.rds.routeConfigName);
    }
    for (const chain of [...listener.filterChains, ...(listener.defaultFilterChain ? [listener.defaultFilterChain] : [])]) {
      secretsOfSocket(chain.transportSocket, sds);
    }
  }
  return new Map([
    [TypeUrl.ClusterLoadAssignment, eds],
    [TypeUrl.RouteConfiguration, rds],
    [TypeUrl.Secret, sds],
  ]);
}

/** Cluster names a route configuration sends traffic to (route.cluster and weighted clusters). */
export function clustersNamedBy(config: RouteConfiguration): { path: string; cluster: string }[] {
  const found: { path: string; cluster: string }[] = [];
  config.virtualHosts.forEach((vh, v) => {
    vh.routes.forEach((route, r) => {
      const action = route.route;
      if (!action) return;
      const base = `virtual_hosts[${v}].routes[${r}].route`;
      if (action.cluster) found.push({ path: `${base}.cluster`, cluster: action.cluster });
      action.weightedClusters?.clusters.forEach((wc, w) => {
        if (wc.name) found.push({ path: `${base}.weighted_clusters.clusters[${w}]`, cluster: wc.name });
      });
    });
  });
  return found;
}

/**
 * The names a proxyless gRPC client subscribes to per type, given what it
 * runs (gRFC A27): the route configuration each listener's api_listener names
 * over RDS; the clusters its routes send traffic to (from RDS, or from a
 * route configuration inline in the listener); the endpoints of those of its
 * clusters that are EDS clusters. Nothing is a wildcard.
 */
export function grpcDependentNames(
  listeners: Iterable<Listener>,
  routeConfigurations: ReadonlyMap<string, RouteConfiguration>,
  clusters: Iterable<Cluster>,
): Map<string, Set<string>> {
  const rds = new Set<string>();
  const cds = new Set<string>();
  const eds = new Set<string>();
  for (const listener of listeners) {
    for (const { where, hcm } of connectionManagersOf(listener)) {
      if (where !== "api_listener") continue;
      const name = hcm.rds?.routeConfigName;
      if (name) rds.add(name);
      const config = name ? routeConfigurations.get(name) : hcm.routeConfig;
      for (const { cluster } of config ? clustersNamedBy(config) : []) cds.add(cluster);
    }
  }
  for (const cluster of clusters) {
    const name = cds.has(cluster.name) ? edsNameOf(cluster) : undefined;
    if (name !== undefined) eds.add(name);
  }
  return new Map([
    [TypeUrl.RouteConfiguration, rds],
    [TypeUrl.Cluster, cds],
    [TypeUrl.ClusterLoadAssignment, eds],
  ]);
}
