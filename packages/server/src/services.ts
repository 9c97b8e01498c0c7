// The xDS gRPC services the server can register, as data: which generated
// service definition, which type it serves (none for ADS), and the REST path.
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

/** The services {@link XdsServer.register} can add; default all. */
export type XdsServiceName =
  | "ads"
  | "listeners"
  | "routes"
  | "scoped-routes"
  | "virtual-hosts"
  | "clusters"
  | "endpoints"
  | "locality-endpoints"
  | "secrets"
  | "runtime"
  | "extension-configs";

/** One method of an xDS service. */
export interface XdsMethodSpec {
  /** The key in the generated definition, e.g. `streamClusters`. */
  readonly key: string;
  /** The gRPC path, e.g. `/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters`. */
  readonly path: string;
  readonly kind: "sotw" | "delta" | "fetch";
}

/** One xDS service. */
export interface XdsServiceSpec {
  readonly name: XdsServiceName;
  /** The type every request must have; `undefined` for ADS (any served type). */
  readonly typeUrl: string | undefined;
  readonly methods: readonly XdsMethodSpec[];
}

function spec(name: XdsServiceName, typeUrl: string | undefined, definition: Record<string, { path: string }>): XdsServiceSpec {
  const methods = Object.entries(definition).map(([key, method]) => {
    const kind = key.startsWith("delta") ? "delta" : key.startsWith("fetch") ? "fetch" : "sotw";
    return Object.freeze({ key, path: method.path, kind }) as XdsMethodSpec;
  });
  return Object.freeze({ name, typeUrl, methods: Object.freeze(methods) });
}

/** Every xDS service, with the methods Envoy's API defines for it. */
export const XDS_SERVICES: readonly XdsServiceSpec[] = Object.freeze([
  spec("ads", undefined, AggregatedDiscoveryServiceService),
  spec("listeners", TypeUrl.Listener, ListenerDiscoveryServiceService),
  spec("routes", TypeUrl.RouteConfiguration, RouteDiscoveryServiceService),
  spec("scoped-routes", TypeUrl.ScopedRouteConfiguration, ScopedRoutesDiscoveryServiceService),
  spec("virtual-hosts", TypeUrl.VirtualHost, VirtualHostDiscoveryServiceService),
  spec("clusters", TypeUrl.Cluster, ClusterDiscoveryServiceService),
  spec("endpoints", TypeUrl.ClusterLoadAssignment, EndpointDiscoveryServiceService),
  spec("locality-endpoints", TypeUrl.LbEndpoint, LocalityEndpointDiscoveryServiceService),
  spec("secrets", TypeUrl.Secret, SecretDiscoveryServiceService),
  spec("runtime", TypeUrl.Runtime, RuntimeDiscoveryServiceService),
  spec("extension-configs", TypeUrl.TypedExtensionConfig, ExtensionConfigDiscoveryServiceService),
]);
