import {
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
} from "@xdskit/envoy-api/core";
import type { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { TypedExtensionConfig } from "@xdskit/envoy-api/envoy/config/core/v3/extension";
import type { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import type { LbEndpoint } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint_components";
import type { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import type { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import type { VirtualHost } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import type { ScopedRouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/scoped_route";
import type { Secret } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/secret";
import type { Runtime } from "@xdskit/envoy-api/envoy/service/runtime/v3/rtds";
import {
  clusterReferences,
  listenerReferences,
  loadAssignmentReferences,
  routeConfigurationReferences,
  scopedRouteReferences,
  virtualHostReferences,
} from "./internal/references.js";
import { builtinResourceType, type ResourceType } from "./resource-type.js";

/**
 * The descriptors of the xDS resource types Envoy and gRPC clients know,
 * registered from the start (so `resourceTypeOf` finds them).
 *
 * This is the one table of per-type facts: the server's ADS order, REST
 * paths and services, the caches' wake order and ADS consistency, and the
 * test kit's Envoy imitation are all derived from it.
 *
 * | Type | shortName | order | name | references | fullState | wildcard (legacy) | warming dependents | adsConsistent |
 * |---|---|---|---|---|---|---|---|---|
 * | Secret | `secrets` | 10 | `name` | none | no | no | | no |
 * | Runtime | `runtime` | 15 | `name` | none | no | no | | no |
 * | Cluster | `clusters` | 20 | `name` | EDS (EDS clusters), CDS (aggregate), SDS | yes | yes (not-grpc) | endpoints | no |
 * | ClusterLoadAssignment | `endpoints` | 30 | `cluster_name` | LEDS collections | no | no | | yes |
 * | LbEndpoint (LEDS) | `locality-endpoints` | 35 | none: caller supplies | none | no | no | | no |
 * | Listener | `listeners` | 40 | `name` | RDS, SRDS, ECDS, SDS, CDS (TCP proxy, inline routes) | yes | yes (not-grpc) | routes, scoped routes | no |
 * | TypedExtensionConfig (ECDS) | `extension_configs` | 45 | `name` | none | no | no | | no |
 * | RouteConfiguration | `routes` | 50 | `name` | CDS (routes, weighted clusters, mirrors), VHDS | no | no | | yes |
 * | ScopedRouteConfiguration | `scoped-routes` | 55 | `name` | RDS | yes | yes (not-grpc) | routes | no |
 * | VirtualHost (VHDS) | `virtual-hosts` | 60 | `name` | CDS | no | no | | no |
 *
 * @example
 * ResourceTypes.Cluster.references(cluster);
 * // [{ typeUrl: TypeUrl.ClusterLoadAssignment, name: "web", path: "eds_cluster_config.service_name" }]
 */
export const ResourceTypes = Object.freeze({
  Listener: builtinResourceType<Listener>(
    {
      typeUrl: TypeUrl.Listener,
      nameOf: (r) => r.name,
      references: listenerReferences,
      fullState: true,
      wildcardAllowed: true,
      shortName: "listeners",
      noun: "listener",
      order: 40,
      service: ListenerDiscoveryServiceService,
      legacyWildcard: "not-grpc",
      warmingDependents: [TypeUrl.RouteConfiguration, TypeUrl.ScopedRouteConfiguration],
    },
    "envoy/config/listener/v3/listener",
  ),
  RouteConfiguration: builtinResourceType<RouteConfiguration>(
    {
      typeUrl: TypeUrl.RouteConfiguration,
      nameOf: (r) => r.name,
      references: routeConfigurationReferences,
      shortName: "routes",
      noun: "route configuration",
      order: 50,
      service: RouteDiscoveryServiceService,
      adsConsistent: true,
    },
    "envoy/config/route/v3/route",
  ),
  ScopedRouteConfiguration: builtinResourceType<ScopedRouteConfiguration>(
    {
      typeUrl: TypeUrl.ScopedRouteConfiguration,
      nameOf: (r) => r.name,
      references: scopedRouteReferences,
      fullState: true,
      wildcardAllowed: true,
      shortName: "scoped-routes",
      noun: "scoped route configuration",
      order: 55,
      service: ScopedRoutesDiscoveryServiceService,
      legacyWildcard: "not-grpc",
      warmingDependents: [TypeUrl.RouteConfiguration],
    },
    "envoy/config/route/v3/scoped_route",
  ),
  VirtualHost: builtinResourceType<VirtualHost>(
    {
      typeUrl: TypeUrl.VirtualHost,
      nameOf: (r) => r.name,
      references: virtualHostReferences,
      shortName: "virtual-hosts",
      noun: "virtual host",
      order: 60,
      service: VirtualHostDiscoveryServiceService,
    },
    "envoy/config/route/v3/route_components",
  ),
  Cluster: builtinResourceType<Cluster>(
    {
      typeUrl: TypeUrl.Cluster,
      nameOf: (r) => r.name,
      references: clusterReferences,
      fullState: true,
      wildcardAllowed: true,
      shortName: "clusters",
      noun: "cluster",
      order: 20,
      service: ClusterDiscoveryServiceService,
      legacyWildcard: "not-grpc",
      warmingDependents: [TypeUrl.ClusterLoadAssignment],
    },
    "envoy/config/cluster/v3/cluster",
  ),
  ClusterLoadAssignment: builtinResourceType<ClusterLoadAssignment>(
    {
      typeUrl: TypeUrl.ClusterLoadAssignment,
      nameOf: (r) => r.clusterName,
      references: loadAssignmentReferences,
      shortName: "endpoints",
      noun: "cluster load assignment",
      order: 30,
      service: EndpointDiscoveryServiceService,
      adsConsistent: true,
    },
    "envoy/config/endpoint/v3/endpoint",
  ),
  LbEndpoint: builtinResourceType<LbEndpoint>(
    {
      typeUrl: TypeUrl.LbEndpoint,
      shortName: "locality-endpoints",
      noun: "endpoint",
      order: 35,
      service: LocalityEndpointDiscoveryServiceService,
    },
    "envoy/config/endpoint/v3/endpoint_components",
  ),
  Secret: builtinResourceType<Secret>(
    {
      typeUrl: TypeUrl.Secret,
      nameOf: (r) => r.name,
      shortName: "secrets",
      noun: "secret",
      order: 10,
      service: SecretDiscoveryServiceService,
    },
    "envoy/extensions/transport_sockets/tls/v3/secret",
  ),
  Runtime: builtinResourceType<Runtime>(
    {
      typeUrl: TypeUrl.Runtime,
      nameOf: (r) => r.name,
      shortName: "runtime",
      noun: "runtime layer",
      order: 15,
      service: RuntimeDiscoveryServiceService,
    },
    "envoy/service/runtime/v3/rtds",
  ),
  TypedExtensionConfig: builtinResourceType<TypedExtensionConfig>(
    {
      typeUrl: TypeUrl.TypedExtensionConfig,
      nameOf: (r) => r.name,
      shortName: "extension_configs",
      noun: "extension config",
      order: 45,
      service: ExtensionConfigDiscoveryServiceService,
    },
    "envoy/config/core/v3/extension",
  ),
} satisfies Record<string, ResourceType<any>>);
