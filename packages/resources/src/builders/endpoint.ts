import type { DeepPartial } from "@xdskit/envoy-api/core";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { LbEndpoint, LocalityLbEndpoints } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint_components";
import { builderError, percent, socketAddress } from "./common.js";

/** Health status Envoy (and gRPC) use to pick endpoints. */
export type HealthStatusName = "unknown" | "healthy" | "unhealthy" | "draining" | "timeout" | "degraded";
const HEALTH: Readonly<Record<HealthStatusName, number>> = { unknown: 0, healthy: 1, unhealthy: 2, draining: 3, timeout: 4, degraded: 5 };

/** One endpoint: `"10.0.0.1:8080"`, `"[2001:db8::1]:80"`, or an object. */
export type EndpointInput =
  | string
  | {
      readonly address: string;
      readonly port: number;
      /** Load-balancing weight within its locality. Default: equal weights. */
      readonly weight?: number;
      /** Default `"unknown"` (Envoy treats it as healthy). */
      readonly health?: HealthStatusName;
      /** Host name for the Host header with auto_host_rewrite and for health checks. */
      readonly hostname?: string;
    };

function parseHostPort(text: string): { address: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw builderError("lbEndpoint", "endpoint", '"host:port" or "[ipv6]:port"', text);
  return { address: m[1] as string, port: Number(m[2]) };
}

/** An LbEndpoint (also the LEDS resource). @example lbEndpoint({ address: "10.0.0.7", port: 8080, weight: 2, health: "healthy" }) */
export function lbEndpoint(input: EndpointInput): LbEndpoint {
  const e = typeof input === "string" ? parseHostPort(input) : input;
  const extra: Exclude<EndpointInput, string> = typeof input === "string" ? e : input;
  return LbEndpoint.fromPartial({
    endpoint: { address: socketAddress(e.address, e.port), hostname: extra.hostname ?? "" },
    healthStatus: HEALTH[extra.health ?? "unknown"],
    ...(extra.weight !== undefined ? { loadBalancingWeight: extra.weight } : {}),
  });
}

/** A locality: where endpoints run, their priority (0 is tried first) and the locality's weight. */
export interface LocalityOptions {
  readonly region?: string;
  readonly zone?: string;
  readonly subZone?: string;
  /** Default 0 (highest). Priorities must be contiguous from 0. */
  readonly priority?: number;
  /**
   * Locality weight. Default 1: gRPC clients ignore a locality without a
   * weight (gRFC A27), while Envoy uses weights only with locality-weighted
   * balancing, so 1 is right for both.
   */
  readonly weight?: number;
  readonly endpoints: readonly EndpointInput[];
}

/** One LocalityLbEndpoints. */
export function localityEndpoints(options: LocalityOptions): LocalityLbEndpoints {
  const partial: DeepPartial<LocalityLbEndpoints> = {
    locality: { region: options.region ?? "", zone: options.zone ?? "", subZone: options.subZone ?? "" },
    lbEndpoints: options.endpoints.map(lbEndpoint),
    priority: options.priority ?? 0,
    loadBalancingWeight: options.weight ?? 1,
  };
  return LocalityLbEndpoints.fromPartial(partial);
}

/** Options of {@link loadAssignment}: either `localities` or, for one locality, `endpoints`. */
export interface LoadAssignmentOptions {
  /** The cluster name, or the EDS service name of an EDS cluster. */
  readonly clusterName: string;
  readonly localities?: readonly LocalityOptions[];
  /** Shorthand for one locality with no region/zone at priority 0. */
  readonly endpoints?: readonly EndpointInput[];
  /** Envoy's overprovisioning factor in percent. Default 140 (Envoy's default). */
  readonly overprovisioningFactor?: number;
  /** Drop this percentage of traffic per category (load shedding). */
  readonly dropOverloads?: Readonly<Record<string, number>>;
}

/**
 * A ClusterLoadAssignment (EDS resource, or a static cluster's load_assignment).
 * @example loadAssignment({ clusterName: "web", localities: [{ zone: "a", endpoints: ["10.0.0.1:80"] }, { zone: "b", priority: 1, endpoints: ["10.0.1.1:80"] }] })
 */
export function loadAssignment(options: LoadAssignmentOptions): ClusterLoadAssignment {
  if ((options.localities === undefined) === (options.endpoints === undefined)) {
    throw builderError("loadAssignment", "localities/endpoints", "exactly one of localities or endpoints", options);
  }
  const localities = options.localities ?? [{ endpoints: options.endpoints ?? [] }];
  const drops = Object.entries(options.dropOverloads ?? {});
  return ClusterLoadAssignment.fromPartial({
    clusterName: options.clusterName,
    endpoints: localities.map(localityEndpoints),
    ...(options.overprovisioningFactor !== undefined || drops.length > 0
      ? {
          policy: {
            ...(options.overprovisioningFactor !== undefined ? { overprovisioningFactor: options.overprovisioningFactor } : {}),
            dropOverloads: drops.map(([category, p]) => ({ category, dropPercentage: percent(p, `dropOverloads.${category}`) })),
          },
        }
      : {}),
  });
}
