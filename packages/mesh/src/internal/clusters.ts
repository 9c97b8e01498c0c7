// Clusters and endpoints of one Service port and version, for Envoy sidecars
// or proxyless gRPC clients.
import type { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { TransportSocket } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { DownstreamTlsContext, UpstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import {
  type ClusterOptions,
  cluster,
  type LbPolicyName,
  type LocalityOptions,
  loadAssignment,
  typedExtension,
  WellKnownName,
} from "@xdskit/resources";
import type { Service, ServicePort, TrafficPolicy } from "../model.js";
import type { ServiceInstance } from "../registry.js";
import { durationMs } from "./checks.js";
import type { CompileContext } from "./context.js";

export type Profile = "envoy" | "grpc";

/** The TrafficPolicy fields in force: later policies (a version's) override earlier ones (the Service's) field by field. */
export function mergedPolicy(policies: readonly TrafficPolicy[]): TrafficPolicy["spec"] {
  let spec: Record<string, unknown> = {};
  for (const p of policies) {
    const s = p.spec as Record<string, unknown>;
    spec = {
      ...spec,
      ...Object.fromEntries(
        Object.entries(s).map(([k, v]) => [k, typeof v === "object" && v && !Array.isArray(v) ? { ...(spec[k] as object), ...v } : v]),
      ),
    };
  }
  return spec as unknown as TrafficPolicy["spec"];
}

const LB: Readonly<Record<string, LbPolicyName>> = {
  ROUND_ROBIN: "round_robin",
  LEAST_REQUEST: "least_request",
  RING_HASH: "ring_hash",
  RANDOM: "random",
  MAGLEV: "maglev",
};

/** Settings of the compiled clusters (from MeshCompilerOptions). */
export interface ClusterSettings {
  readonly connectTimeout: string;
  /** When the target takes mTLS. Envoy: SDS names of the workload certificate and the trust bundle. gRPC: the certificate provider instance (gRFC A29). */
  readonly tls?: {
    readonly certificateSecret: string;
    readonly validationContextSecret: string;
    readonly peerSpiffeId: string;
    readonly certificateProvider?: string;
  };
}

/** The cluster of a Service port and version. */
export function buildCluster(
  name: string,
  port: ServicePort,
  policy: TrafficPolicy["spec"] | undefined,
  profile: Profile,
  settings: ClusterSettings,
): Cluster {
  const pool = policy?.connectionPool;
  const od = policy?.outlierDetection;
  const lb = policy?.loadBalancer;
  // gRPC supports round robin and ring hash (gRFC A42) and least request (A48); the rest fall back to round robin.
  let lbPolicy = LB[lb?.policy ?? "ROUND_ROBIN"] ?? "round_robin";
  if (profile === "grpc" && !["round_robin", "ring_hash", "least_request"].includes(lbPolicy))
    lbPolicy = lbPolicy === "maglev" ? "ring_hash" : "round_robin";
  const options: ClusterOptions = {
    name,
    connectTimeout: settings.connectTimeout,
    lbPolicy,
    ...(profile === "envoy" && (port.protocol ?? "HTTP") === "GRPC" ? { http2: true } : {}),
    ...(pool
      ? {
          circuitBreakers:
            profile === "grpc"
              ? { ...(pool.maxRequests !== undefined ? { maxRequests: pool.maxRequests } : {}) }
              : {
                  ...(pool.maxConnections !== undefined ? { maxConnections: pool.maxConnections } : {}),
                  ...(pool.maxPendingRequests !== undefined ? { maxPendingRequests: pool.maxPendingRequests } : {}),
                  ...(pool.maxRequests !== undefined ? { maxRequests: pool.maxRequests } : {}),
                  ...(pool.maxRetries !== undefined ? { maxRetries: pool.maxRetries } : {}),
                },
        }
      : {}),
    ...(od
      ? {
          outlierDetection: {
            interval: od.interval ?? "10s",
            baseEjectionTime: od.baseEjectionTime ?? "30s",
            maxEjectionPercent: od.maxEjectionPercent ?? 10,
            // gRPC implements success-rate and failure-percentage ejection only (gRFC A50).
            ...(profile === "envoy" ? { consecutive5xx: od.consecutiveErrors ?? 5 } : { enforcingSuccessRate: 0 }),
            ...(od.failurePercentageThreshold !== undefined || profile === "grpc"
              ? { failurePercentage: { threshold: od.failurePercentageThreshold ?? 50, enforcing: 100 } }
              : {}),
          },
        }
      : {}),
    ...(settings.tls && profile === "envoy"
      ? {
          tls: {
            certificateSecret: settings.tls.certificateSecret,
            validationContextSecret: settings.tls.validationContextSecret,
            subjectAltNames: [{ exact: settings.tls.peerSpiffeId }],
            alpn: (port.protocol ?? "HTTP") === "GRPC" ? ["h2"] : ["h2", "http/1.1"],
          },
        }
      : {}),
  };
  const built = cluster(options);
  if (settings.tls?.certificateProvider && profile === "grpc") {
    built.transportSocket = grpcUpstreamTls(settings.tls.certificateProvider, settings.tls.peerSpiffeId);
  }
  if (built.outlierDetection && profile === "grpc") {
    // Small pools are the common case in a mesh: let failure-percentage ejection act from 2 hosts and 10 requests.
    built.outlierDetection.failurePercentageMinimumHosts = 2;
    built.outlierDetection.failurePercentageRequestVolume = 10;
  }
  return built;
}

/** mTLS for a gRPC client: certificates and CA from a certificate provider instance of its bootstrap (gRFC A29), the peer checked by SPIFFE id. */
export function grpcUpstreamTls(provider: string, peerSpiffeId: string): TransportSocket {
  return TransportSocket.fromPartial(
    typedExtension(WellKnownName.Tls, UpstreamTlsContext, {
      commonTlsContext: {
        tlsCertificateProviderInstance: { instanceName: provider, certificateName: "" },
        validationContext: { caCertificateProviderInstance: { instanceName: provider }, matchSubjectAltNames: [{ exact: peerSpiffeId }] },
      },
    }),
  );
}

/** mTLS for a gRPC server: its certificate and the CA from a certificate provider instance, a client certificate required. */
export function grpcDownstreamTls(provider: string): TransportSocket {
  return TransportSocket.fromPartial(
    typedExtension(WellKnownName.Tls, DownstreamTlsContext, {
      commonTlsContext: {
        tlsCertificateProviderInstance: { instanceName: provider, certificateName: "" },
        validationContext: { caCertificateProviderInstance: { instanceName: provider } },
      },
      requireClientCertificate: true,
    }),
  );
}

function localityKey(i: ServiceInstance): string {
  return `${i.locality?.region ?? ""}/${i.locality?.zone ?? ""}/${i.locality?.subZone ?? ""}`;
}

/** Priority of a locality under `localityFailover` (0 first; unlisted localities last). */
function priorityOf(i: ServiceInstance, failover: readonly string[] | undefined): number {
  if (!failover || failover.length === 0) return 0;
  const region = i.locality?.region ?? "";
  const zone = `${region}/${i.locality?.zone ?? ""}`;
  const at = failover.findIndex((f) => f === zone || f === region);
  return at < 0 ? failover.length : at;
}

/** Whether an instance belongs to a version (all of its labels match). */
export function inVersion(instance: ServiceInstance, labels: Readonly<Record<string, string>> | undefined): boolean {
  return labels === undefined || Object.entries(labels).every(([k, v]) => instance.labels?.[k] === v);
}

/**
 * The endpoints of a Service port and version as both compilers (sidecar and
 * proxyless) build them: the context's instances of the Service, prioritized
 * by the locality failover of the port and version's merged traffic policy.
 */
export function endpointsOf(
  ctx: CompileContext,
  service: Service,
  port: ServicePort,
  version: string,
  name: string,
): ClusterLoadAssignment {
  const failover = mergedPolicy(ctx.index.trafficPoliciesFor(service, port.port, version)).loadBalancer?.localityFailover;
  return buildEndpoints(name, service, port, version, ctx.instances(service), failover);
}

/** The endpoints of a Service port and version, grouped by locality, prioritized by locality failover. */
export function buildEndpoints(
  name: string,
  service: Service,
  port: ServicePort,
  version: string,
  instances: readonly ServiceInstance[],
  failover: readonly string[] | undefined,
): ClusterLoadAssignment {
  const labels = version === "" ? undefined : service.spec.versions?.find((v) => v.name === version)?.labels;
  const chosen = instances.filter((i) => inVersion(i, labels));
  const groups = new Map<string, { priority: number; sample: ServiceInstance; members: ServiceInstance[] }>();
  for (const i of chosen) {
    const key = localityKey(i);
    const g = groups.get(key) ?? { priority: priorityOf(i, failover), sample: i, members: [] };
    g.members.push(i);
    groups.set(key, g);
  }
  // Priorities must be contiguous from 0.
  const used = [...new Set([...groups.values()].map((g) => g.priority))].sort((a, b) => a - b);
  const localities: LocalityOptions[] = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => ({
      ...(g.sample.locality?.region ? { region: g.sample.locality.region } : {}),
      ...(g.sample.locality?.zone ? { zone: g.sample.locality.zone } : {}),
      ...(g.sample.locality?.subZone ? { subZone: g.sample.locality.subZone } : {}),
      priority: used.indexOf(g.priority),
      endpoints: g.members.map((i) => ({
        address: i.address,
        port: i.ports?.[String(port.port)] ?? i.port ?? port.targetPort ?? port.port,
        ...(i.weight !== undefined ? { weight: i.weight } : {}),
        health: i.health ?? "healthy",
      })),
    }));
  return loadAssignment({ clusterName: name, localities });
}

export { durationMs };
