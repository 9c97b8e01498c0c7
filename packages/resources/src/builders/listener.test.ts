import { TypeUrl, unpack } from "@xdskit/envoy-api";
import type { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { TcpProxy } from "@xdskit/envoy-api/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy";
import { DownstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import { describe, expect, it } from "vitest";
import {
  apiListener,
  corsFilter,
  ExtensionTypeUrl,
  extAuthzFilter,
  faultFilter,
  fileAccessLog,
  filterChain,
  formatViolation,
  healthCheckFilter,
  httpConnectionManager,
  httpConnectionManagerFilter,
  httpListener,
  jwtAuthnFilter,
  listener,
  localRateLimitFilter,
  ResourceTypes,
  rbacFilter,
  route,
  routeConfiguration,
  stdoutAccessLog,
  tcpListener,
  tcpProxyFilter,
  validate,
  virtualHost,
  WellKnownName,
} from "../index.js";

function expectValidAndEncodes(l: Listener): void {
  expect(validate(ResourceTypes.Listener, l).map(formatViolation)).toEqual([]);
  const bytes = ResourceTypes.Listener.messageType.encode(l).finish();
  expect(ResourceTypes.Listener.messageType.encode(ResourceTypes.Listener.messageType.decode(bytes)).finish()).toEqual(bytes);
}

function hcmOf(l: Listener, chain = 0): HttpConnectionManager {
  const any = l.filterChains[chain]?.filters[0]?.typedConfig;
  if (!any) throw new Error("no filter");
  return unpack(any, HttpConnectionManager);
}

describe("httpListener", () => {
  it("builds an RDS listener whose filter chain ends in the router", () => {
    const l = httpListener({ name: "http", port: 8080, rds: { routeConfigName: "web" } });
    expectValidAndEncodes(l);
    const hcm = hcmOf(l);
    expect(hcm.rds?.routeConfigName).toBe("web");
    expect(hcm.rds?.configSource?.ads).toEqual({});
    expect(hcm.statPrefix).toBe("ingress_http");
    expect(hcm.httpFilters.map((f) => f.name)).toEqual([WellKnownName.Router]);
    expect(ResourceTypes.Listener.references(l)).toEqual([
      { typeUrl: TypeUrl.RouteConfiguration, name: "web", path: "filter_chains[0].filters[0].typed_config.rds.route_config_name" },
    ]);
  });

  it("takes inline routes and every HTTP filter, appending the router once", () => {
    const routes = routeConfiguration({
      name: "inline",
      virtualHosts: [virtualHost({ name: "all", routes: [route({ match: { prefix: "/" }, cluster: "web" })] })],
    });
    const l = httpListener({
      name: "edge",
      port: 443,
      routeConfig: routes,
      httpFilters: [
        healthCheckFilter({ path: "/healthz" }),
        corsFilter(),
        faultFilter({ abort: { httpStatus: 503, percent: 1 } }),
        localRateLimitFilter({ maxTokens: 100, fillInterval: "1s" }),
        rbacFilter({
          action: "ALLOW",
          policies: {
            mesh: {
              permissions: ["any", { path: { prefix: "/api" } }, { destinationPort: 443 }, { header: { name: ":method", exact: "GET" } }],
              principals: [
                { authenticated: { exact: "spiffe://mesh/ns/web/sa/frontend" } },
                { remoteIp: "10.0.0.0/8" },
                { header: { name: "x-internal", present: true } },
              ],
            },
          },
        }),
        jwtAuthnFilter({
          providers: {
            idp: {
              issuer: "https://idp.example.com",
              audiences: ["web"],
              remoteJwks: { uri: "https://idp.example.com/jwks", cluster: "idp" },
            },
            local: { localJwks: '{"keys":[]}' },
          },
          rules: [
            { prefix: "/api", requires: "idp" },
            { prefix: "/both", requires: { allOf: ["idp", "local"] } },
            { prefix: "/either", requires: { anyOf: ["idp", "local"] }, allowMissing: true },
            { prefix: "/" },
          ],
        }),
        extAuthzFilter({ grpcCluster: "authz", maxRequestBytes: 8192 }),
        extAuthzFilter({ http: { uri: "http://authz:8000", cluster: "authz-http", pathPrefix: "/check" }, timeout: "500ms" }),
      ],
      accessLogs: [fileAccessLog("/var/log/envoy/access.log"), stdoutAccessLog({ format: { code: "%RESPONSE_CODE%" } })],
      websockets: true,
      useRemoteAddress: true,
      tls: { certificateSecret: "edge-cert" },
    });
    expectValidAndEncodes(l);
    const hcm = hcmOf(l);
    expect(hcm.httpFilters.map((f) => f.name)).toEqual([
      WellKnownName.HealthCheck,
      WellKnownName.Cors,
      WellKnownName.Fault,
      WellKnownName.LocalRateLimit,
      WellKnownName.Rbac,
      WellKnownName.JwtAuthn,
      WellKnownName.ExtAuthz,
      WellKnownName.ExtAuthz,
      WellKnownName.Router,
    ]);
    expect(hcm.httpFilters.at(-1)?.typedConfig?.typeUrl).toBe(ExtensionTypeUrl.Router);
    expect(hcm.accessLog.map((a) => a.name)).toEqual([WellKnownName.FileAccessLog, WellKnownName.StdoutAccessLog]);
    const tls = unpack(l.filterChains[0]?.transportSocket?.typedConfig ?? { typeUrl: "", value: new Uint8Array() }, DownstreamTlsContext);
    expect(tls.commonTlsContext?.tlsCertificateSdsSecretConfigs[0]?.name).toBe("edge-cert");
    expect(tls.requireClientCertificate).toBe(false);
  });

  it("refuses both or neither of rds and routeConfig", () => {
    expect(() => httpConnectionManager({})).toThrow(/exactly one of rds or routeConfig/);
  });
});

describe("listener with SNI filter chains", () => {
  it("adds the TLS inspector and terminates mTLS per server name", () => {
    const l = listener({
      name: "https",
      port: 8443,
      filterChains: [
        filterChain({
          serverNames: ["a.example.com"],
          tls: { certificateSecret: "a-cert", validationContextSecret: "mesh-ca", subjectAltNames: [{ prefix: "spiffe://mesh/" }] },
          filters: [httpConnectionManagerFilter(httpConnectionManager({ rds: { routeConfigName: "a" } }))],
        }),
        filterChain({ serverNames: ["b.example.com"], tls: { certificateSecret: "b-cert" }, filters: [tcpProxyFilter({ cluster: "b" })] }),
      ],
      defaultFilterChain: filterChain({ filters: [tcpProxyFilter({ cluster: "fallback" })] }),
    });
    expectValidAndEncodes(l);
    expect(l.listenerFilters.map((f) => f.name)).toEqual([WellKnownName.TlsInspector]);
    expect(l.filterChains.map((c) => c.filterChainMatch?.serverNames)).toEqual([["a.example.com"], ["b.example.com"]]);
    const refs = ResourceTypes.Listener.references(l).map((r) => `${r.typeUrl.split(".").at(-1)}:${r.name}`);
    expect(refs).toEqual(["RouteConfiguration:a", "Secret:a-cert", "Secret:mesh-ca", "Cluster:b", "Secret:b-cert", "Cluster:fallback"]);
    const tls = unpack(l.filterChains[0]?.transportSocket?.typedConfig ?? { typeUrl: "", value: new Uint8Array() }, DownstreamTlsContext);
    expect(tls.requireClientCertificate).toBe(true);
  });
});

describe("tcpListener", () => {
  it("proxies to one cluster or splits by weight", () => {
    const one = tcpListener({ name: "db", port: 5432, cluster: "postgres", idleTimeout: "30m" });
    expectValidAndEncodes(one);
    const split = tcpListener({
      name: "db2",
      port: 5433,
      weightedClusters: [
        { name: "pg-a", weight: 90 },
        { name: "pg-b", weight: 10 },
      ],
    });
    expectValidAndEncodes(split);
    const proxy = unpack(split.filterChains[0]?.filters[0]?.typedConfig ?? { typeUrl: "", value: new Uint8Array() }, TcpProxy);
    expect(proxy.weightedClusters?.clusters.map((c) => c.name)).toEqual(["pg-a", "pg-b"]);
  });
});

describe("apiListener", () => {
  it("puts the connection manager in api_listener for gRPC clients and passes the grpc profile", () => {
    const l = apiListener({ name: "greeter", rds: { routeConfigName: "greeter-routes" } });
    expect(validate(ResourceTypes.Listener, l, { profile: "grpc" })).toEqual([]);
    expect(l.apiListener?.apiListener?.typeUrl).toBe(ExtensionTypeUrl.HttpConnectionManager);
  });
});
