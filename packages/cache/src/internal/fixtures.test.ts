// Test fixtures shared by the cache's tests (a .test.ts file so it stays out
// of the build), with a check that they build what they claim.
import { pack, TypeUrl } from "@xdskit/envoy-api";
import { Cluster, Cluster_DiscoveryType } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { Secret } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/secret";
import { UpstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import { defineResourceType, type ResourceTypeLookup, resourceTypeOf } from "@xdskit/resources";
import type { Observable, Subscription } from "rxjs";
import { describe, expect, it } from "vitest";
import type { DeltaWatchRequest, SotwWatchRequest } from "../types.js";

export const CDS = TypeUrl.Cluster;
export const EDS = TypeUrl.ClusterLoadAssignment;
export const LDS = TypeUrl.Listener;
export const RDS = TypeUrl.RouteConfiguration;
export const SDS = TypeUrl.Secret;

export function node(id: string, cluster = "mesh"): Node {
  return { id, cluster, dynamicParameters: {}, extensions: [], clientFeatures: [], listeningAddresses: [] } as unknown as Node;
}

/** An EDS cluster whose endpoints are the CLA named `eds` (default: its own name); `tag` changes its content. */
export function cluster(name: string, tag = 0, opts: { eds?: string; secret?: string } = {}): Cluster {
  return Cluster.fromPartial({
    name,
    type: Cluster_DiscoveryType.EDS,
    connectTimeout: { seconds: 1 + tag, nanos: 0 },
    edsClusterConfig: { serviceName: opts.eds ?? name },
    ...(opts.secret
      ? {
          transportSocket: {
            name: "envoy.transport_sockets.tls",
            typedConfig: pack(UpstreamTlsContext, {
              commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: opts.secret, sdsConfig: { ads: {} } }] },
            }),
          },
        }
      : {}),
  });
}

export function cla(name: string, port = 8080): ClusterLoadAssignment {
  return ClusterLoadAssignment.fromPartial({
    clusterName: name,
    endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: "10.0.0.1", portValue: port } } } }] }],
  });
}

export function listener(name: string, route: string, port = 10000): Listener {
  return Listener.fromPartial({
    name,
    address: { socketAddress: { address: "0.0.0.0", portValue: port } },
    filterChains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typedConfig: pack(HttpConnectionManager, { statPrefix: name, rds: { routeConfigName: route, configSource: { ads: {} } } }),
          },
        ],
      },
    ],
  });
}

export function route(name: string, target = "web"): RouteConfiguration {
  return RouteConfiguration.fromPartial({
    name,
    virtualHosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: target } }] }],
  });
}

export function secret(name: string): Secret {
  return Secret.fromPartial({ name, genericSecret: { secret: { inlineString: name } } });
}

let streams = 1;

export function sotw(
  n: Node,
  typeUrl: string,
  fields: Partial<Omit<SotwWatchRequest, "names">> & { names?: Iterable<string> } = {},
): SotwWatchRequest {
  const { names, ...rest } = fields;
  return {
    streamId: streams++,
    node: n,
    typeUrl,
    ads: false,
    wildcard: false,
    versionInfo: "",
    forceResponse: false,
    ...rest,
    names: new Set(names ?? []),
  };
}

export function delta(
  n: Node,
  typeUrl: string,
  fields: Partial<Omit<DeltaWatchRequest, "names" | "clientVersions" | "forceNames">> & {
    names?: Iterable<string>;
    clientVersions?: Iterable<[string, string]>;
    forceNames?: Iterable<string>;
  } = {},
): DeltaWatchRequest {
  const { names, clientVersions, forceNames, ...rest } = fields;
  return {
    streamId: streams++,
    node: n,
    typeUrl,
    ads: false,
    wildcard: false,
    forceResponse: false,
    ...rest,
    names: new Set(names ?? []),
    clientVersions: new Map(clientVersions ?? []),
    forceNames: new Set(forceNames ?? []),
  };
}

/** Subscribes and records what a watch does. */
export interface Recorded<T> {
  readonly values: T[];
  completed: boolean;
  error: unknown;
  readonly subscription: Subscription;
  /** The single value, asserting there is exactly one. */
  one(): T;
}

export function record<T>(watch: Observable<T>): Recorded<T> {
  const r = {
    values: [] as T[],
    completed: false,
    error: undefined as unknown,
    one(): T {
      expect(r.values).toHaveLength(1);
      return r.values[0]!;
    },
  } as Recorded<T> & { subscription: Subscription };
  r.subscription = watch.subscribe({
    next: (v) => r.values.push(v),
    complete: () => {
      r.completed = true;
    },
    error: (e) => {
      r.error = e;
    },
  });
  return r;
}

/** Names of the resources in a response, sorted. */
export function names(response: { resources: readonly { name: string }[] }): string[] {
  return response.resources.map((e) => e.name).sort();
}

describe("fixtures", () => {
  it("build resources with the names they were given", () => {
    expect(cluster("a").name).toBe("a");
    expect(cla("a").clusterName).toBe("a");
    expect(listener("l", "r").name).toBe("l");
    expect(route("r").name).toBe("r");
    expect(sotw(node("n"), CDS, { names: ["x"] }).names.has("x")).toBe(true);
  });
});

/** A descriptor lookup in which `typeUrl`'s legacy wildcard is off (`legacyWildcard: "never"`). */
export function withoutLegacyWildcard(typeUrl: string): ResourceTypeLookup {
  const changed = defineResourceType({ ...resourceTypeOf(typeUrl), legacyWildcard: "never" });
  return (t) => (t === typeUrl ? changed : resourceTypeOf(t));
}
