// The fleet scenario (fixture.ts) as the resources `xdskit serve`'s admin API
// takes: Envoy's canonical JSON with "@type". Shared by the benchmarks that
// drive a real serve process (scale-out.ts, serve-workers.ts).
import { type JsonValue, type MessageType, pack, TypeUrl, toJson } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { Router } from "@xdskit/envoy-api/envoy/extensions/filters/http/router/v3/router";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { CLUSTERS, cluster, listener, loadAssignment, routeConfiguration } from "./fixture.js";

const json = <T>(typeUrl: string, type: MessageType<T>, message: object): JsonValue => ({
  "@type": typeUrl,
  ...(toJson(type, (type as unknown as { fromPartial(o: object): T }).fromPartial(message), { useProtoNames: true }) as Record<
    string,
    JsonValue
  >),
});
const codecs = { pack: pack as (type: unknown, message: unknown) => unknown, HttpConnectionManager, Router };

/** Every resource of the scenario: the clusters, their endpoints, the listener and the route configuration. */
export function fleetResources(): JsonValue[] {
  return [
    ...Array.from({ length: CLUSTERS }, (_, i) => json(TypeUrl.Cluster, Cluster, cluster(i))),
    ...Array.from({ length: CLUSTERS }, (_, i) => json(TypeUrl.ClusterLoadAssignment, ClusterLoadAssignment, loadAssignment(i))),
    json(TypeUrl.Listener, Listener, listener(codecs)),
    json(TypeUrl.RouteConfiguration, RouteConfiguration, routeConfiguration()),
  ];
}

/** The one-endpoint update of the scenario: cluster 7's endpoints, the first port moved by `generation`. */
export function endpointUpdate(generation: number): JsonValue {
  return json(TypeUrl.ClusterLoadAssignment, ClusterLoadAssignment, loadAssignment(7, generation));
}
