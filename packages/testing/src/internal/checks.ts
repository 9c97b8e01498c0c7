// Checks across resources where Envoy rejects a response (beyond the
// protoc-gen-validate rules of each resource):
// - a route configuration naming a cluster Envoy does not know, where
//   `validate_clusters` applies: inline route configs of an HCM default to
//   true (Envoy treats them as static), RDS ones only when set to true;
// - an HCM whose last HTTP filter is not the router (Envoy requires a
//   terminal filter last);
// - two listeners bound to the same address and port.
import type { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import type { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import type { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import type { ResourceProblem } from "../types.js";
import { clustersNamedBy, connectionManagersOf } from "./dependencies.js";

const ROUTER_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

function unknownClusters(
  config: RouteConfiguration,
  clusters: ReadonlySet<string>,
  where: string,
  resourceName: string,
  into: ResourceProblem[],
): void {
  for (const { path, cluster } of clustersNamedBy(config)) {
    if (!clusters.has(cluster)) {
      into.push({ resourceName, message: `${where}${path}: unknown cluster '${cluster}' (validate_clusters is on)` });
    }
  }
}

function checkFilters(hcm: HttpConnectionManager, where: string, resourceName: string, into: ResourceProblem[]): void {
  const last = hcm.httpFilters[hcm.httpFilters.length - 1];
  if (last && last.typedConfig?.typeUrl !== ROUTER_TYPE_URL) {
    into.push({
      resourceName,
      message: `${where}.http_filters: the last HTTP filter '${last.name}' is not a terminal filter; the router must be last`,
    });
  }
}

function addressKey(listener: Listener): string | undefined {
  const socket = listener.address?.socketAddress;
  if (!socket || socket.portValue === undefined || socket.portValue === 0) return undefined;
  return `${socket.address}:${socket.portValue}/${socket.protocol}`;
}

/**
 * Problems in a candidate set of listeners, given the cluster names Envoy
 * runs (or will run, for clusters in the same response).
 */
export function checkListeners(listeners: Iterable<Listener>, clusters: ReadonlySet<string>): ResourceProblem[] {
  const problems: ResourceProblem[] = [];
  const byAddress = new Map<string, string>();
  for (const listener of listeners) {
    for (const { where, hcm } of connectionManagersOf(listener)) {
      checkFilters(hcm, where, listener.name, problems);
      if (hcm.routeConfig && hcm.routeConfig.validateClusters !== false) {
        unknownClusters(hcm.routeConfig, clusters, `${where}.route_config.`, listener.name, problems);
      }
    }
    const key = addressKey(listener);
    if (key === undefined) continue;
    const other = byAddress.get(key);
    if (other !== undefined) {
      problems.push({ resourceName: listener.name, message: `listener '${other}' already binds ${key}` });
    } else {
      byAddress.set(key, listener.name);
    }
  }
  return problems;
}

/** Problems in route configurations delivered by RDS (only `validate_clusters: true` ones are checked, as in Envoy). */
export function checkRoutes(configs: Iterable<RouteConfiguration>, clusters: ReadonlySet<string>): ResourceProblem[] {
  const problems: ResourceProblem[] = [];
  for (const config of configs) {
    if (config.validateClusters === true) unknownClusters(config, clusters, "", config.name, problems);
  }
  return problems;
}
