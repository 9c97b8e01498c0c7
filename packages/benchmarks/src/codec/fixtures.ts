// The large resources the codec benchmark encodes and decodes: a Cluster with
// most fields set and thousands of endpoints, and a RouteConfiguration with
// hundreds of virtual hosts. Sizes come from the environment so the same
// file serves quick runs and big ones.
import { pack } from "@xdskit/envoy-api";
import { Cluster, Cluster_DiscoveryType, Cluster_LbPolicy } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { RoutingPriority } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { HealthStatus } from "@xdskit/envoy-api/envoy/config/core/v3/health_check";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { UpstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import { HttpProtocolOptions } from "@xdskit/envoy-api/envoy/extensions/upstreams/http/v3/http_protocol_options";

/** A Cluster with `localities` x `perLocality` endpoints, health checks, circuit breakers, TLS. */
export function largeCluster(localities: number, perLocality: number): Cluster {
  return Cluster.fromPartial({
    name: "outbound|443||payments.prod.svc.cluster.local",
    altStatName: "payments_prod",
    type: Cluster_DiscoveryType.STRICT_DNS,
    connectTimeout: { seconds: 1, nanos: 500_000_000 },
    perConnectionBufferLimitBytes: 32768,
    lbPolicy: Cluster_LbPolicy.LEAST_REQUEST,
    leastRequestLbConfig: { choiceCount: 3 },
    healthChecks: [
      {
        timeout: { seconds: 1 },
        interval: { seconds: 5 },
        intervalJitter: { nanos: 100_000_000 },
        unhealthyThreshold: 3,
        healthyThreshold: 2,
        reuseConnection: true,
        httpHealthCheck: {
          host: "payments.internal",
          path: "/healthz",
          requestHeadersToAdd: [{ header: { key: "x-health", value: "envoy" } }],
          expectedStatuses: [{ start: 200, end: 300 }],
        },
      },
      { timeout: { seconds: 2 }, interval: { seconds: 10 }, unhealthyThreshold: 2, healthyThreshold: 1, tcpHealthCheck: {} },
    ],
    circuitBreakers: {
      thresholds: [
        { priority: RoutingPriority.DEFAULT, maxConnections: 4096, maxPendingRequests: 2048, maxRequests: 8192, maxRetries: 16 },
        { priority: RoutingPriority.HIGH, maxConnections: 8192, maxPendingRequests: 4096, maxRequests: 16384, maxRetries: 32 },
      ],
    },
    outlierDetection: {
      consecutive5xx: 5,
      interval: { seconds: 10 },
      baseEjectionTime: { seconds: 30 },
      maxEjectionPercent: 50,
      enforcingConsecutive5xx: 100,
      successRateMinimumHosts: 5,
    },
    commonLbConfig: { healthyPanicThreshold: { value: 40 }, localityWeightedLbConfig: {} },
    transportSocket: {
      name: "envoy.transport_sockets.tls",
      typedConfig: pack(UpstreamTlsContext, {
        sni: "payments.prod.svc.cluster.local",
        commonTlsContext: {
          tlsCertificateSdsSecretConfigs: [{ name: "default", sdsConfig: { ads: {}, resourceApiVersion: 2 } }],
          alpnProtocols: ["h2", "http/1.1"],
        },
      }),
    },
    typedExtensionProtocolOptions: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": pack(HttpProtocolOptions, {
        explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 1024 } },
        commonHttpProtocolOptions: { idleTimeout: { seconds: 300 } },
      }),
    },
    metadata: {
      filterMetadata: { istio: { config: "/apis/networking/v1/namespaces/prod/destination-rule/payments", default_original_port: 443 } },
    },
    loadAssignment: {
      clusterName: "outbound|443||payments.prod.svc.cluster.local",
      endpoints: Array.from({ length: localities }, (_, l) => ({
        locality: { region: "eu-west-1", zone: `eu-west-1${String.fromCharCode(97 + (l % 3))}`, subZone: `rack-${l}` },
        loadBalancingWeight: 100,
        priority: l % 2,
        lbEndpoints: Array.from({ length: perLocality }, (_, i) => ({
          endpoint: {
            address: { socketAddress: { address: `10.${l}.${i >> 8}.${i & 255}`, portValue: 8443 } },
            healthCheckConfig: { portValue: 15021 },
            hostname: `payments-${l}-${i}.prod.svc.cluster.local`,
          },
          healthStatus: i % 17 === 0 ? HealthStatus.DRAINING : HealthStatus.HEALTHY,
          loadBalancingWeight: 1 + (i % 4),
          metadata: {
            filterMetadata: { "envoy.transport_socket_match": { tlsMode: "istio" }, istio: { workload: `payments-v${1 + (i % 3)};prod` } },
          },
        })),
      })),
      policy: { overprovisioningFactor: 140 },
    },
  });
}

/** A RouteConfiguration with `hosts` virtual hosts of `routesPerHost` routes each. */
export function largeRouteConfiguration(hosts: number, routesPerHost: number): RouteConfiguration {
  return RouteConfiguration.fromPartial({
    name: "http.8080",
    validateClusters: false,
    requestHeadersToRemove: ["x-envoy-internal"],
    virtualHosts: Array.from({ length: hosts }, (_, h) => ({
      name: `service-${h}.prod.svc.cluster.local:8080`,
      domains: [`service-${h}.prod.svc.cluster.local`, `service-${h}.prod`, `service-${h}`, `10.96.${h >> 8}.${h & 255}`],
      includeRequestAttemptCount: true,
      routes: Array.from({ length: routesPerHost }, (_, r) => ({
        name: `route-${h}-${r}`,
        match:
          r % 3 === 0
            ? { prefix: `/api/v${r}/`, headers: [{ name: "x-tenant", stringMatch: { exact: `tenant-${r}` } }] }
            : r % 3 === 1
              ? { path: `/static/${r}.js`, caseSensitive: false }
              : { safeRegex: { regex: `^/items/[0-9]+/v${r}$` } },
        route: {
          weightedClusters: {
            clusters: [
              { name: `outbound|8080|v1|service-${h}.prod.svc.cluster.local`, weight: 90 },
              { name: `outbound|8080|v2|service-${h}.prod.svc.cluster.local`, weight: 10 },
            ],
          },
          timeout: { seconds: 15 },
          retryPolicy: { retryOn: "connect-failure,refused-stream,5xx", numRetries: 2, perTryTimeout: { nanos: 500_000_000 } },
          maxStreamDuration: { grpcTimeoutHeaderMax: { seconds: 30 } },
        },
        decorator: { operation: `service-${h}.prod:8080/*` },
        requestHeadersToAdd: [{ header: { key: "x-route", value: `r${r}` } }],
      })),
    })),
  });
}
