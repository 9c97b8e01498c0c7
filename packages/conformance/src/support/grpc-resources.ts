// Resources a proxyless gRPC client accepts (gRFC A27 and later): an
// api_listener whose HTTP connection manager ends with the router and takes
// its routes inline or from RDS over ADS, EDS clusters over ADS, and
// endpoints with IP addresses in weighted localities.
import { type DeepPartial, pack, TypeUrl } from "@xdskit/envoy-api";
import { Cluster, Cluster_DiscoveryType, Cluster_LbPolicy } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import type { Route } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import { HTTPFault } from "@xdskit/envoy-api/envoy/extensions/filters/http/fault/v3/fault";
import { Router } from "@xdskit/envoy-api/envoy/extensions/filters/http/router/v3/router";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";

const ROUTER = { name: "envoy.filters.http.router", typedConfig: pack(Router, {}) };
const FAULT = { name: "envoy.filters.http.fault", typedConfig: pack(HTTPFault, {}) };

/** A route that sends everything under `/` to one cluster. */
export function toCluster(cluster: string): DeepPartial<Route> {
  return { match: { prefix: "" }, route: { cluster } };
}

/** A route config with one virtual host matching every domain. */
export function routeConfig(name: string, routes: DeepPartial<Route>[]): RouteConfiguration {
  return RouteConfiguration.fromPartial({ name, virtualHosts: [{ name: "all", domains: ["*"], routes }] });
}

/**
 * A client listener (api_listener) for `xds:///<name>`. `routes` is either a
 * route config name (fetched with RDS over ADS) or an inline RouteConfiguration.
 * `lastFilter: "fault"` builds one gRPC rejects (its last HTTP filter must be the router).
 */
export function apiListener(
  name: string,
  routes: string | RouteConfiguration,
  options: { lastFilter?: "router" | "fault" } = {},
): Listener {
  const httpFilters = options.lastFilter === "fault" ? [ROUTER, FAULT] : [ROUTER];
  const hcm = pack(HttpConnectionManager, {
    statPrefix: name,
    httpFilters,
    ...(typeof routes === "string" ? { rds: { routeConfigName: routes, configSource: { ads: {} } } } : { routeConfig: routes }),
  });
  return Listener.fromPartial({ name, apiListener: { apiListener: hcm } });
}

/** An EDS cluster over ADS, round robin. */
export function edsCluster(name: string): Cluster {
  return Cluster.fromPartial({
    name,
    type: Cluster_DiscoveryType.EDS,
    edsClusterConfig: { edsConfig: { ads: {} } },
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
    connectTimeout: { seconds: 1 },
  });
}

/** Endpoints on 127.0.0.1 in one locality of weight 1. */
export function endpoints(clusterName: string, ports: readonly number[]): ClusterLoadAssignment {
  return ClusterLoadAssignment.fromPartial({
    clusterName,
    endpoints: [
      {
        locality: { region: "local", zone: "a" },
        loadBalancingWeight: 1,
        lbEndpoints: ports.map((portValue) => ({ endpoint: { address: { socketAddress: { address: "127.0.0.1", portValue } } } })),
      },
    ],
  });
}

/** The whole config of `xds:///echo`: listener, routes to cluster `cluster` (default "echo"), the EDS cluster and its endpoints on 127.0.0.1 `ports`. */
export function echoSnapshot(version: string, ports: readonly number[], cluster = "echo") {
  return {
    version,
    resources: {
      [TypeUrl.Listener]: [apiListener("echo", "echo-routes")],
      [TypeUrl.RouteConfiguration]: [routeConfig("echo-routes", [toCluster(cluster)])],
      [TypeUrl.Cluster]: [edsCluster(cluster)],
      [TypeUrl.ClusterLoadAssignment]: [endpoints(cluster, ports)],
    },
  };
}
