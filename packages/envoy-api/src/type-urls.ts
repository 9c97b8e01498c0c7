import { TYPE_URL_PREFIX } from "./registry.js";

/**
 * The type URLs of the xDS resource types, as Envoy and gRPC clients send
 * them in `DiscoveryRequest.type_url`.
 */
export const TypeUrl = Object.freeze({
  Listener: `${TYPE_URL_PREFIX}envoy.config.listener.v3.Listener`,
  RouteConfiguration: `${TYPE_URL_PREFIX}envoy.config.route.v3.RouteConfiguration`,
  ScopedRouteConfiguration: `${TYPE_URL_PREFIX}envoy.config.route.v3.ScopedRouteConfiguration`,
  VirtualHost: `${TYPE_URL_PREFIX}envoy.config.route.v3.VirtualHost`,
  Cluster: `${TYPE_URL_PREFIX}envoy.config.cluster.v3.Cluster`,
  ClusterLoadAssignment: `${TYPE_URL_PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  /** LEDS: one `LbEndpoint` per resource. */
  LbEndpoint: `${TYPE_URL_PREFIX}envoy.config.endpoint.v3.LbEndpoint`,
  Secret: `${TYPE_URL_PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`,
  Runtime: `${TYPE_URL_PREFIX}envoy.service.runtime.v3.Runtime`,
  /** ECDS. */
  TypedExtensionConfig: `${TYPE_URL_PREFIX}envoy.config.core.v3.TypedExtensionConfig`,
  /** Wraps a resource with a name, version, TTL (used for TTL and heartbeats). */
  Resource: `${TYPE_URL_PREFIX}envoy.service.discovery.v3.Resource`,
});

/** One of the values of {@link TypeUrl}. */
export type XdsTypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];
