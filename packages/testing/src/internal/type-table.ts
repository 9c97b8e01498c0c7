// Per-type facts FakeEnvoy needs: how Envoy names a resource kind in its
// NACK messages, the gRPC method paths of its per-type service, whether a
// SotW response holds the full set and how a resource is named, all read from
// the resource-type descriptors of @xdskit/resources, the one place the SDK
// states them.
import { AggregatedDiscoveryServiceService } from "@xdskit/envoy-api";
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

function descriptorOf(typeUrl: string): ResourceType | undefined {
  try {
    return resourceTypeOf(typeUrl);
  } catch {
    return undefined;
  }
}

/** Facts for a type URL, from its descriptor; unknown types are treated as named, partial-state types without a per-type service. */
export function typeFacts(typeUrl: string): TypeFacts {
  const type = descriptorOf(typeUrl);
  if (!type) return { kind: typeUrl.slice(typeUrl.lastIndexOf(".") + 1), fullState: false };
  const methods = Object.values(type.service ?? {});
  const sotwPath = methods.find((m) => /\/Stream[^/]*$/.test(m.path))?.path;
  const deltaPath = methods.find((m) => /\/Delta[^/]*$/.test(m.path))?.path;
  return { kind: type.noun, fullState: type.fullState, ...(sotwPath ? { sotwPath } : {}), ...(deltaPath ? { deltaPath } : {}) };
}

/** The name a decoded resource carries in its own message (`name`, or `cluster_name` for endpoints); "" when it carries none. */
export function nameOfMessage(typeUrl: string, message: unknown): string {
  const nameOf = descriptorOf(typeUrl)?.nameOf;
  if (nameOf) return nameOf(message) ?? "";
  const m = message as { name?: unknown };
  return typeof m.name === "string" ? m.name : "";
}
