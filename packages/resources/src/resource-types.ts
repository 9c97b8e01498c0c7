import { TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { TypedExtensionConfig } from "@xdskit/envoy-api/envoy/config/core/v3/extension";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { LbEndpoint } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint_components";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { VirtualHost } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import { ScopedRouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/scoped_route";
import { Secret } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/secret";
import { Runtime } from "@xdskit/envoy-api/envoy/service/runtime/v3/rtds";
import {
  clusterReferences,
  listenerReferences,
  loadAssignmentReferences,
  routeConfigurationReferences,
  scopedRouteReferences,
  virtualHostReferences,
} from "./internal/references.js";
import { defineResourceType, type ResourceType } from "./resource-type.js";

/**
 * The descriptors of the xDS resource types Envoy and gRPC clients know,
 * registered from the start (so `resourceTypeOf` finds them).
 *
 * | Type | name | references | fullState | wildcard |
 * |---|---|---|---|---|
 * | Listener | `name` | RDS, SRDS, ECDS, SDS, CDS (TCP proxy, inline routes) | yes | yes |
 * | RouteConfiguration | `name` | CDS (routes, weighted clusters, mirrors), VHDS | no | no |
 * | ScopedRouteConfiguration | `name` | RDS | yes | yes |
 * | VirtualHost (VHDS) | `name` | CDS | no | no |
 * | Cluster | `name` | EDS (EDS clusters), CDS (aggregate), SDS | yes | yes |
 * | ClusterLoadAssignment | `cluster_name` | LEDS collections | no | no |
 * | LbEndpoint (LEDS) | none: caller supplies | none | no | no |
 * | Secret | `name` | none | no | no |
 * | Runtime | `name` | none | no | no |
 * | TypedExtensionConfig (ECDS) | `name` | none | no | no |
 *
 * @example
 * ResourceTypes.Cluster.references(cluster);
 * // [{ typeUrl: TypeUrl.ClusterLoadAssignment, name: "web", path: "eds_cluster_config.service_name" }]
 */
export const ResourceTypes = Object.freeze({
  Listener: defineResourceType<Listener>({
    typeUrl: TypeUrl.Listener,
    messageType: Listener,
    nameOf: (r) => r.name,
    references: listenerReferences,
    fullState: true,
    wildcardAllowed: true,
  }),
  RouteConfiguration: defineResourceType<RouteConfiguration>({
    typeUrl: TypeUrl.RouteConfiguration,
    messageType: RouteConfiguration,
    nameOf: (r) => r.name,
    references: routeConfigurationReferences,
  }),
  ScopedRouteConfiguration: defineResourceType<ScopedRouteConfiguration>({
    typeUrl: TypeUrl.ScopedRouteConfiguration,
    messageType: ScopedRouteConfiguration,
    nameOf: (r) => r.name,
    references: scopedRouteReferences,
    fullState: true,
    wildcardAllowed: true,
  }),
  VirtualHost: defineResourceType<VirtualHost>({
    typeUrl: TypeUrl.VirtualHost,
    messageType: VirtualHost,
    nameOf: (r) => r.name,
    references: virtualHostReferences,
  }),
  Cluster: defineResourceType<Cluster>({
    typeUrl: TypeUrl.Cluster,
    messageType: Cluster,
    nameOf: (r) => r.name,
    references: clusterReferences,
    fullState: true,
    wildcardAllowed: true,
  }),
  ClusterLoadAssignment: defineResourceType<ClusterLoadAssignment>({
    typeUrl: TypeUrl.ClusterLoadAssignment,
    messageType: ClusterLoadAssignment,
    nameOf: (r) => r.clusterName,
    references: loadAssignmentReferences,
  }),
  LbEndpoint: defineResourceType<LbEndpoint>({ typeUrl: TypeUrl.LbEndpoint, messageType: LbEndpoint }),
  Secret: defineResourceType<Secret>({ typeUrl: TypeUrl.Secret, messageType: Secret, nameOf: (r) => r.name }),
  Runtime: defineResourceType<Runtime>({ typeUrl: TypeUrl.Runtime, messageType: Runtime, nameOf: (r) => r.name }),
  TypedExtensionConfig: defineResourceType<TypedExtensionConfig>({
    typeUrl: TypeUrl.TypedExtensionConfig,
    messageType: TypedExtensionConfig,
    nameOf: (r) => r.name,
  }),
} satisfies Record<string, ResourceType<any>>);
