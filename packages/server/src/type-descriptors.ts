// The server's view of a resource type, derived from its ResourceType
// descriptor in @xdskit/resources (the one table of per-type facts): which
// types a server serves, how wildcard subscriptions work for each, where each
// goes in an ordered ADS push, and which types are answered again after
// another was sent.
import { type LegacyWildcardMode, type ResourceType, ResourceTypes } from "@xdskit/resources/descriptors";

export type { LegacyWildcardMode } from "@xdskit/resources/descriptors";

/** The per-type facts a stream reads, taken from a {@link ResourceType}. */
export interface ResolvedTypeDescriptor {
  readonly typeUrl: string;
  /** {@link ResourceType.shortName}: REST path, service name, logs. */
  readonly name: string;
  readonly order: number;
  readonly fullState: boolean;
  readonly legacyWildcard: LegacyWildcardMode;
  /** {@link ResourceType.warmingDependents}. */
  readonly forces: readonly string[];
}

/** The stream's view of a descriptor. */
export function serverViewOf(type: ResourceType): ResolvedTypeDescriptor {
  return Object.freeze({
    typeUrl: type.typeUrl,
    name: type.shortName,
    order: type.order,
    fullState: type.fullState,
    legacyWildcard: type.legacyWildcard,
    forces: type.warmingDependents,
  });
}

/** The types a server serves by default: the ten Envoy xDS types of {@link ResourceTypes}, in ADS order. */
export const DEFAULT_SERVED_TYPES: readonly ResourceType[] = Object.freeze(
  (Object.values(ResourceTypes) as ResourceType[]).sort((a, b) => a.order - b.order),
);
