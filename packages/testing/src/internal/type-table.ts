// Per-type facts FakeEnvoy needs, as data (not enum order): how Envoy names a
// resource kind in its NACK messages and the gRPC method paths of its
// per-type service. Whether a SotW response holds the full set, and how a
// resource is named, come from the resource-type descriptors of
// @xdskit/resources, the one place the SDK states them.
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
import { type ResourceType, resourceTypeOf } from "@xdskit/resources";

export interface TypeFacts {
  /** Singular noun Envoy uses in "Error adding/updating <kind>(s)". */
  readonly kind: string;
  /** SotW responses hold every resource (absent means deleted). */
  readonly fullState: boolean;
  readonly sotwPath?: string;
  readonly deltaPath?: string;
}

export const ADS_SOTW_PATH = AggregatedDiscoveryServiceService.streamAggregatedResources.path;
export const ADS_DELTA_PATH = AggregatedDiscoveryServiceService.deltaAggregatedResources.path;

const TABLE: Readonly<Record<string, Omit<TypeFacts, "fullState">>> = Object.freeze({
  [TypeUrl.Listener]: {
    kind: "listener",
    sotwPath: ListenerDiscoveryServiceService.streamListeners.path,
    deltaPath: ListenerDiscoveryServiceService.deltaListeners.path,
  },
  [TypeUrl.Cluster]: {
    kind: "cluster",
    sotwPath: ClusterDiscoveryServiceService.streamClusters.path,
    deltaPath: ClusterDiscoveryServiceService.deltaClusters.path,
  },
  [TypeUrl.RouteConfiguration]: {
    kind: "route configuration",
    sotwPath: RouteDiscoveryServiceService.streamRoutes.path,
    deltaPath: RouteDiscoveryServiceService.deltaRoutes.path,
  },
  [TypeUrl.ScopedRouteConfiguration]: {
    kind: "scoped route configuration",
    sotwPath: ScopedRoutesDiscoveryServiceService.streamScopedRoutes.path,
    deltaPath: ScopedRoutesDiscoveryServiceService.deltaScopedRoutes.path,
  },
  [TypeUrl.VirtualHost]: {
    kind: "virtual host",
    deltaPath: VirtualHostDiscoveryServiceService.deltaVirtualHosts.path,
  },
  [TypeUrl.ClusterLoadAssignment]: {
    kind: "cluster load assignment",
    sotwPath: EndpointDiscoveryServiceService.streamEndpoints.path,
    deltaPath: EndpointDiscoveryServiceService.deltaEndpoints.path,
  },
  [TypeUrl.LbEndpoint]: {
    kind: "endpoint",
    deltaPath: LocalityEndpointDiscoveryServiceService.deltaLocalityEndpoints.path,
  },
  [TypeUrl.Secret]: {
    kind: "secret",
    sotwPath: SecretDiscoveryServiceService.streamSecrets.path,
    deltaPath: SecretDiscoveryServiceService.deltaSecrets.path,
  },
  [TypeUrl.Runtime]: {
    kind: "runtime layer",
    sotwPath: RuntimeDiscoveryServiceService.streamRuntime.path,
    deltaPath: RuntimeDiscoveryServiceService.deltaRuntime.path,
  },
  [TypeUrl.TypedExtensionConfig]: {
    kind: "extension config",
    sotwPath: ExtensionConfigDiscoveryServiceService.streamExtensionConfigs.path,
    deltaPath: ExtensionConfigDiscoveryServiceService.deltaExtensionConfigs.path,
  },
});

function descriptorOf(typeUrl: string): ResourceType | undefined {
  try {
    return resourceTypeOf(typeUrl);
  } catch {
    return undefined;
  }
}

/** Facts for a type URL; unknown types are treated as named, partial-state types without a per-type service. */
export function typeFacts(typeUrl: string): TypeFacts {
  const own = TABLE[typeUrl] ?? { kind: typeUrl.slice(typeUrl.lastIndexOf(".") + 1) };
  return { ...own, fullState: descriptorOf(typeUrl)?.fullState ?? false };
}

/** The name a decoded resource carries in its own message (`name`, or `cluster_name` for endpoints); "" when it carries none. */
export function nameOfMessage(typeUrl: string, message: unknown): string {
  const nameOf = descriptorOf(typeUrl)?.nameOf;
  if (nameOf) return nameOf(message) ?? "";
  const m = message as { name?: unknown };
  return typeof m.name === "string" ? m.name : "";
}
