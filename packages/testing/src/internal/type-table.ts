// Per-type facts FakeEnvoy needs, as data (not enum order): how Envoy names a
// resource kind in its NACK messages, whether a SotW response holds the full
// set, whether the type may be subscribed as a wildcard, and the gRPC method
// paths of its per-type service.
import {
  AggregatedDiscoveryServiceService,
  ClusterDiscoveryServiceService,
  EndpointDiscoveryServiceService,
  ExtensionConfigDiscoveryServiceService,
  ListenerDiscoveryServiceService,
  LocalityEndpointDiscoveryServiceService,
  RouteDiscoveryServiceService,
  RuntimeDiscoveryServiceService,
  ScopedRoutesDiscoveryServiceService,
  SecretDiscoveryServiceService,
  TypeUrl,
  VirtualHostDiscoveryServiceService,
} from "@xdskit/envoy-api";

export interface TypeFacts {
  /** Singular noun Envoy uses in "Error adding/updating <kind>(s)". */
  readonly kind: string;
  /** SotW responses hold every resource (absent means deleted). */
  readonly fullState: boolean;
  /** The type may be subscribed as a wildcard. */
  readonly wildcard: boolean;
  readonly sotwPath?: string;
  readonly deltaPath?: string;
}

export const ADS_SOTW_PATH = AggregatedDiscoveryServiceService.streamAggregatedResources.path;
export const ADS_DELTA_PATH = AggregatedDiscoveryServiceService.deltaAggregatedResources.path;

const TABLE: Readonly<Record<string, TypeFacts>> = Object.freeze({
  [TypeUrl.Listener]: {
    kind: "listener",
    fullState: true,
    wildcard: true,
    sotwPath: ListenerDiscoveryServiceService.streamListeners.path,
    deltaPath: ListenerDiscoveryServiceService.deltaListeners.path,
  },
  [TypeUrl.Cluster]: {
    kind: "cluster",
    fullState: true,
    wildcard: true,
    sotwPath: ClusterDiscoveryServiceService.streamClusters.path,
    deltaPath: ClusterDiscoveryServiceService.deltaClusters.path,
  },
  [TypeUrl.RouteConfiguration]: {
    kind: "route configuration",
    fullState: false,
    wildcard: false,
    sotwPath: RouteDiscoveryServiceService.streamRoutes.path,
    deltaPath: RouteDiscoveryServiceService.deltaRoutes.path,
  },
  [TypeUrl.ScopedRouteConfiguration]: {
    kind: "scoped route configuration",
    fullState: false,
    wildcard: true,
    sotwPath: ScopedRoutesDiscoveryServiceService.streamScopedRoutes.path,
    deltaPath: ScopedRoutesDiscoveryServiceService.deltaScopedRoutes.path,
  },
  [TypeUrl.VirtualHost]: {
    kind: "virtual host",
    fullState: false,
    wildcard: false,
    deltaPath: VirtualHostDiscoveryServiceService.deltaVirtualHosts.path,
  },
  [TypeUrl.ClusterLoadAssignment]: {
    kind: "cluster load assignment",
    fullState: false,
    wildcard: false,
    sotwPath: EndpointDiscoveryServiceService.streamEndpoints.path,
    deltaPath: EndpointDiscoveryServiceService.deltaEndpoints.path,
  },
  [TypeUrl.LbEndpoint]: {
    kind: "endpoint",
    fullState: false,
    wildcard: true,
    deltaPath: LocalityEndpointDiscoveryServiceService.deltaLocalityEndpoints.path,
  },
  [TypeUrl.Secret]: {
    kind: "secret",
    fullState: false,
    wildcard: false,
    sotwPath: SecretDiscoveryServiceService.streamSecrets.path,
    deltaPath: SecretDiscoveryServiceService.deltaSecrets.path,
  },
  [TypeUrl.Runtime]: {
    kind: "runtime layer",
    fullState: false,
    wildcard: false,
    sotwPath: RuntimeDiscoveryServiceService.streamRuntime.path,
    deltaPath: RuntimeDiscoveryServiceService.deltaRuntime.path,
  },
  [TypeUrl.TypedExtensionConfig]: {
    kind: "extension config",
    fullState: false,
    wildcard: false,
    sotwPath: ExtensionConfigDiscoveryServiceService.streamExtensionConfigs.path,
    deltaPath: ExtensionConfigDiscoveryServiceService.deltaExtensionConfigs.path,
  },
});

/** Facts for a type URL; unknown types are treated as named, partial-state types without a per-type service. */
export function typeFacts(typeUrl: string): TypeFacts {
  return TABLE[typeUrl] ?? { kind: typeUrl.slice(typeUrl.lastIndexOf(".") + 1), fullState: false, wildcard: true };
}

/** The name a decoded resource carries in its own message (`name`, or `cluster_name` for endpoints). */
export function nameOfMessage(typeUrl: string, message: unknown): string {
  const m = message as { name?: unknown; clusterName?: unknown };
  if (typeUrl === TypeUrl.ClusterLoadAssignment) return typeof m.clusterName === "string" ? m.clusterName : "";
  return typeof m.name === "string" ? m.name : "";
}
