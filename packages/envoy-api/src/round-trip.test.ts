// Binary and JSON round trips for a representative resource of every xDS
// discovery type, written as canonical proto3 JSON: fromJson, then toJson
// must give the same JSON back, and encode/decode must give the same message.
import { describe, expect, it } from "vitest";
import { Cluster } from "./gen/envoy/config/cluster/v3/cluster.js";
import { TypedExtensionConfig } from "./gen/envoy/config/core/v3/extension.js";
import { ClusterLoadAssignment } from "./gen/envoy/config/endpoint/v3/endpoint.js";
import { LbEndpoint } from "./gen/envoy/config/endpoint/v3/endpoint_components.js";
import { Listener } from "./gen/envoy/config/listener/v3/listener.js";
import { RouteConfiguration } from "./gen/envoy/config/route/v3/route.js";
import { VirtualHost } from "./gen/envoy/config/route/v3/route_components.js";
import { ScopedRouteConfiguration } from "./gen/envoy/config/route/v3/scoped_route.js";
import { RBAC } from "./gen/envoy/extensions/filters/http/rbac/v3/rbac.js";
import { Router } from "./gen/envoy/extensions/filters/http/router/v3/router.js";
import { HttpConnectionManager } from "./gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js";
import { Secret } from "./gen/envoy/extensions/transport_sockets/tls/v3/secret.js";
import { UpstreamTlsContext } from "./gen/envoy/extensions/transport_sockets/tls/v3/tls.js";
import { DiscoveryResponse } from "./gen/envoy/service/discovery/v3/discovery.js";
import { Runtime } from "./gen/envoy/service/runtime/v3/rtds.js";
import { fromJson, toJson } from "./json.js";
import { type MessageType, pack, typeUrlOf, unpack } from "./registry.js";
import { TypeUrl } from "./type-urls.js";

const T = "type.googleapis.com/";

const rbacFilter = {
  name: "envoy.filters.http.rbac",
  typedConfig: {
    "@type": `${T}envoy.extensions.filters.http.rbac.v3.RBAC`,
    rules: {
      action: "DENY",
      policies: {
        "deny-admin": {
          permissions: [{ urlPath: { path: { prefix: "/admin" } } }],
          principals: [{ notId: { authenticated: { principalName: { exact: "spiffe://mesh/ns/ops/sa/admin" } } } }],
        },
      },
    },
  },
};

const listener = {
  name: "ingress_http",
  address: { socketAddress: { address: "0.0.0.0", portValue: 10000 } },
  filterChains: [
    {
      filters: [
        {
          name: "envoy.filters.network.http_connection_manager",
          typedConfig: {
            "@type": `${T}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
            codecType: "HTTP2",
            statPrefix: "ingress_http",
            rds: { configSource: { ads: {}, resourceApiVersion: "V3" }, routeConfigName: "local_route" },
            httpFilters: [
              rbacFilter,
              { name: "envoy.filters.http.router", typedConfig: { "@type": `${T}envoy.extensions.filters.http.router.v3.Router` } },
            ],
            useRemoteAddress: true,
            commonHttpProtocolOptions: { idleTimeout: "300s" },
          },
        },
      ],
    },
  ],
  perConnectionBufferLimitBytes: 32768,
};

const virtualHost = {
  name: "backend",
  domains: ["*"],
  routes: [
    {
      match: { prefix: "/api", headers: [{ name: "x-canary", stringMatch: { exact: "1" } }] },
      route: {
        weightedClusters: {
          clusters: [
            { name: "api-v1", weight: 90 },
            { name: "api-v2", weight: 10 },
          ],
        },
        timeout: "15s",
        retryPolicy: { retryOn: "5xx", numRetries: 3, perTryTimeout: "0.250s" },
      },
    },
    { match: { path: "/health" }, directResponse: { status: 200, body: { inlineString: "ok" } } },
    { match: { safeRegex: { regex: "^/v[0-9]+/.*" } }, redirect: { httpsRedirect: true } },
  ],
  typedPerFilterConfig: {
    "envoy.filters.http.rbac": { "@type": `${T}envoy.extensions.filters.http.rbac.v3.RBACPerRoute` },
  },
};

const cluster = {
  name: "api-v1",
  type: "EDS",
  edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: "V3" } },
  connectTimeout: "0.250s",
  lbPolicy: "LEAST_REQUEST",
  healthChecks: [
    {
      timeout: "1s",
      interval: "5s",
      unhealthyThreshold: 3,
      healthyThreshold: 2,
      httpHealthCheck: { path: "/healthz", expectedStatuses: [{ start: "200", end: "300" }] },
    },
  ],
  circuitBreakers: {
    thresholds: [{ priority: "HIGH", maxConnections: 2048, maxRequests: 4096, retryBudget: { budgetPercent: { value: 25 } } }],
  },
  typedExtensionProtocolOptions: {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
      "@type": `${T}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
      explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 100 } },
    },
  },
  outlierDetection: { consecutive5xx: 5, baseEjectionTime: "30s", maxEjectionPercent: 50 },
  transportSocket: {
    name: "envoy.transport_sockets.tls",
    typedConfig: {
      "@type": `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
      commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: "client-cert", sdsConfig: { ads: {}, resourceApiVersion: "V3" } }] },
      sni: "api.internal",
    },
  },
  metadata: { filterMetadata: { "envoy.lb": { zone: "a", canary: false, weight: 1.5 } } },
};

const lbEndpoint = {
  endpoint: { address: { socketAddress: { address: "10.0.0.7", portValue: 8080 } }, hostname: "api-7" },
  healthStatus: "HEALTHY",
  metadata: { filterMetadata: { "envoy.lb": { version: "v1" } } },
  loadBalancingWeight: 10,
};

const resources: [string, MessageType<any>, unknown][] = [
  ["Listener", Listener, listener],
  [
    "RouteConfiguration",
    RouteConfiguration,
    { name: "local_route", virtualHosts: [virtualHost], requestHeadersToRemove: ["x-internal"], validateClusters: false },
  ],
  [
    "ScopedRouteConfiguration",
    ScopedRouteConfiguration,
    { name: "scope-a", routeConfigurationName: "local_route", key: { fragments: [{ stringKey: "tenant-a" }] } },
  ],
  ["VirtualHost", VirtualHost, virtualHost],
  ["Cluster", Cluster, cluster],
  [
    "ClusterLoadAssignment",
    ClusterLoadAssignment,
    {
      clusterName: "api-v1",
      endpoints: [{ locality: { region: "eu", zone: "eu-1a" }, lbEndpoints: [lbEndpoint], loadBalancingWeight: 100, priority: 1 }],
      policy: { overprovisioningFactor: 140, endpointStaleAfter: "60s" },
    },
  ],
  ["LbEndpoint", LbEndpoint, lbEndpoint],
  [
    "Secret",
    Secret,
    {
      name: "client-cert",
      tlsCertificate: {
        certificateChain: { inlineString: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
        privateKey: { inlineBytes: "AAECAwQFBgc=" },
      },
    },
  ],
  ["Runtime", Runtime, { name: "rtds", layer: { "health_check.min_interval": 5, "feature.enabled": true, list: ["a", null] } }],
  [
    "TypedExtensionConfig",
    TypedExtensionConfig,
    {
      name: "envoy.filters.http.router",
      typedConfig: { "@type": `${T}envoy.extensions.filters.http.router.v3.Router`, suppressEnvoyHeaders: true },
    },
  ],
];

describe("round trips of every xDS resource type", () => {
  it("covers every TypeUrl except the Resource wrapper", () => {
    const covered = resources.map(([, type]) => typeUrlOf(type)).sort();
    const all = Object.entries(TypeUrl)
      .filter(([name]) => name !== "Resource")
      .map(([, url]) => url)
      .sort();
    expect(covered).toEqual(all);
  });

  for (const [name, type, json] of resources) {
    describe(name, () => {
      it("reads canonical JSON and writes the same JSON back", () => {
        expect(toJson(type, fromJson(type, json))).toEqual(json);
      });

      it("survives a binary round trip and pack/unpack", () => {
        const message = fromJson(type, json);
        const bytes = type.encode(message).finish();
        expect(bytes.length).toBeGreaterThan(0);
        expect(type.decode(bytes)).toEqual(message);
        const any = pack(type, message);
        expect(any.typeUrl).toBe(typeUrlOf(type));
        expect(unpack(any, type)).toEqual(message);
        expect(unpack(any)).toEqual(message);
      });
    });
  }
});

describe("Any nested three levels deep", () => {
  // DiscoveryResponse.resources[0] is an Any holding a Listener, whose HTTP
  // connection manager is an Any, whose RBAC filter is an Any.
  const response = {
    versionInfo: "7",
    resources: [{ "@type": TypeUrl.Listener, ...listener }],
    typeUrl: TypeUrl.Listener,
    nonce: "n-1",
  };

  it("reads and writes the JSON form", () => {
    expect(toJson(DiscoveryResponse, fromJson(DiscoveryResponse, response))).toEqual(response);
  });

  it("unpacks level by level into typed messages", () => {
    const decoded = DiscoveryResponse.decode(DiscoveryResponse.encode(fromJson(DiscoveryResponse, response)).finish());
    const l = unpack(decoded.resources[0]!, Listener);
    const hcm = unpack(l.filterChains[0]!.filters[0]!.typedConfig!, HttpConnectionManager);
    expect(hcm.statPrefix).toBe("ingress_http");
    expect(hcm.useRemoteAddress).toBe(true);
    const rbac = unpack(hcm.httpFilters[0]!.typedConfig!, RBAC);
    expect(rbac.rules?.policies["deny-admin"]?.permissions[0]?.urlPath?.path?.prefix).toBe("/admin");
    expect(unpack(hcm.httpFilters[1]!.typedConfig!, Router)).toEqual(Router.create());
  });

  it("builds the same bytes with pack as from JSON", () => {
    const { "@type": _, ...rbacJson } = rbacFilter.typedConfig;
    const rbac = fromJson(RBAC, rbacJson);
    const hcm = HttpConnectionManager.fromPartial({
      statPrefix: "x",
      httpFilters: [{ name: rbacFilter.name, typedConfig: pack(RBAC, rbac) }],
    });
    const fromPack = pack(Listener, {
      name: "l",
      filterChains: [{ filters: [{ name: "hcm", typedConfig: pack(HttpConnectionManager, hcm) }] }],
    });
    const json = toJson(Listener, unpack(fromPack, Listener)) as any;
    expect(json.filterChains[0].filters[0].typedConfig.httpFilters[0]).toEqual(rbacFilter);
    expect(pack(Listener, fromJson(Listener, json)).value).toEqual(fromPack.value);
  });

  it("packs an upstream TLS context the caller never spells the type URL of", () => {
    const any = pack(UpstreamTlsContext, { sni: "api.internal" });
    expect(toJson(Cluster, Cluster.fromPartial({ transportSocket: { name: "tls", typedConfig: any } }))).toEqual({
      transportSocket: {
        name: "tls",
        typedConfig: { "@type": `${T}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`, sni: "api.internal" },
      },
    });
  });
});
