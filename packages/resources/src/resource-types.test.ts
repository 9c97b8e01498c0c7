import { pack, TypeUrl, typeUrlOf, XdskitError } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { ScopedRouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/scoped_route";
import { ClusterConfig } from "@xdskit/envoy-api/envoy/extensions/clusters/aggregate/v3/cluster";
import { Router } from "@xdskit/envoy-api/envoy/extensions/filters/http/router/v3/router";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { TcpProxy } from "@xdskit/envoy-api/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy";
import { DownstreamTlsContext, UpstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import { Duration } from "@xdskit/envoy-api/google/protobuf/duration";
import { describe, expect, it } from "vitest";
import { defineResourceType, ResourceTypes, registerResourceType, resourceTypeOf } from "./index.js";

const ads = { ads: {} };

describe("ResourceTypes.Cluster.references", () => {
  it("names the EDS service_name, or the cluster name when service_name is empty", () => {
    const withService = Cluster.fromPartial({ name: "web", type: 3, edsClusterConfig: { edsConfig: ads, serviceName: "web-eds" } });
    expect(ResourceTypes.Cluster.references(withService)).toEqual([
      { typeUrl: TypeUrl.ClusterLoadAssignment, name: "web-eds", path: "eds_cluster_config.service_name" },
    ]);
    const plain = Cluster.fromPartial({ name: "web", type: 3, edsClusterConfig: { edsConfig: ads } });
    expect(ResourceTypes.Cluster.references(plain)).toEqual([{ typeUrl: TypeUrl.ClusterLoadAssignment, name: "web", path: "name" }]);
  });

  it("names no EDS resource for static or DNS clusters", () => {
    expect(ResourceTypes.Cluster.references(Cluster.fromPartial({ name: "s", type: 0 }))).toEqual([]);
    expect(ResourceTypes.Cluster.references(Cluster.fromPartial({ name: "d", type: 1 }))).toEqual([]);
  });

  it("names SDS secrets of upstream TLS in transport_socket and transport_socket_matches", () => {
    const tls = pack(UpstreamTlsContext, {
      commonTlsContext: {
        tlsCertificateSdsSecretConfigs: [{ name: "cert", sdsConfig: ads }],
        combinedValidationContext: { defaultValidationContext: {}, validationContextSdsSecretConfig: { name: "ca", sdsConfig: ads } },
      },
    });
    const cluster = Cluster.fromPartial({
      name: "c",
      type: 1,
      transportSocket: { name: "envoy.transport_sockets.tls", typedConfig: tls },
      transportSocketMatches: [
        {
          name: "m",
          transportSocket: {
            name: "envoy.transport_sockets.tls",
            typedConfig: pack(UpstreamTlsContext, {
              commonTlsContext: { validationContextSdsSecretConfig: { name: "ca2", sdsConfig: ads } },
            }),
          },
        },
      ],
    });
    expect(ResourceTypes.Cluster.references(cluster)).toEqual([
      {
        typeUrl: TypeUrl.Secret,
        name: "cert",
        path: "transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name",
      },
      {
        typeUrl: TypeUrl.Secret,
        name: "ca",
        path: "transport_socket.typed_config.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name",
      },
      {
        typeUrl: TypeUrl.Secret,
        name: "ca2",
        path: "transport_socket_matches[0].transport_socket.typed_config.common_tls_context.validation_context_sds_secret_config.name",
      },
    ]);
  });

  it("ignores SdsSecretConfig without sds_config (static bootstrap secrets) and Anys of other types", () => {
    const cluster = Cluster.fromPartial({
      name: "c",
      transportSocket: { name: "x", typedConfig: pack(Duration, { seconds: 1 }) },
      transportSocketMatches: [
        {
          name: "m",
          transportSocket: {
            name: "tls",
            typedConfig: pack(UpstreamTlsContext, { commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: "static" }] } }),
          },
        },
        { name: "garbage", transportSocket: { name: "tls", typedConfig: { typeUrl: TypeUrl.Secret, value: new Uint8Array([255, 255]) } } },
      ],
    });
    expect(ResourceTypes.Cluster.references(cluster)).toEqual([]);
  });

  it("names the member clusters of an aggregate cluster", () => {
    const cluster = Cluster.fromPartial({
      name: "agg",
      clusterType: { name: "envoy.clusters.aggregate", typedConfig: pack(ClusterConfig, { clusters: ["a", "b"] }) },
    });
    expect(ResourceTypes.Cluster.references(cluster).map((r) => `${r.name}@${r.path}`)).toEqual([
      "a@cluster_type.typed_config.clusters[0]",
      "b@cluster_type.typed_config.clusters[1]",
    ]);
  });
});

describe("ResourceTypes.Listener.references", () => {
  const router = { name: "envoy.filters.http.router", typedConfig: pack(Router, {}) };
  const hcm = (partial: Parameters<typeof HttpConnectionManager.fromPartial>[0]) =>
    pack(HttpConnectionManager, { statPrefix: "http", httpFilters: [router], ...partial });

  it("names RDS, ECDS and SDS in every filter chain and the default chain", () => {
    const listener = Listener.fromPartial({
      name: "l",
      listenerFilters: [{ name: "ecds-listener-filter", configDiscovery: { configSource: ads, typeUrls: ["x"] } }],
      filterChains: [
        {
          filters: [
            {
              name: "envoy.filters.network.http_connection_manager",
              typedConfig: hcm({
                rds: { configSource: ads, routeConfigName: "routes-a" },
                httpFilters: [{ name: "ecds-authz", configDiscovery: { configSource: ads, typeUrls: ["y"] } }, router],
              }),
            },
          ],
          transportSocket: {
            name: "envoy.transport_sockets.tls",
            typedConfig: pack(DownstreamTlsContext, {
              commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: "server-cert", sdsConfig: ads }] },
              sessionTicketKeysSdsSecretConfig: { name: "stek", sdsConfig: ads },
            }),
          },
        },
      ],
      defaultFilterChain: {
        filters: [{ name: "hcm", typedConfig: hcm({ rds: { configSource: ads, routeConfigName: "routes-default" } }) }],
      },
    });
    expect(ResourceTypes.Listener.references(listener)).toEqual([
      { typeUrl: TypeUrl.TypedExtensionConfig, name: "ecds-listener-filter", path: "listener_filters[0].name" },
      { typeUrl: TypeUrl.RouteConfiguration, name: "routes-a", path: "filter_chains[0].filters[0].typed_config.rds.route_config_name" },
      { typeUrl: TypeUrl.TypedExtensionConfig, name: "ecds-authz", path: "filter_chains[0].filters[0].typed_config.http_filters[0].name" },
      {
        typeUrl: TypeUrl.Secret,
        name: "server-cert",
        path: "filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name",
      },
      {
        typeUrl: TypeUrl.Secret,
        name: "stek",
        path: "filter_chains[0].transport_socket.typed_config.session_ticket_keys_sds_secret_config.name",
      },
      {
        typeUrl: TypeUrl.RouteConfiguration,
        name: "routes-default",
        path: "default_filter_chain.filters[0].typed_config.rds.route_config_name",
      },
    ]);
  });

  it("names the RDS route configuration of a gRPC api_listener", () => {
    const listener = Listener.fromPartial({
      name: "xds:///greeter",
      apiListener: { apiListener: hcm({ rds: { configSource: ads, routeConfigName: "greeter-routes" } }) },
    });
    expect(ResourceTypes.Listener.references(listener)).toEqual([
      { typeUrl: TypeUrl.RouteConfiguration, name: "greeter-routes", path: "api_listener.api_listener.rds.route_config_name" },
    ]);
  });

  it("names SRDS (wildcard) and the route configurations of inline scopes", () => {
    const listener = Listener.fromPartial({
      name: "l",
      filterChains: [
        {
          filters: [
            {
              name: "hcm",
              typedConfig: hcm({ scopedRoutes: { name: "scopes", rdsConfigSource: ads, scopedRds: { scopedRdsConfigSource: ads } } }),
            },
            {
              name: "hcm2",
              typedConfig: hcm({
                scopedRoutes: {
                  name: "inline",
                  rdsConfigSource: ads,
                  scopedRouteConfigurationsList: { scopedRouteConfigurations: [{ name: "s1", routeConfigurationName: "rc1" }] },
                },
              }),
            },
          ],
        },
      ],
    });
    expect(ResourceTypes.Listener.references(listener).map((r) => [r.typeUrl, r.name])).toEqual([
      [TypeUrl.ScopedRouteConfiguration, "*"],
      [TypeUrl.RouteConfiguration, "rc1"],
    ]);
  });

  it("names clusters of TCP proxies and inline route configurations", () => {
    const listener = Listener.fromPartial({
      name: "l",
      filterChains: [
        {
          filters: [
            {
              name: "tcp",
              typedConfig: pack(TcpProxy, { statPrefix: "tcp", weightedClusters: { clusters: [{ name: "t1", weight: 1 }] } }),
            },
          ],
        },
        {
          filters: [
            {
              name: "hcm",
              typedConfig: hcm({
                routeConfig: {
                  name: "inline",
                  virtualHosts: [{ name: "vh", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "c1" } }] }],
                },
              }),
            },
          ],
        },
      ],
    });
    expect(ResourceTypes.Listener.references(listener)).toEqual([
      { typeUrl: TypeUrl.Cluster, name: "t1", path: "filter_chains[0].filters[0].typed_config.weighted_clusters.clusters[0].name" },
      {
        typeUrl: TypeUrl.Cluster,
        name: "c1",
        path: "filter_chains[1].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.cluster",
      },
    ]);
  });
});

describe("ResourceTypes.RouteConfiguration.references", () => {
  it("names clusters of routes, weighted clusters, mirrors, and VHDS", () => {
    const rc = RouteConfiguration.fromPartial({
      name: "rc",
      vhds: { configSource: ads },
      virtualHosts: [
        {
          name: "vh",
          domains: ["*"],
          routes: [
            { match: { prefix: "/a" }, route: { cluster: "a", requestMirrorPolicies: [{ cluster: "shadow" }] } },
            {
              match: { prefix: "/b" },
              route: {
                weightedClusters: {
                  clusters: [
                    { name: "b1", weight: 95 },
                    { name: "b2", weight: 5 },
                  ],
                },
              },
            },
            { match: { prefix: "/c" }, route: { clusterHeader: "x-cluster" } },
            { match: { prefix: "/d" }, directResponse: { status: 200 } },
          ],
        },
      ],
    });
    expect(ResourceTypes.RouteConfiguration.references(rc)).toEqual([
      { typeUrl: TypeUrl.Cluster, name: "a", path: "virtual_hosts[0].routes[0].route.cluster" },
      { typeUrl: TypeUrl.Cluster, name: "shadow", path: "virtual_hosts[0].routes[0].route.request_mirror_policies[0].cluster" },
      { typeUrl: TypeUrl.Cluster, name: "b1", path: "virtual_hosts[0].routes[1].route.weighted_clusters.clusters[0].name" },
      { typeUrl: TypeUrl.Cluster, name: "b2", path: "virtual_hosts[0].routes[1].route.weighted_clusters.clusters[1].name" },
      { typeUrl: TypeUrl.VirtualHost, name: "rc/*", path: "vhds" },
    ]);
  });
});

describe("other built-in descriptors", () => {
  it("ScopedRouteConfiguration names its route configuration", () => {
    const scope = ScopedRouteConfiguration.fromPartial({ name: "s", routeConfigurationName: "rc" });
    expect(ResourceTypes.ScopedRouteConfiguration.references(scope)).toEqual([
      { typeUrl: TypeUrl.RouteConfiguration, name: "rc", path: "route_configuration_name" },
    ]);
  });

  it("ClusterLoadAssignment is named by cluster_name and references LEDS collections", () => {
    const cla = ClusterLoadAssignment.fromPartial({
      clusterName: "web",
      endpoints: [
        { ledsClusterLocalityConfig: { ledsConfig: ads, ledsCollectionName: "xdstp://a/envoy.config.endpoint.v3.LbEndpoint/web/*" } },
      ],
    });
    expect(ResourceTypes.ClusterLoadAssignment.nameOf?.(cla)).toBe("web");
    expect(ResourceTypes.ClusterLoadAssignment.references(cla)[0]?.typeUrl).toBe(TypeUrl.LbEndpoint);
  });

  it("never throws on hand-made resources that leave lists out", () => {
    for (const type of Object.values(ResourceTypes)) {
      expect(() => type.references({ name: "x", type: 3, vhds: {}, rds: {} } as never)).not.toThrow();
    }
  });

  it("LbEndpoint has no nameOf: callers supply LEDS names", () => {
    expect(ResourceTypes.LbEndpoint.nameOf).toBeUndefined();
  });

  it("marks full state and wildcard for listeners, clusters and scoped routes only", () => {
    const full = Object.entries(ResourceTypes)
      .filter(([, t]) => t.fullState)
      .map(([k]) => k);
    const wildcard = Object.entries(ResourceTypes)
      .filter(([, t]) => t.wildcardAllowed)
      .map(([k]) => k);
    expect(full).toEqual(["Listener", "ScopedRouteConfiguration", "Cluster"]);
    expect(wildcard).toEqual(["Listener", "ScopedRouteConfiguration", "Cluster"]);
  });
});

describe("resourceTypeOf", () => {
  it("returns the built-in descriptors by type URL", () => {
    expect(resourceTypeOf(TypeUrl.Cluster)).toBe(ResourceTypes.Cluster);
    expect(resourceTypeOf(TypeUrl.Secret)).toBe(ResourceTypes.Secret);
  });

  it("makes a generic descriptor for other registered message types, reading a top-level name", () => {
    const type = resourceTypeOf("type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig");
    expect(type).toBe(ResourceTypes.TypedExtensionConfig);
    const generic = resourceTypeOf("type.googleapis.com/envoy.config.cluster.v3.Filter");
    expect(generic.fullState).toBe(false);
    expect(generic.wildcardAllowed).toBe(false);
    expect(generic.nameOf?.({ name: "f" })).toBe("f");
    expect(generic.references({})).toEqual([]);
    expect(resourceTypeOf("type.googleapis.com/google.protobuf.Duration").nameOf).toBeUndefined();
  });

  it("throws UNKNOWN_TYPE for unknown type URLs", () => {
    try {
      resourceTypeOf("type.googleapis.com/acme.Nope");
      expect.unreachable();
    } catch (e) {
      expect(XdskitError.is(e) && e.code).toBe("XDSKIT_UNKNOWN_TYPE");
    }
  });
});

describe("defineResourceType / registerResourceType", () => {
  it("accepts any type URL for a user codec and registers it", () => {
    const custom = defineResourceType({
      typeUrl: "example.com/acme.mesh.v1.Quota",
      messageType: Duration,
      nameOf: () => "q",
      wildcardAllowed: true,
    });
    expect(custom.fullState).toBe(false);
    expect(custom.references(Duration.create())).toEqual([]);
    registerResourceType(custom);
    expect(resourceTypeOf("example.com/acme.mesh.v1.Quota")).toBe(custom);
    // A codec the registry knows keeps its own type URL.
    expect(typeUrlOf(Duration)).toBe("type.googleapis.com/google.protobuf.Duration");
  });

  it("rejects bad definitions with the option name", () => {
    expect(() => defineResourceType({ messageType: {} as never })).toThrow(/"messageType"/);
    expect(() => defineResourceType({ messageType: Duration, fullState: "yes" as never })).toThrow(/"fullState" must be a boolean/);
    expect(() => defineResourceType({ messageType: Duration, typeUrl: "" })).toThrow(/"typeUrl"/);
  });
});
