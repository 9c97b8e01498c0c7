// Extraction of the names one xDS resource references in others. Each
// function appends to `out`; paths use proto field names, `[i]` indexes, and
// enter Any-packed configs through their field name (`typed_config`).

import type { Any } from "@xdskit/envoy-api/core";
import { TypeUrl } from "@xdskit/envoy-api/core";
import type { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { TransportSocket } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import type { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import type { FilterChain } from "@xdskit/envoy-api/envoy/config/listener/v3/listener_components";
import type { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import type { RouteAction_RequestMirrorPolicy, VirtualHost } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import type { ScopedRouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/scoped_route";
import type { ClusterConfig } from "@xdskit/envoy-api/envoy/extensions/clusters/aggregate/v3/cluster";
import type { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import type { TcpProxy } from "@xdskit/envoy-api/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy";
import type { SdsSecretConfig } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/secret";
import type {
  CommonTlsContext,
  DownstreamTlsContext,
  UpstreamTlsContext,
} from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import type { ResourceReference } from "../resource-type.js";
import { unpackIf } from "./any.js";

// Configs are unpacked by full name, their codecs looked up on first use:
// importing the descriptors must not load these modules (HttpConnectionManager
// alone imports about 30), see docs/benchmarks.md, "Import time".
const UPSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
const DOWNSTREAM_TLS = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
const AGGREGATE_CLUSTER = "envoy.extensions.clusters.aggregate.v3.ClusterConfig";
const TCP_PROXY = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

type Out = ResourceReference[];

const EDS_DISCOVERY_TYPE = 3;

/** Lists as arrays even when a hand-made resource leaves them out. */
function each<T>(list: readonly T[] | undefined, fn: (item: T, index: number) => void): void {
  if (Array.isArray(list)) list.forEach(fn);
}

function at(prefix: string, field: string): string {
  return prefix === "" ? field : `${prefix}.${field}`;
}

function push(out: Out, typeUrl: string, name: string | undefined, path: string): void {
  if (name) out.push({ typeUrl, name, path });
}

function sds(out: Out, config: SdsSecretConfig | undefined, path: string): void {
  // An SdsSecretConfig without sds_config names a static bootstrap secret, not an SDS resource.
  if (config?.sdsConfig !== undefined) push(out, TypeUrl.Secret, config.name, at(path, "name"));
}

function commonTls(out: Out, ctx: CommonTlsContext | undefined, path: string): void {
  if (!ctx) return;
  each(ctx.tlsCertificateSdsSecretConfigs, (c, i) => {
    sds(out, c, at(path, `tls_certificate_sds_secret_configs[${i}]`));
  });
  sds(out, ctx.validationContextSdsSecretConfig, at(path, "validation_context_sds_secret_config"));
  sds(
    out,
    ctx.combinedValidationContext?.validationContextSdsSecretConfig,
    at(path, "combined_validation_context.validation_context_sds_secret_config"),
  );
}

function upstreamTransportSocket(out: Out, socket: TransportSocket | undefined, path: string): void {
  const tls = unpackIf<UpstreamTlsContext>(socket?.typedConfig, UPSTREAM_TLS);
  if (tls) commonTls(out, tls.commonTlsContext, at(path, "typed_config.common_tls_context"));
}

function downstreamTransportSocket(out: Out, socket: TransportSocket | undefined, path: string): void {
  const tls = unpackIf<DownstreamTlsContext>(socket?.typedConfig, DOWNSTREAM_TLS);
  if (!tls) return;
  const p = at(path, "typed_config");
  commonTls(out, tls.commonTlsContext, at(p, "common_tls_context"));
  sds(out, tls.sessionTicketKeysSdsSecretConfig, at(p, "session_ticket_keys_sds_secret_config"));
}

/** Cluster: EDS (EDS clusters only), aggregate members, SDS secrets of upstream TLS. */
export function clusterReferences(cluster: Cluster): ResourceReference[] {
  const out: Out = [];
  if (cluster.type === EDS_DISCOVERY_TYPE) {
    const serviceName = cluster.edsClusterConfig?.serviceName;
    if (serviceName) push(out, TypeUrl.ClusterLoadAssignment, serviceName, "eds_cluster_config.service_name");
    else push(out, TypeUrl.ClusterLoadAssignment, cluster.name, "name");
  }
  const aggregate = unpackIf<ClusterConfig>(cluster.clusterType?.typedConfig, AGGREGATE_CLUSTER);
  each(aggregate?.clusters, (name, i) => {
    push(out, TypeUrl.Cluster, name, `cluster_type.typed_config.clusters[${i}]`);
  });
  upstreamTransportSocket(out, cluster.transportSocket, "transport_socket");
  each(cluster.transportSocketMatches, (m, i) => {
    upstreamTransportSocket(out, m.transportSocket, `transport_socket_matches[${i}].transport_socket`);
  });
  return out;
}

function mirrors(out: Out, policies: readonly RouteAction_RequestMirrorPolicy[], path: string): void {
  each(policies, (m, i) => {
    push(out, TypeUrl.Cluster, m.cluster, `${at(path, `request_mirror_policies[${i}]`)}.cluster`);
  });
}

function virtualHost(out: Out, vh: VirtualHost, path: string): void {
  each(vh.routes, (route, j) => {
    const action = route.route;
    if (!action) return;
    const p = at(path, `routes[${j}].route`);
    push(out, TypeUrl.Cluster, action.cluster, at(p, "cluster"));
    each(action.weightedClusters?.clusters, (w, k) => {
      push(out, TypeUrl.Cluster, w.name, at(p, `weighted_clusters.clusters[${k}].name`));
    });
    mirrors(out, action.requestMirrorPolicies, p);
  });
  mirrors(out, vh.requestMirrorPolicies, path);
}

function routeConfiguration(out: Out, rc: RouteConfiguration, path: string): void {
  each(rc.virtualHosts, (vh, i) => {
    virtualHost(out, vh, at(path, `virtual_hosts[${i}]`));
  });
  mirrors(out, rc.requestMirrorPolicies, path);
  if (rc.vhds) push(out, TypeUrl.VirtualHost, `${rc.name}/*`, at(path, "vhds"));
}

/** RouteConfiguration: clusters named by routes, weighted clusters and mirrors; VHDS (`<name>/*`). */
export function routeConfigurationReferences(rc: RouteConfiguration): ResourceReference[] {
  const out: Out = [];
  routeConfiguration(out, rc, "");
  return out;
}

/** VirtualHost (VHDS): clusters named by its routes. */
export function virtualHostReferences(vh: VirtualHost): ResourceReference[] {
  const out: Out = [];
  virtualHost(out, vh, "");
  return out;
}

function scopedRoute(out: Out, scope: ScopedRouteConfiguration, path: string): void {
  push(out, TypeUrl.RouteConfiguration, scope.routeConfigurationName, at(path, "route_configuration_name"));
  if (scope.routeConfiguration) routeConfiguration(out, scope.routeConfiguration, at(path, "route_configuration"));
}

/** ScopedRouteConfiguration: its route configuration (RDS), or the clusters of an inline one. */
export function scopedRouteReferences(scope: ScopedRouteConfiguration): ResourceReference[] {
  const out: Out = [];
  scopedRoute(out, scope, "");
  return out;
}

function httpConnectionManager(out: Out, hcm: HttpConnectionManager, path: string): void {
  if (hcm.rds) push(out, TypeUrl.RouteConfiguration, hcm.rds.routeConfigName, at(path, "rds.route_config_name"));
  if (hcm.routeConfig) routeConfiguration(out, hcm.routeConfig, at(path, "route_config"));
  const scoped = hcm.scopedRoutes;
  if (scoped?.scopedRds) {
    // Envoy subscribes to SRDS with a wildcard unless a resource locator names a collection.
    push(out, TypeUrl.ScopedRouteConfiguration, scoped.scopedRds.srdsResourcesLocator || "*", at(path, "scoped_routes.scoped_rds"));
  }
  each(scoped?.scopedRouteConfigurationsList?.scopedRouteConfigurations, (scope, i) => {
    scopedRoute(out, scope, at(path, `scoped_routes.scoped_route_configurations_list.scoped_route_configurations[${i}]`));
  });
  each(hcm.httpFilters, (f, i) => {
    if (f.configDiscovery) push(out, TypeUrl.TypedExtensionConfig, f.name, at(path, `http_filters[${i}].name`));
  });
  each(hcm.upgradeConfigs, (u, i) => {
    each(u.filters, (f, j) => {
      if (f.configDiscovery) push(out, TypeUrl.TypedExtensionConfig, f.name, at(path, `upgrade_configs[${i}].filters[${j}].name`));
    });
  });
}

function tcpProxy(out: Out, any: Any | undefined, path: string): void {
  const proxy = unpackIf<TcpProxy>(any, TCP_PROXY);
  if (!proxy) return;
  push(out, TypeUrl.Cluster, proxy.cluster, at(path, "cluster"));
  each(proxy.weightedClusters?.clusters, (w, i) => {
    push(out, TypeUrl.Cluster, w.name, at(path, `weighted_clusters.clusters[${i}].name`));
  });
}

function filterChain(out: Out, chain: FilterChain, path: string): void {
  each(chain.filters, (filter, j) => {
    const p = at(path, `filters[${j}]`);
    if (filter.configDiscovery) {
      push(out, TypeUrl.TypedExtensionConfig, filter.name, at(p, "name"));
      return;
    }
    const hcm = unpackIf<HttpConnectionManager>(filter.typedConfig, HCM);
    if (hcm) httpConnectionManager(out, hcm, at(p, "typed_config"));
    else tcpProxy(out, filter.typedConfig, at(p, "typed_config"));
  });
  downstreamTransportSocket(out, chain.transportSocket, at(path, "transport_socket"));
}

/**
 * Listener: per filter chain (and the default one) the HTTP connection
 * manager's RDS/SRDS/ECDS names and the clusters of inline routes, TCP proxy
 * clusters, SDS secrets of downstream TLS; ECDS listener filters; and the
 * HTTP connection manager of an `api_listener` (gRPC clients).
 */
export function listenerReferences(listener: Listener): ResourceReference[] {
  const out: Out = [];
  each(listener.listenerFilters, (f, i) => {
    if (f.configDiscovery) push(out, TypeUrl.TypedExtensionConfig, f.name, `listener_filters[${i}].name`);
  });
  each(listener.filterChains, (chain, i) => {
    filterChain(out, chain, `filter_chains[${i}]`);
  });
  if (listener.defaultFilterChain) filterChain(out, listener.defaultFilterChain, "default_filter_chain");
  const api = unpackIf<HttpConnectionManager>(listener.apiListener?.apiListener, HCM);
  if (api) httpConnectionManager(out, api, "api_listener.api_listener");
  return out;
}

/** ClusterLoadAssignment: LEDS collections named by its localities. */
export function loadAssignmentReferences(cla: ClusterLoadAssignment): ResourceReference[] {
  const out: Out = [];
  each(cla.endpoints, (locality, i) => {
    push(
      out,
      TypeUrl.LbEndpoint,
      locality.ledsClusterLocalityConfig?.ledsCollectionName,
      `endpoints[${i}].leds_cluster_locality_config.leds_collection_name`,
    );
  });
  return out;
}
