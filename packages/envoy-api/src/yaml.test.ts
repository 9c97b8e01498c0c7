import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ErrorCode, XdskitError } from "./errors.js";
import { Bootstrap } from "./gen/envoy/config/bootstrap/v3/bootstrap.js";
import { Cluster } from "./gen/envoy/config/cluster/v3/cluster.js";
import { HttpConnectionManager } from "./gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js";
import { UpstreamTlsContext } from "./gen/envoy/extensions/transport_sockets/tls/v3/tls.js";
import { fromJson, toJson } from "./json.js";
import { unpack } from "./registry.js";
import { fromYaml, toYaml } from "./yaml.js";

// A bootstrap as Envoy users write it (snake_case, typed_config with
// "@type", durations, wrappers, inline routes and RDS, upstream TLS).
const BOOTSTRAP = `
node:
  id: front-proxy-1
  cluster: front-proxy
  metadata:
    team: edge
    canary: false
admin:
  address:
    socket_address: { address: 127.0.0.1, port_value: 9901 }
static_resources:
  listeners:
  - name: listener_0
    address:
      socket_address:
        address: 0.0.0.0
        port_value: 10000
    per_connection_buffer_limit_bytes: 32768
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          codec_type: AUTO
          use_remote_address: true
          stream_idle_timeout: 300s
          route_config:
            name: local_route
            virtual_hosts:
            - name: backend
              domains: ["*"]
              routes:
              - match: { prefix: "/api" }
                route:
                  cluster: service_api
                  timeout: 15s
                  retry_policy:
                    retry_on: 5xx
                    num_retries: 3
                    per_try_timeout: 0.25s
              - match: { prefix: "/" }
                route: { cluster: service_web }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  - name: listener_rds
    address:
      socket_address: { address: 0.0.0.0, port_value: 10001 }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: rds_http
          rds:
            route_config_name: dynamic_routes
            config_source:
              resource_api_version: V3
              api_config_source:
                api_type: GRPC
                transport_api_version: V3
                grpc_services:
                - envoy_grpc: { cluster_name: xds_cluster }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: service_api
    type: STRICT_DNS
    connect_timeout: 0.25s
    lb_policy: ROUND_ROBIN
    dns_lookup_family: V4_ONLY
    circuit_breakers:
      thresholds:
      - priority: HIGH
        max_connections: 2048
        max_pending_requests: 1024
    load_assignment:
      cluster_name: service_api
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: api.internal, port_value: 443 }
          load_balancing_weight: 3
        - endpoint:
            address:
              socket_address: { address: api-2.internal, port_value: 443 }
          load_balancing_weight: 1
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: api.internal
        common_tls_context:
          validation_context:
            trusted_ca: { filename: /etc/ssl/certs/ca-certificates.crt }
  - name: service_web
    type: LOGICAL_DNS
    connect_timeout: 5s
    load_assignment:
      cluster_name: service_web
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: web.internal, port_value: 8080 }
  - name: xds_cluster
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {}
    load_assignment:
      cluster_name: xds_cluster
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: 127.0.0.1, port_value: 18000 }
layered_runtime:
  layers:
  - name: static_layer
    static_layer:
      overload.global_downstream_max_connections: 50000
`;

describe("fromYaml", () => {
  it("loads an Envoy bootstrap into typed messages", () => {
    const bootstrap = fromYaml(Bootstrap, BOOTSTRAP);
    expect(bootstrap.node?.id).toBe("front-proxy-1");
    expect(bootstrap.node?.metadata).toEqual({ team: "edge", canary: false });
    const [api, web, xds] = bootstrap.staticResources?.clusters ?? [];
    expect(api?.connectTimeout?.nanos).toBe(250_000_000);
    expect(api?.circuitBreakers?.thresholds[0]?.maxConnections).toBe(2048);
    expect(api?.loadAssignment?.endpoints[0]?.lbEndpoints[1]?.loadBalancingWeight).toBe(1);
    expect(unpack(api!.transportSocket!.typedConfig!, UpstreamTlsContext).sni).toBe("api.internal");
    expect(web?.connectTimeout?.seconds.toNumber()).toBe(5);
    expect(Object.keys(xds?.typedExtensionProtocolOptions ?? {})).toEqual(["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]);
    const listener = bootstrap.staticResources?.listeners[0];
    const hcm = unpack(listener!.filterChains[0]!.filters[0]!.typedConfig!, HttpConnectionManager);
    expect(hcm.useRemoteAddress).toBe(true);
    expect(hcm.routeConfig?.virtualHosts[0]?.routes[0]?.route?.retryPolicy?.numRetries).toBe(3);
    expect(bootstrap.layeredRuntime?.layers[0]?.staticLayer).toEqual({ "overload.global_downstream_max_connections": 50000 });
  });

  it("writes it back equal: same messages, and the same YAML up to canonical forms", () => {
    const bootstrap = fromYaml(Bootstrap, BOOTSTRAP);
    const text = toYaml(Bootstrap, bootstrap);
    expect(fromYaml(Bootstrap, text)).toEqual(bootstrap);
    expect(Bootstrap.decode(Bootstrap.encode(bootstrap).finish())).toEqual(bootstrap);
    // The only differences from the input are canonical forms: durations
    // with 0/3/6/9 fractional digits, and default values left out.
    const expected = parse(BOOTSTRAP);
    const api = expected.static_resources.clusters[0];
    api.connect_timeout = "0.250s";
    delete api.lb_policy; // ROUND_ROBIN is the default
    expected.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.retry_policy.per_try_timeout =
      "0.250s";
    delete expected.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.codec_type; // AUTO is the default
    expect(parse(text)).toEqual(expected);
  });

  it("accepts camelCase names, anchors and merge keys", () => {
    const bootstrap = fromYaml(
      Bootstrap,
      `
staticResources:
  clusters:
  - &base
    name: a
    connectTimeout: 2s
    type: STATIC
  - <<: *base
    name: b
`,
    );
    const [a, b] = bootstrap.staticResources?.clusters ?? [];
    expect(b?.name).toBe("b");
    expect(b?.connectTimeout).toEqual(a?.connectTimeout);
    expect(b?.type).toBe(a?.type);
  });

  it("reports a bad merge key as XDSKIT_INVALID_YAML", () => {
    expect(() => fromYaml(Cluster, "name: x\n<<: 5\n")).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_YAML }));
  });

  it("names the path of a bad value in a nested Any", () => {
    const bad = BOOTSTRAP.replace("per_try_timeout: 0.25s", "per_try_timeout: 250ms");
    try {
      fromYaml(Bootstrap, bad);
      expect.unreachable();
    } catch (e) {
      expect(XdskitError.is(e)).toBe(true);
      expect((e as XdskitError).code).toBe(ErrorCode.INVALID_YAML);
      expect((e as XdskitError).path).toBe(
        "$.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.retry_policy.per_try_timeout",
      );
    }
  });

  it("reads 64-bit integers exactly and plain integers everywhere else", () => {
    const bootstrap = fromYaml(
      Bootstrap,
      `
node: { id: n, metadata: { big: 12, ratio: 0.5 } }
static_resources:
  clusters:
  - name: a
    per_connection_buffer_limit_bytes: 4294967295
    lb_policy: 2
    ring_hash_lb_config: { minimum_ring_size: 18446744073709551615 }
    upstream_connection_options: { tcp_keepalive: { keepalive_time: 7 } }
`,
    );
    const cluster = bootstrap.staticResources?.clusters[0];
    expect(cluster?.ringHashLbConfig?.minimumRingSize?.toString()).toBe("18446744073709551615");
    expect(cluster?.perConnectionBufferLimitBytes).toBe(4294967295);
    expect(cluster?.lbPolicy).toBe(2);
    expect(bootstrap.node?.metadata).toEqual({ big: 12, ratio: 0.5 });
  });

  it("reports YAML syntax errors with their line, as XDSKIT_INVALID_YAML", () => {
    expect(() => fromYaml(Cluster, "name: [unclosed\n")).toThrow(/not valid YAML: .*line/);
    expect(() => fromYaml(Cluster, "name: [unclosed\n")).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_YAML, path: "$" }));
  });

  it("says a duration needs its unit when YAML gives a bare number, without a BigInt's `n`", () => {
    const read = () => fromYaml(Cluster, "name: a\nconnect_timeout: 5\n");
    expect(read).toThrow(
      expect.objectContaining({
        code: ErrorCode.INVALID_YAML,
        path: "$.connect_timeout",
        message: '$.connect_timeout: expected a duration string like "1.5s" (a number has no unit: write "5s" for 5 seconds), got 5',
      }),
    );
    // The same rule in JSON, under JSON's code.
    expect(() => fromJson(Cluster, { name: "a", connectTimeout: 5 })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_JSON, path: "$.connectTimeout" }),
    );
    // Any other integer shows as written, never as 5n.
    expect(() => fromYaml(Cluster, "name: 7\n")).toThrow(/got 7$/);
  });
});

describe("toYaml", () => {
  it("writes proto names by default and JSON names on request", () => {
    const cluster = Cluster.fromPartial({ name: "web", connectTimeout: { seconds: 1 } });
    expect(toYaml(Cluster, cluster)).toBe("name: web\nconnect_timeout: 1s\n");
    expect(toYaml(Cluster, cluster, { useProtoNames: false })).toBe("name: web\nconnectTimeout: 1s\n");
    expect(toJson(Cluster, cluster)).toEqual({ name: "web", connectTimeout: "1s" });
  });
});
