import type { DeepPartial } from "@xdskit/envoy-api/core";
import { pack } from "@xdskit/envoy-api/core";
import { type CircuitBreakers, CircuitBreakers as CircuitBreakersCodec } from "@xdskit/envoy-api/envoy/config/cluster/v3/circuit_breaker";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { OutlierDetection } from "@xdskit/envoy-api/envoy/config/cluster/v3/outlier_detection";
import { HealthCheck } from "@xdskit/envoy-api/envoy/config/core/v3/health_check";
import type { Http1ProtocolOptions, Http2ProtocolOptions } from "@xdskit/envoy-api/envoy/config/core/v3/protocol";
import type { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { ClusterConfig } from "@xdskit/envoy-api/envoy/extensions/clusters/aggregate/v3/cluster";
import { HttpProtocolOptions } from "@xdskit/envoy-api/envoy/extensions/upstreams/http/v3/http_protocol_options";
import Long from "long";
import { builderError, type ConfigSourceInput, configSource, type DurationInput, duration } from "./common.js";
import { type EndpointInput, type LocalityOptions, loadAssignment } from "./endpoint.js";
import { type UpstreamTlsOptions, upstreamTls } from "./tls.js";
import { WellKnownName } from "./well-known.js";

/** Limits per priority; Envoy's defaults are 1024 each and 3 retries. */
export interface CircuitBreakerOptions {
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxRequests?: number;
  readonly maxRetries?: number;
  /** Limits for HIGH priority traffic. Default: Envoy's defaults. */
  readonly high?: Omit<CircuitBreakerOptions, "high">;
}

/** Circuit breakers. @example circuitBreakers({ maxConnections: 100, maxPendingRequests: 10 }) */
export function circuitBreakers(options: CircuitBreakerOptions): CircuitBreakers {
  const limits = (o: Omit<CircuitBreakerOptions, "high">, priority: number) => ({
    priority,
    ...(o.maxConnections !== undefined ? { maxConnections: o.maxConnections } : {}),
    ...(o.maxPendingRequests !== undefined ? { maxPendingRequests: o.maxPendingRequests } : {}),
    ...(o.maxRequests !== undefined ? { maxRequests: o.maxRequests } : {}),
    ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
  });
  const thresholds = [limits(options, 0)];
  if (options.high) thresholds.push(limits(options.high, 1));
  return CircuitBreakersCodec.fromPartial({ thresholds });
}

/** Passive health checking; unset fields take Envoy's defaults (5 consecutive 5xx, 10s interval, 30s ejection, 10%). */
export interface OutlierDetectionOptions {
  readonly consecutive5xx?: number;
  readonly consecutiveGatewayFailure?: number;
  readonly interval?: DurationInput;
  readonly baseEjectionTime?: DurationInput;
  readonly maxEjectionTime?: DurationInput;
  readonly maxEjectionPercent?: number;
  /** Success-rate ejection enforcement in percent. Default 100. */
  readonly enforcingSuccessRate?: number;
  /** Failure-percentage ejection: threshold and enforcement in percent. Default: off. */
  readonly failurePercentage?: { readonly threshold: number; readonly enforcing?: number };
}

/** Outlier detection. @example outlierDetection({ consecutive5xx: 3, baseEjectionTime: "30s" }) */
export function outlierDetection(options: OutlierDetectionOptions = {}): OutlierDetection {
  const d = (v: DurationInput | undefined, name: string) => (v !== undefined ? { [name]: duration(v, name) } : {});
  return OutlierDetection.fromPartial({
    ...(options.consecutive5xx !== undefined ? { consecutive5xx: options.consecutive5xx } : {}),
    ...(options.consecutiveGatewayFailure !== undefined ? { consecutiveGatewayFailure: options.consecutiveGatewayFailure } : {}),
    ...d(options.interval, "interval"),
    ...d(options.baseEjectionTime, "baseEjectionTime"),
    ...d(options.maxEjectionTime, "maxEjectionTime"),
    ...(options.maxEjectionPercent !== undefined ? { maxEjectionPercent: options.maxEjectionPercent } : {}),
    ...(options.enforcingSuccessRate !== undefined ? { enforcingSuccessRate: options.enforcingSuccessRate } : {}),
    ...(options.failurePercentage
      ? {
          failurePercentageThreshold: options.failurePercentage.threshold,
          enforcingFailurePercentage: options.failurePercentage.enforcing ?? 100,
        }
      : {}),
  });
}

/**
 * Active health checking. Envoy requires timeout, interval and both
 * thresholds; this builder defaults them to 1s, 10s, 3 unhealthy, 2 healthy.
 */
export type HealthCheckOptions = (
  | { readonly http: { readonly path: string; readonly host?: string; readonly expectedStatuses?: readonly [number, number][] } }
  | { readonly grpc: { readonly serviceName?: string; readonly authority?: string } }
  | { readonly tcp: true }
) & {
  readonly timeout?: DurationInput;
  readonly interval?: DurationInput;
  readonly unhealthyThreshold?: number;
  readonly healthyThreshold?: number;
};

/** A HealthCheck. @example healthCheck({ http: { path: "/healthz" } }) */
export function healthCheck(options: HealthCheckOptions): HealthCheck {
  const kind =
    "http" in options
      ? {
          httpHealthCheck: {
            path: options.http.path,
            host: options.http.host ?? "",
            expectedStatuses: (options.http.expectedStatuses ?? []).map(([start, end]) => ({
              start: Long.fromNumber(start),
              end: Long.fromNumber(end),
            })),
          },
        }
      : "grpc" in options
        ? { grpcHealthCheck: { serviceName: options.grpc.serviceName ?? "", authority: options.grpc.authority ?? "" } }
        : { tcpHealthCheck: {} };
  return HealthCheck.fromPartial({
    timeout: duration(options.timeout ?? "1s", "timeout"),
    interval: duration(options.interval ?? "10s", "interval"),
    unhealthyThreshold: options.unhealthyThreshold ?? 3,
    healthyThreshold: options.healthyThreshold ?? 2,
    ...kind,
  });
}

/** A load-balancing policy, by its lower-case Envoy name. */
export type LbPolicyName = "round_robin" | "least_request" | "ring_hash" | "random" | "maglev";
const LB_POLICIES: Readonly<Record<LbPolicyName, number>> = { round_robin: 0, least_request: 1, ring_hash: 2, random: 3, maglev: 5 };
const DISCOVERY = { static: 0, strict_dns: 1, logical_dns: 2, eds: 3 } as const;

/** Options of {@link cluster}. */
export interface ClusterOptions {
  readonly name: string;
  /** How endpoints are found. Default `"eds"`. */
  readonly discovery?: keyof typeof DISCOVERY;
  /** EDS: the name to request (default: the cluster name) and where from (default `"ads"`). */
  readonly eds?: { readonly serviceName?: string; readonly configSource?: ConfigSourceInput };
  /** Static and DNS clusters: the endpoints (one locality), or full localities. */
  readonly endpoints?: readonly EndpointInput[];
  readonly localities?: readonly LocalityOptions[];
  /** Default 5s (Envoy's default). */
  readonly connectTimeout?: DurationInput;
  /** Default `"round_robin"` (Envoy's default). */
  readonly lbPolicy?: LbPolicyName;
  /** Ring hash sizes. Envoy's defaults: 1024 and 8M. */
  readonly ringHash?: { readonly minimumRingSize?: number; readonly maximumRingSize?: number };
  /** Least request: how many hosts to compare. Envoy's default 2. */
  readonly leastRequest?: { readonly choiceCount?: number };
  readonly circuitBreakers?: CircuitBreakerOptions;
  readonly outlierDetection?: OutlierDetectionOptions;
  readonly healthChecks?: readonly HealthCheckOptions[];
  /** Speak HTTP/2 upstream (true, or its options); gRPC backends need it. Default: HTTP/1.1. */
  readonly http2?: boolean | DeepPartial<Http2ProtocolOptions>;
  /** HTTP/1.1 options. */
  readonly http1?: DeepPartial<Http1ProtocolOptions>;
  /** Upstream connection idle timeout and request cap. Envoy's defaults: 1 hour, unlimited. */
  readonly idleTimeout?: DurationInput;
  readonly maxRequestsPerConnection?: number;
  /** TLS (and mTLS) to the upstream with certificates from SDS. */
  readonly tls?: UpstreamTlsOptions;
  /** DNS clusters: address family and refresh rate (Envoy's defaults AUTO and 5s). */
  readonly dnsLookupFamily?: "AUTO" | "V4_ONLY" | "V6_ONLY" | "V4_PREFERRED" | "ALL";
  readonly dnsRefreshRate?: DurationInput;
}

function protocolOptions(options: ClusterOptions): Record<string, ReturnType<typeof pack>> {
  const { http2, http1, idleTimeout, maxRequestsPerConnection } = options;
  if (!http2 && !http1 && idleTimeout === undefined && maxRequestsPerConnection === undefined) return {};
  const explicit = http2 ? { http2ProtocolOptions: http2 === true ? {} : http2 } : { httpProtocolOptions: http1 ?? {} };
  const common =
    idleTimeout !== undefined || maxRequestsPerConnection !== undefined
      ? {
          commonHttpProtocolOptions: {
            ...(idleTimeout !== undefined ? { idleTimeout: duration(idleTimeout, "idleTimeout") } : {}),
            ...(maxRequestsPerConnection !== undefined ? { maxRequestsPerConnection } : {}),
          },
        }
      : {};
  return { [WellKnownName.UpstreamHttpProtocolOptions]: pack(HttpProtocolOptions, { explicitHttpConfig: explicit, ...common }) };
}

/**
 * A cluster: EDS (default), static, strict DNS or logical DNS, with load
 * balancing, circuit breakers, outlier detection, health checks, HTTP/2 or
 * HTTP/1 options and upstream (m)TLS.
 *
 * @example
 * cluster({ name: "web" }) // EDS over ADS, round robin, 5s connect timeout
 * cluster({ name: "db", discovery: "strict_dns", endpoints: ["db.internal:5432"], circuitBreakers: { maxConnections: 50 } })
 */
export function cluster(options: ClusterOptions): Cluster {
  const discovery = options.discovery ?? "eds";
  const type = DISCOVERY[discovery];
  if (type === undefined) throw builderError("cluster", "discovery", '"eds", "static", "strict_dns" or "logical_dns"', discovery);
  const lb = LB_POLICIES[options.lbPolicy ?? "round_robin"];
  if (lb === undefined) throw builderError("cluster", "lbPolicy", Object.keys(LB_POLICIES).join(", "), options.lbPolicy);
  let assignment: ClusterLoadAssignment | undefined;
  if (discovery !== "eds") {
    if (options.endpoints === undefined && options.localities === undefined) {
      throw builderError("cluster", "endpoints", `endpoints or localities for a ${discovery} cluster`, undefined);
    }
    assignment = loadAssignment({
      clusterName: options.name,
      ...(options.localities ? { localities: options.localities } : { endpoints: options.endpoints ?? [] }),
    });
  }
  const families = { AUTO: 0, V4_ONLY: 1, V6_ONLY: 2, V4_PREFERRED: 3, ALL: 4 } as const;
  return Cluster.fromPartial({
    name: options.name,
    type,
    ...(discovery === "eds"
      ? { edsClusterConfig: { edsConfig: configSource(options.eds?.configSource), serviceName: options.eds?.serviceName ?? "" } }
      : { loadAssignment: assignment }),
    connectTimeout: duration(options.connectTimeout ?? "5s", "connectTimeout"),
    lbPolicy: lb,
    ...(options.ringHash
      ? {
          ringHashLbConfig: {
            ...(options.ringHash.minimumRingSize !== undefined ? { minimumRingSize: options.ringHash.minimumRingSize } : {}),
            ...(options.ringHash.maximumRingSize !== undefined ? { maximumRingSize: options.ringHash.maximumRingSize } : {}),
          },
        }
      : {}),
    ...(options.leastRequest
      ? {
          leastRequestLbConfig: {
            ...(options.leastRequest.choiceCount !== undefined ? { choiceCount: options.leastRequest.choiceCount } : {}),
          },
        }
      : {}),
    ...(options.circuitBreakers ? { circuitBreakers: circuitBreakers(options.circuitBreakers) } : {}),
    ...(options.outlierDetection ? { outlierDetection: outlierDetection(options.outlierDetection) } : {}),
    healthChecks: (options.healthChecks ?? []).map(healthCheck),
    typedExtensionProtocolOptions: protocolOptions(options),
    ...(options.tls ? { transportSocket: upstreamTls(options.tls) } : {}),
    ...(options.dnsLookupFamily ? { dnsLookupFamily: families[options.dnsLookupFamily] } : {}),
    ...(options.dnsRefreshRate !== undefined ? { dnsRefreshRate: duration(options.dnsRefreshRate, "dnsRefreshRate") } : {}),
  });
}

/** Options of {@link aggregateCluster}. */
export interface AggregateClusterOptions {
  readonly name: string;
  /** Member clusters in priority order. */
  readonly clusters: readonly string[];
  /**
   * `"cluster_provided"` (default) is what Envoy requires for aggregate
   * clusters; gRPC clients want `"round_robin"` (use it with the grpc profile).
   */
  readonly lbPolicy?: "cluster_provided" | "round_robin";
  /** Default 5s. */
  readonly connectTimeout?: DurationInput;
}

/**
 * An aggregate cluster: tries the member clusters in order (failover), for Envoy and gRPC (gRFC A37).
 * @example aggregateCluster({ name: "web", clusters: ["web-primary", "web-fallback"] })
 */
export function aggregateCluster(options: AggregateClusterOptions): Cluster {
  return Cluster.fromPartial({
    name: options.name,
    clusterType: { name: WellKnownName.AggregateCluster, typedConfig: pack(ClusterConfig, { clusters: [...options.clusters] }) },
    connectTimeout: duration(options.connectTimeout ?? "5s", "connectTimeout"),
    lbPolicy: options.lbPolicy === "round_robin" ? 0 : 6,
  });
}
