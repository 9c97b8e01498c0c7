import { pack } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { FilterConfig } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import { Cors } from "@xdskit/envoy-api/envoy/extensions/filters/http/cors/v3/cors";
import { RBAC, RBACPerRoute } from "@xdskit/envoy-api/envoy/extensions/filters/http/rbac/v3/rbac";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { DownstreamTlsContext, UpstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import { describe, expect, it } from "vitest";
import {
  apiListener,
  cluster,
  corsFilter,
  faultFilter,
  filterChain,
  httpConnectionManager,
  httpConnectionManagerFilter,
  httpListener,
  listener,
  loadAssignment,
  type ResourceType,
  ResourceTypes,
  rbacFilter,
  route,
  routeConfiguration,
  routerFilter,
  validate,
  virtualHost,
} from "../../index.js";

const grpc = <T>(type: ResourceType<T> | string, resource: unknown) =>
  validate(type, resource as T, { profile: "grpc" })
    .filter((v) => v.source === "grpc")
    .map((v) => `${v.path} [${v.rule}]`);

describe("grpc profile: listeners (A27, A39, A36)", () => {
  it("accepts an api_listener with RDS over ADS and the router last", () => {
    expect(
      grpc(
        ResourceTypes.Listener,
        apiListener({
          name: "svc",
          rds: { routeConfigName: "r" },
          httpFilters: [faultFilter(), rbacFilter({ action: "DENY", policies: {} })],
        }),
      ),
    ).toEqual([]);
  });

  it("requires api_listener on client listeners", () => {
    expect(grpc(ResourceTypes.Listener, Listener.fromPartial({ name: "x" }))).toEqual(["api_listener [grpc.api_listener]"]);
  });

  it("requires RDS from ads or self", () => {
    const l = apiListener({
      name: "svc",
      rds: { routeConfigName: "r", configSource: { path: "/etc/routes.yaml", authorities: [] } as never },
    });
    expect(grpc(ResourceTypes.Listener, l)).toEqual(["api_listener.api_listener.rds.config_source [grpc.config_source]"]);
  });

  it("refuses unsupported filters unless optional, duplicate names, and a router that is not last", () => {
    const hcm = HttpConnectionManager.fromPartial({
      statPrefix: "x",
      rds: { routeConfigName: "r", configSource: { ads: {} } },
      httpFilters: [routerFilter(), corsFilter(), { ...corsFilter(), isOptional: true }],
    });
    const l = Listener.fromPartial({ name: "svc", apiListener: { apiListener: pack(HttpConnectionManager, hcm) } });
    expect(grpc(ResourceTypes.Listener, l)).toEqual([
      "api_listener.api_listener.http_filters[0] [grpc.router_last]",
      "api_listener.api_listener.http_filters[1].typed_config [grpc.http_filter_unsupported]",
      "api_listener.api_listener.http_filters[2].name [grpc.http_filter_duplicate]",
      "api_listener.api_listener.http_filters[2] [grpc.router_last]",
    ]);
  });

  it("refuses scoped routes", () => {
    const hcm = pack(HttpConnectionManager, { statPrefix: "x", scopedRoutes: { name: "s" }, httpFilters: [routerFilter()] });
    expect(grpc(ResourceTypes.Listener, Listener.fromPartial({ name: "svc", apiListener: { apiListener: hcm } }))).toEqual([
      "api_listener.api_listener [grpc.route_specifier]",
    ]);
  });

  it("checks server listeners: one HCM per filter chain, no destination_port (A36)", () => {
    const ok = httpListener({
      name: "grpc/server?xds.resource.listening_address=0.0.0.0:50051",
      port: 50051,
      rds: { routeConfigName: "server" },
    });
    expect(grpc(ResourceTypes.Listener, ok)).toEqual([]);
    const bad = listener({
      name: "server",
      port: 50051,
      filterChains: [
        filterChain({
          destinationPort: 50051,
          filters: [
            httpConnectionManagerFilter(httpConnectionManager({ rds: { routeConfigName: "r" } })),
            httpConnectionManagerFilter(httpConnectionManager({ rds: { routeConfigName: "r" } })),
          ],
        }),
      ],
    });
    expect(grpc(ResourceTypes.Listener, bad)).toEqual([
      "filter_chains[0].filters [grpc.server_filter_chain]",
      "filter_chains[0].filter_chain_match.destination_port [grpc.server_filter_chain]",
    ]);
  });
});

describe("grpc profile: RBAC and server TLS (A41, A29)", () => {
  it("refuses CEL conditions in RBAC policies, in the filter and per route", () => {
    const filter = rbacFilter({ action: "ALLOW", policies: { cel: { permissions: ["any"], principals: [{ principal: {} }] } } });
    const withCondition = {
      ...filter,
      typedConfig: pack(RBAC, {
        rules: { action: 0, policies: { cel: { permissions: [{ any: true }], principals: [{ any: true }], condition: { id: 1 } } } },
      }),
    };
    const l = apiListener({ name: "svc", rds: { routeConfigName: "r" }, httpFilters: [withCondition] });
    expect(grpc(ResourceTypes.Listener, l)).toEqual([
      "api_listener.api_listener.http_filters[0].typed_config.rules.policies[cel] [grpc.rbac_condition]",
    ]);
    const rc = routeConfiguration({
      name: "r",
      virtualHosts: [
        virtualHost({
          name: "vh",
          routes: [
            route({
              match: { prefix: "/" },
              cluster: "a",
              perFilterConfig: {
                "envoy.filters.http.rbac": pack(RBACPerRoute, { rbac: { rules: { policies: { p: { checkedCondition: {} } } } } }),
              },
            }),
          ],
        }),
      ],
    });
    expect(grpc(ResourceTypes.RouteConfiguration, rc)).toEqual([
      "virtual_hosts[0].routes[0].typed_per_filter_config[envoy.filters.http.rbac].rbac.rules.policies[p] [grpc.rbac_condition]",
    ]);
  });

  it("refuses SDS, require_sni and strict OCSP on server listeners", () => {
    const server = httpListener({ name: "server", port: 50051, rds: { routeConfigName: "r" }, tls: { certificateSecret: "cert" } });
    expect(grpc(ResourceTypes.Listener, server)).toEqual([
      "filter_chains[0].transport_socket.typed_config.common_tls_context [grpc.tls_sds]",
    ]);
    const strict = listener({
      name: "server",
      port: 50051,
      filterChains: [
        Object.assign(filterChain({ filters: [httpConnectionManagerFilter(httpConnectionManager({ rds: { routeConfigName: "r" } }))] }), {
          transportSocket: {
            name: "tls",
            typedConfig: pack(DownstreamTlsContext, { requireSni: true, ocspStaplePolicy: 1, commonTlsContext: {} }),
          },
        }),
      ],
    });
    expect(grpc(ResourceTypes.Listener, strict)).toEqual([
      "filter_chains[0].transport_socket.typed_config.require_sni [grpc.require_sni]",
      "filter_chains[0].transport_socket.typed_config.ocsp_staple_policy [grpc.ocsp_staple_policy]",
    ]);
  });
});

describe("grpc profile: routes (A28, A44)", () => {
  it("accepts cluster, weighted_clusters and cluster_header routes with supported header matchers", () => {
    const rc = routeConfiguration({
      name: "r",
      virtualHosts: [
        virtualHost({
          name: "vh",
          domains: ["*.example.com", "api.*", "exact"],
          routes: [
            route({
              match: {
                prefix: "/a",
                headers: [
                  { name: "x", exact: "1" },
                  { name: "y", present: true },
                  { name: "z", range: [1, 2] },
                ],
              },
              cluster: "a",
            }),
            route({ match: { path: "/b" }, weightedClusters: [{ name: "b1", weight: 1 }] }),
            route({
              match: { regex: ".*" },
              clusterHeader: "x-cluster",
              retry: { retryOn: "unavailable", numRetries: 2, backOff: { base: "10ms", max: "100ms" } },
            }),
          ],
        }),
      ],
    });
    expect(grpc(ResourceTypes.RouteConfiguration, rc)).toEqual([]);
  });

  it("refuses bad domains, unsupported path matchers, non-route actions, zero weights and bad retries", () => {
    const rc = routeConfiguration({
      name: "r",
      virtualHosts: [
        virtualHost({
          name: "vh",
          domains: ["a.*.com", "**"],
          routes: [
            route({ match: { pathSeparatedPrefix: "/p" }, cluster: "a" }),
            route({ match: { prefix: "/r" }, redirect: { https: true } }),
            route({ match: { prefix: "/d" }, directResponse: { status: 200 } }),
            route({ match: { prefix: "/w" }, weightedClusters: [{ name: "w", weight: 0 }] }),
            route({ match: { prefix: "/t" }, cluster: "t", retry: { numRetries: 0, backOff: { base: "1s", max: "10ms" } } }),
          ],
        }),
      ],
    });
    expect(grpc(ResourceTypes.RouteConfiguration, rc)).toEqual([
      "virtual_hosts[0].domains[0] [grpc.domain]",
      "virtual_hosts[0].domains[1] [grpc.domain]",
      "virtual_hosts[0].routes[0].match.path_separated_prefix [grpc.path_matcher]",
      "virtual_hosts[0].routes[1].redirect [grpc.route_action]",
      "virtual_hosts[0].routes[2].direct_response [grpc.route_action]",
      "virtual_hosts[0].routes[3].route.weighted_clusters [grpc.weighted_clusters]",
      "virtual_hosts[0].routes[4].route.retry_policy.num_retries [grpc.retry_policy]",
      "virtual_hosts[0].routes[4].route.retry_policy.retry_back_off.max_interval [grpc.retry_policy]",
    ]);
  });

  it("refuses per-route configs of filters gRPC does not implement, unless optional", () => {
    const optional = pack(FilterConfig, { config: pack(Cors, {}), isOptional: true });
    const rc = routeConfiguration({
      name: "r",
      virtualHosts: [
        virtualHost({
          name: "vh",
          routes: [
            route({ match: { prefix: "/" }, cluster: "a", fault: { abort: { httpStatus: 503 } } }),
            route({ match: { prefix: "/c" }, cluster: "a", cors: { allowOrigins: [{ exact: "x" }] }, perFilterConfig: { opt: optional } }),
          ],
        }),
      ],
    });
    expect(grpc(ResourceTypes.RouteConfiguration, rc)).toEqual([
      "virtual_hosts[0].routes[1].typed_per_filter_config[envoy.filters.http.cors] [grpc.filter_override_unsupported]",
    ]);
  });
});

describe("grpc profile: clusters (A27, A29, A37, A42)", () => {
  it("refuses static and strict DNS clusters and unsupported LB policies", () => {
    expect(grpc(ResourceTypes.Cluster, cluster({ name: "s", discovery: "static", endpoints: ["10.0.0.1:80"] }))).toEqual([
      "type [grpc.cluster_type]",
    ]);
    expect(grpc(ResourceTypes.Cluster, cluster({ name: "d", discovery: "strict_dns", endpoints: ["a:80"] }))).toEqual([
      "type [grpc.cluster_type]",
    ]);
    expect(grpc(ResourceTypes.Cluster, cluster({ name: "m", lbPolicy: "maglev" }))).toEqual(["lb_policy [grpc.lb_policy]"]);
    expect(grpc(ResourceTypes.Cluster, cluster({ name: "r", lbPolicy: "ring_hash", ringHash: { maximumRingSize: 10_000_000 } }))).toEqual([
      "ring_hash_lb_config.maximum_ring_size [grpc.ring_hash]",
    ]);
  });

  it("requires EDS from ads or self and lrs_server self", () => {
    const c = Cluster.fromPartial({
      name: "e",
      type: 3,
      edsClusterConfig: { edsConfig: { path: "/x" } },
      lrsServer: { ads: {} },
      connectTimeout: { seconds: 1 },
    });
    expect(grpc(ResourceTypes.Cluster, c)).toEqual(["lrs_server [grpc.lrs_server]", "eds_cluster_config.eds_config [grpc.config_source]"]);
  });

  it("refuses SDS in upstream TLS (gRPC uses certificate providers)", () => {
    expect(grpc(ResourceTypes.Cluster, cluster({ name: "t", tls: { validationContextSecret: "ca" } }))).toEqual([
      "transport_socket.typed_config.common_tls_context [grpc.tls_sds]",
    ]);
    const ok = Cluster.fromPartial({
      name: "t",
      type: 3,
      edsClusterConfig: { edsConfig: { ads: {} } },
      transportSocket: {
        name: "envoy.transport_sockets.tls",
        typedConfig: pack(UpstreamTlsContext, {
          commonTlsContext: { validationContextCertificateProviderInstance: { instanceName: "google_cloud_private_spiffe" } },
        }),
      },
    });
    expect(grpc(ResourceTypes.Cluster, ok)).toEqual([]);
  });

  it("requires logical DNS clusters to hold exactly one endpoint", () => {
    expect(grpc(ResourceTypes.Cluster, cluster({ name: "l", discovery: "logical_dns", endpoints: ["a:1", "b:2"] }))).toEqual([
      "load_assignment [grpc.logical_dns]",
    ]);
  });
});

describe("grpc profile: endpoints (A27)", () => {
  it("requires IP literals, unique addresses, localities and contiguous priorities", () => {
    const cla = loadAssignment({
      clusterName: "web",
      localities: [
        { zone: "a", endpoints: ["10.0.0.1:80", "10.0.0.1:80", "host.example.com:80"] },
        { zone: "a", endpoints: ["10.0.0.2:80"] },
        { zone: "b", priority: 2, endpoints: ["10.0.0.3:80"] },
      ],
    });
    expect(grpc(ResourceTypes.ClusterLoadAssignment, cla)).toEqual([
      "endpoints[0].lb_endpoints[1].endpoint.address.socket_address [grpc.endpoint_duplicate]",
      "endpoints[0].lb_endpoints[2].endpoint.address.socket_address.address [grpc.endpoint_address]",
      "endpoints[1].locality [grpc.locality_duplicate]",
      "endpoints [grpc.priorities]",
    ]);
  });

  it("requires a locality weight, which gRPC clients need to use a locality", () => {
    const cla = loadAssignment({ clusterName: "web", localities: [{ zone: "a", weight: 1, endpoints: ["10.0.0.1:80"] }] });
    expect(grpc(ResourceTypes.ClusterLoadAssignment, cla)).toEqual([]);
    const unweighted = { ...cla, endpoints: cla.endpoints.map((l) => ({ ...l, loadBalancingWeight: undefined })) };
    expect(grpc(ResourceTypes.ClusterLoadAssignment, unweighted)).toEqual(["endpoints[0].load_balancing_weight [grpc.locality_weight]"]);
  });

  it("applies no gRPC rules to types gRPC never requests", () => {
    expect(grpc(ResourceTypes.Secret, { name: "s" })).toEqual([]);
  });
});
