// What each node group receives, as a list of planned resources: name, type,
// the model objects it comes from (for explain() and the compile cache) and a
// function that builds it. Building is the costly part; the compiler skips it
// when the sources did not change.
import { TypeUrl } from "@xdskit/envoy-api";
import type { Service, ServicePort } from "../model.js";
import { serviceKeyString } from "../registry.js";
import type { Profile } from "./clusters.js";
import { clusterName, type ModelIndex, nsOf } from "./model-index.js";

/** One resource a node group receives, before it is built. */
export interface Planned {
  readonly typeUrl: string;
  readonly name: string;
  /** Model objects (`Kind ns/name`) and registry entries (`ServiceInstances ns/name`) it depends on. */
  readonly sources: readonly string[];
  /** Extra inputs of the build besides the sources (settings), part of the cache key. */
  readonly params: string;
  readonly build: () => unknown;
}

export const keyOf = (o: { readonly kind: string; readonly metadata: { readonly name: string; readonly namespace?: string } }): string =>
  `${o.kind} ${nsOf(o)}/${o.metadata.name}`;

export const instancesKey = (s: Service): string => `ServiceInstances ${serviceKeyString({ namespace: nsOf(s), name: s.metadata.name })}`;

/** The model objects the routes of one Service port come from. */
export function routeDeps(index: ModelIndex, service: Service, port: ServicePort): string[] {
  const deps = new Set<string>([keyOf(service)]);
  for (const f of index.faultsForService(service, port.port)) deps.add(keyOf(f));
  for (const p of index.trafficPoliciesFor(service, port.port, "")) if (p.spec.loadBalancer?.hashHeader) deps.add(keyOf(p));
  for (const r of index.routesFor(service, port)) {
    deps.add(keyOf(r));
    for (const f of index.faultsForRoute(r)) deps.add(keyOf(f));
    for (const rule of r.spec.rules) {
      const refs = [
        ...(rule.backendRefs ?? []),
        ...(rule.filters ?? []).flatMap((f) => (f.requestMirror ? [f.requestMirror.backendRef] : [])),
      ];
      for (const b of refs) {
        const s = index.service(b.name, b.namespace ?? nsOf(r));
        if (s) deps.add(keyOf(s));
      }
    }
  }
  return [...deps].sort();
}

/** Clusters and endpoints of every Service port and version, for one profile. */
export function planUpstreams(
  index: ModelIndex,
  profile: Profile,
  build: {
    cluster: (service: Service, port: ServicePort, version: string, name: string) => unknown;
    endpoints: (service: Service, port: ServicePort, version: string, name: string) => unknown;
    clusterParams: (service: Service) => { params: string; deps: string[] };
  },
): Planned[] {
  const out: Planned[] = [];
  for (const service of index.services.values()) {
    const versions = ["", ...(service.spec.versions ?? []).map((v) => v.name)];
    for (const port of service.spec.ports) {
      for (const version of versions) {
        const name = clusterName(service, port.port, version);
        const policies = index.trafficPoliciesFor(service, port.port, version).map(keyOf);
        const extra = build.clusterParams(service);
        out.push({
          typeUrl: TypeUrl.Cluster,
          name,
          sources: [keyOf(service), ...policies, ...extra.deps],
          params: `${profile}|${extra.params}`,
          build: () => build.cluster(service, port, version, name),
        });
        out.push({
          typeUrl: TypeUrl.ClusterLoadAssignment,
          name,
          sources: [keyOf(service), instancesKey(service), ...policies],
          params: profile,
          build: () => build.endpoints(service, port, version, name),
        });
      }
    }
  }
  return out;
}
