// Small Envoy configurations for FakeEnvoy conformance tests.
import { type DeepPartial, pack } from "@xdskit/envoy-api";
import { Cluster, Cluster_DiscoveryType } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { Router } from "@xdskit/envoy-api/envoy/extensions/filters/http/router/v3/router";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";

export function cluster(name: string, extra: DeepPartial<Cluster> = {}): Cluster {
  return Cluster.fromPartial({
    name,
    type: Cluster_DiscoveryType.EDS,
    edsClusterConfig: { edsConfig: { ads: {} } },
    connectTimeout: { seconds: 1 },
    ...extra,
  });
}

export function assignment(name: string, ...ports: number[]): ClusterLoadAssignment {
  return ClusterLoadAssignment.fromPartial({
    clusterName: name,
    endpoints: [
      { lbEndpoints: ports.map((portValue) => ({ endpoint: { address: { socketAddress: { address: "10.1.0.1", portValue } } } })) },
    ],
  });
}

/** A listener on `port` whose HCM takes route config `routes` from RDS. */
export function listener(name: string, port: number, routes: string): Listener {
  const hcm = pack(HttpConnectionManager, {
    statPrefix: name,
    rds: { routeConfigName: routes, configSource: { ads: {} } },
    httpFilters: [{ name: "envoy.filters.http.router", typedConfig: pack(Router, {}) }],
  });
  return Listener.fromPartial({
    name,
    address: { socketAddress: { address: "0.0.0.0", portValue: port } },
    filterChains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typedConfig: hcm }] }],
  });
}

export function routes(name: string, clusterName: string): RouteConfiguration {
  return RouteConfiguration.fromPartial({
    name,
    virtualHosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: clusterName } }] }],
  });
}
