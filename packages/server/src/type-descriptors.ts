// Per-type facts as data (not enum order): which types a server serves, how
// wildcard subscriptions work for each, where each goes in an ordered ADS
// push, and which types must be answered again after another was sent.
import { TypeUrl } from "@xdskit/envoy-api";
import { resourceTypeOf } from "@xdskit/resources";

/**
 * When a first request with an empty name list means "everything" (the
 * legacy wildcard of the xDS spec, rule 12 in docs/server.md):
 * - `"always"`: for every client;
 * - `"not-grpc"`: for every client except gRPC's own xDS clients (their node's
 *   `user_agent_name` starts with "grpc"), which send an empty list to mean
 *   "nothing";
 * - `"never"`: only an explicit `*` subscribes to everything.
 */
export type LegacyWildcardMode = "always" | "not-grpc" | "never";

/**
 * What the server knows about one resource type. The defaults cover the ten
 * Envoy xDS types ({@link DEFAULT_TYPE_DESCRIPTORS}); pass your own in
 * `XdsServerOptions.types` to serve your own type URLs or change a default.
 *
 * @example
 * // Serve a custom resource type over ADS, sent after everything else:
 * new XdsServer({ cache, types: [{ typeUrl: "type.googleapis.com/acme.Quota", name: "quotas", order: 100 }] });
 */
export interface XdsTypeDescriptor {
  /** The type URL clients request, e.g. `type.googleapis.com/envoy.config.cluster.v3.Cluster`. */
  readonly typeUrl: string;
  /** A short plural name used in logs, REST paths (`/v3/discovery:<name>`) and events, e.g. `clusters`. */
  readonly name: string;
  /**
   * Position in an ordered ADS push: lower goes first. Defaults: secrets 10,
   * runtime 15, clusters 20, endpoints 30, LEDS 35, listeners 40, extension
   * configs 45, routes 50, scoped routes 55, virtual hosts 60. Unset: 100.
   */
  readonly order?: number;
  /**
   * True when every SotW response carries the full set, so an absent name is
   * a deletion (listeners, clusters, scoped routes). Make-before-break applies
   * to these. Default: what the type's descriptor in `@xdskit/resources` says
   * (`resourceTypeOf(typeUrl).fullState`), false for a type it does not know.
   */
  readonly fullState?: boolean;
  /** When an empty first request means wildcard (see {@link LegacyWildcardMode}). Default `"never"`. */
  readonly legacyWildcard?: LegacyWildcardMode;
  /**
   * Types to answer again, even if unchanged, after this type was sent on an
   * ADS stream: Envoy finishes warming a cluster or listener only on a fresh
   * endpoint or route response. Default none.
   */
  readonly forces?: readonly string[];
}

/** A descriptor with every field resolved. */
export interface ResolvedTypeDescriptor {
  readonly typeUrl: string;
  readonly name: string;
  readonly order: number;
  readonly fullState: boolean;
  readonly legacyWildcard: LegacyWildcardMode;
  readonly forces: readonly string[];
}

/**
 * The descriptors of the Envoy xDS types the server serves by default, in ADS
 * order: secrets before the clusters and listeners that use them, clusters,
 * then endpoints, then listeners, then routes.
 */
export const DEFAULT_TYPE_DESCRIPTORS: readonly ResolvedTypeDescriptor[] = Object.freeze(
  [
    { typeUrl: TypeUrl.Secret, name: "secrets", order: 10 },
    { typeUrl: TypeUrl.Runtime, name: "runtime", order: 15 },
    {
      typeUrl: TypeUrl.Cluster,
      name: "clusters",
      order: 20,
      legacyWildcard: "not-grpc" as const,
      forces: [TypeUrl.ClusterLoadAssignment],
    },
    { typeUrl: TypeUrl.ClusterLoadAssignment, name: "endpoints", order: 30 },
    { typeUrl: TypeUrl.LbEndpoint, name: "locality-endpoints", order: 35 },
    {
      typeUrl: TypeUrl.Listener,
      name: "listeners",
      order: 40,
      legacyWildcard: "not-grpc" as const,
      forces: [TypeUrl.RouteConfiguration, TypeUrl.ScopedRouteConfiguration],
    },
    { typeUrl: TypeUrl.TypedExtensionConfig, name: "extension_configs", order: 45 },
    { typeUrl: TypeUrl.RouteConfiguration, name: "routes", order: 50 },
    {
      typeUrl: TypeUrl.ScopedRouteConfiguration,
      name: "scoped-routes",
      order: 55,
      legacyWildcard: "not-grpc" as const,
      forces: [TypeUrl.RouteConfiguration],
    },
    { typeUrl: TypeUrl.VirtualHost, name: "virtual-hosts", order: 60 },
  ].map((d) => Object.freeze(resolveTypeDescriptor(d))),
);

/** Fills in a descriptor's defaults. */
export function resolveTypeDescriptor(descriptor: XdsTypeDescriptor): ResolvedTypeDescriptor {
  return {
    typeUrl: descriptor.typeUrl,
    name: descriptor.name,
    order: descriptor.order ?? 100,
    fullState: descriptor.fullState ?? fullStateOf(descriptor.typeUrl),
    legacyWildcard: descriptor.legacyWildcard ?? "never",
    forces: Object.freeze([...(descriptor.forces ?? [])]),
  };
}

/** Whether SotW responses of a type carry the full set, from the one place the SDK states it. */
function fullStateOf(typeUrl: string): boolean {
  try {
    return resourceTypeOf(typeUrl).fullState;
  } catch {
    return false;
  }
}
