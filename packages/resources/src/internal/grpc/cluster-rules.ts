// gRPC xDS client rules for clusters (gRFC A27, A29, A37, A42, A48, A50,
// A52) and endpoints (A27): what grpc-js-xds and the other gRPC
// implementations NACK.
import { isIPv4, isIPv6 } from "node:net";
import { typeNameOf } from "@xdskit/envoy-api/core";
import type { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { ClusterConfig } from "@xdskit/envoy-api/envoy/extensions/clusters/aggregate/v3/cluster";
import { UpstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import Long from "long";
import { unpackIf } from "../any.js";
import { at, checkConfigSource, configTypeName, type Out, report, UINT32_MAX } from "./common.js";

const EDS = 3;
const LOGICAL_DNS = 2;
const LB_POLICIES: Readonly<Record<number, string>> = { 0: "ROUND_ROBIN", 1: "LEAST_REQUEST", 2: "RING_HASH" };
const LOAD_BALANCING_POLICIES = new Set([
  "envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin",
  "envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash",
  "envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality",
  "envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest",
  "envoy.extensions.load_balancing_policies.pick_first.v3.PickFirst",
  "envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin",
  "xds.type.v3.TypedStruct",
  "udpa.type.v1.TypedStruct",
]);
const MAX_RING_SIZE = 8_388_608;
const AGGREGATE = "envoy.extensions.clusters.aggregate.v3.ClusterConfig";

function checkPercent(out: Out, value: number | undefined, path: string): void {
  if (value !== undefined && value > 100) report(out, path, "outlier_detection", "must be <= 100 (gRFC A50)");
}

function checkLb(out: Out, cluster: Cluster): void {
  const policy = cluster.loadBalancingPolicy;
  if (policy) {
    const types = (policy.policies ?? []).map((p) => configTypeName(p.typedExtensionConfig?.typedConfig) ?? "");
    if (!types.some((t) => LOAD_BALANCING_POLICIES.has(t))) {
      report(
        out,
        "load_balancing_policy.policies",
        "lb_policy",
        "must contain a policy gRPC implements (round_robin, ring_hash, wrr_locality, least_request, pick_first, client_side_weighted_round_robin) (gRFC A52)",
      );
    }
    return;
  }
  const lb = cluster.lbPolicy ?? 0;
  if (!(lb in LB_POLICIES)) {
    report(
      out,
      "lb_policy",
      "lb_policy",
      "must be ROUND_ROBIN, RING_HASH (gRFC A42) or LEAST_REQUEST (gRFC A48), or use load_balancing_policy (gRFC A52)",
    );
  }
  const ring = cluster.ringHashLbConfig;
  if (lb === 2 && ring) {
    if ((ring.hashFunction ?? 0) !== 0) report(out, "ring_hash_lb_config.hash_function", "ring_hash", "must be XX_HASH (gRFC A42)");
    const min = ring.minimumRingSize !== undefined ? Long.fromValue(ring.minimumRingSize).toNumber() : 1024;
    const max = ring.maximumRingSize !== undefined ? Long.fromValue(ring.maximumRingSize).toNumber() : MAX_RING_SIZE;
    if (max > MAX_RING_SIZE) report(out, "ring_hash_lb_config.maximum_ring_size", "ring_hash", `must be <= ${MAX_RING_SIZE} (gRFC A42)`);
    if (min > max) report(out, "ring_hash_lb_config.minimum_ring_size", "ring_hash", "must be <= maximum_ring_size (gRFC A42)");
  }
}

function checkTls(out: Out, cluster: Cluster): void {
  const socket = cluster.transportSocket;
  if (!socket?.typedConfig) return;
  const tls = unpackIf(socket.typedConfig, UpstreamTlsContext);
  if (!tls) {
    report(
      out,
      "transport_socket.typed_config",
      "transport_socket",
      `holds ${typeNameOf(socket.typedConfig.typeUrl)}: gRPC supports only UpstreamTlsContext (gRFC A29)`,
    );
    return;
  }
  const common = tls.commonTlsContext;
  const p = "transport_socket.typed_config.common_tls_context";
  if (
    (common?.tlsCertificateSdsSecretConfigs ?? []).length > 0 ||
    common?.validationContextSdsSecretConfig ||
    common?.combinedValidationContext?.validationContextSdsSecretConfig
  ) {
    report(out, p, "tls_sds", "uses SDS, which gRPC clients do not support: use certificate provider instances (gRFC A29)");
  }
  if ((common?.tlsCertificates ?? []).length > 0) {
    report(
      out,
      at(p, "tls_certificates"),
      "tls_certificates",
      "is not supported by gRPC clients: use tls_certificate_provider_instance (gRFC A29)",
    );
  }
}

/** Clusters as gRPC clients accept them. */
export function checkCluster(out: Out, cluster: Cluster): void {
  checkLb(out, cluster);
  if (cluster.lrsServer && !cluster.lrsServer.self) {
    report(out, "lrs_server", "lrs_server", "must be { self: {} }: gRPC reports load only to its xDS server (gRFC A27)");
  }
  const od = cluster.outlierDetection;
  if (od) {
    checkPercent(out, od.maxEjectionPercent, "outlier_detection.max_ejection_percent");
    checkPercent(out, od.enforcingSuccessRate, "outlier_detection.enforcing_success_rate");
    checkPercent(out, od.failurePercentageThreshold, "outlier_detection.failure_percentage_threshold");
    checkPercent(out, od.enforcingFailurePercentage, "outlier_detection.enforcing_failure_percentage");
  }
  checkTls(out, cluster);
  if (cluster.clusterType) {
    const config = unpackIf(cluster.clusterType.typedConfig, ClusterConfig);
    if (configTypeName(cluster.clusterType.typedConfig) !== AGGREGATE || !config) {
      report(
        out,
        "cluster_type",
        "cluster_type",
        "must be an aggregate cluster (envoy.clusters.aggregate): gRPC supports no other custom cluster type (gRFC A37)",
      );
    } else if (config.clusters.length === 0) {
      report(out, "cluster_type.typed_config.clusters", "cluster_type", "must name at least one cluster (gRFC A37)");
    }
    return;
  }
  const type = cluster.type ?? 0;
  if (type === EDS) {
    checkConfigSource(out, cluster.edsClusterConfig?.edsConfig, "eds_cluster_config.eds_config", "endpoints");
    if (cluster.name.startsWith("xdstp:") && !cluster.edsClusterConfig?.serviceName) {
      report(out, "eds_cluster_config.service_name", "eds_service_name", "is required for xdstp: cluster names (gRFC A47)");
    }
  } else if (type === LOGICAL_DNS) {
    const localities = cluster.loadAssignment?.endpoints ?? [];
    const lbEndpoints = localities[0]?.lbEndpoints ?? [];
    if (localities.length !== 1 || lbEndpoints.length !== 1) {
      report(out, "load_assignment", "logical_dns", "must hold exactly one locality with exactly one endpoint (gRFC A27)");
      return;
    }
    const socket = lbEndpoints[0]?.endpoint?.address?.socketAddress;
    const p = "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address";
    if (!socket?.address) report(out, at(p, "address"), "logical_dns", "must name the DNS host (gRFC A27)");
    if (socket && socket.portValue === undefined)
      report(out, at(p, "port_value"), "logical_dns", "must be set (named ports are not supported) (gRFC A27)");
  } else {
    const names = ["STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS", "ORIGINAL_DST"];
    report(
      out,
      "type",
      "cluster_type",
      `is ${names[type] ?? type}: gRPC supports EDS, LOGICAL_DNS and aggregate clusters only (gRFC A27, A37)`,
    );
  }
}

/** Endpoints as gRPC clients accept them. */
export function checkEndpoints(out: Out, cla: ClusterLoadAssignment): void {
  const localities = new Set<string>();
  const addresses = new Set<string>();
  const weights = new Map<number, number>();
  (cla.endpoints ?? []).forEach((locality, i) => {
    const p = `endpoints[${i}]`;
    const priority = locality.priority ?? 0;
    if (!locality.locality) {
      report(out, at(p, "locality"), "locality", "is required by gRPC clients (gRFC A27)");
    } else {
      const key = `${locality.locality.region}\u0000${locality.locality.zone}\u0000${locality.locality.subZone}\u0000${priority}`;
      if (localities.has(key))
        report(out, at(p, "locality"), "locality_duplicate", `repeats an earlier locality at priority ${priority} (gRFC A27)`);
      localities.add(key);
    }
    if (!locality.loadBalancingWeight) {
      report(
        out,
        at(p, "load_balancing_weight"),
        "locality_weight",
        "must be set above 0: gRPC clients ignore a locality without a weight, so its endpoints would get no traffic (gRFC A27)",
      );
    }
    (locality.lbEndpoints ?? []).forEach((lb, j) => {
      const ep = at(p, `lb_endpoints[${j}].endpoint.address.socket_address`);
      const socket = lb.endpoint?.address?.socketAddress;
      if (!socket) {
        report(out, ep, "endpoint_address", "is required: gRPC needs an IP socket address (gRFC A27)");
        return;
      }
      if (socket.portValue === undefined)
        report(out, at(ep, "port_value"), "endpoint_address", "must be set (named ports are not supported) (gRFC A27)");
      if (!isIPv4(socket.address) && !isIPv6(socket.address)) {
        report(
          out,
          at(ep, "address"),
          "endpoint_address",
          `"${socket.address}" must be an IPv4 or IPv6 literal: gRPC does not resolve EDS host names (gRFC A27)`,
        );
      }
      const key = `${socket.address}:${socket.portValue}`;
      if (addresses.has(key)) report(out, ep, "endpoint_duplicate", `repeats the address ${key} (gRFC A27)`);
      addresses.add(key);
    });
    weights.set(priority, (weights.get(priority) ?? 0) + (locality.loadBalancingWeight ?? 0));
  });
  for (const [priority, total] of weights) {
    if (total > UINT32_MAX)
      report(
        out,
        "endpoints",
        "locality_weight",
        `locality weights at priority ${priority} sum to ${total}, above ${UINT32_MAX} (gRFC A27)`,
      );
    if (priority > 0 && !weights.has(priority - 1)) {
      report(
        out,
        "endpoints",
        "priorities",
        `priorities must be contiguous from 0: priority ${priority} is used but ${priority - 1} is not (gRFC A27)`,
      );
    }
  }
}
