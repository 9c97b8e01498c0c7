import type { MessageType } from "@xdskit/envoy-api";

/**
 * What a cache needs to know about a resource type. `ResourceType` from
 * `@xdskit/resources` (returned by its `resourceTypeOf`) satisfies it, which is
 * what the caches use by default; pass your own lookup in a cache's
 * `resourceTypes` option to serve types differently.
 */
export interface ResourceTypeLike {
  /** The type URL. */
  readonly typeUrl: string;
  /** The resource codec, used to encode messages handed to a cache. */
  readonly messageType: MessageType<any>;
  /** Reads a resource's name; when absent, callers give names explicitly. */
  readonly nameOf?: (resource: any) => string;
  /** The resources this one references (cluster -> EDS name, HCM -> RDS name, SDS secrets, ECDS). */
  references(resource: any): readonly { readonly typeUrl: string; readonly name: string; readonly path: string }[];
  /** SotW responses carry every resource of the type (listeners, clusters). */
  readonly fullState: boolean;
  /** Clients may subscribe to the whole type (`*` or legacy empty first request). */
  readonly wildcardAllowed: boolean;
}

/** Looks up the descriptor of a type URL. */
export type ResourceTypeLookup = (typeUrl: string) => ResourceTypeLike;
