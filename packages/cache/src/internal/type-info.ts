import { messageTypeOf, TypeUrl } from "@xdskit/envoy-api";
import type { ResourceTypeLike } from "../resource-type-like.js";

// Temporary stand-in until @xdskit/resources exports resourceTypeOf.
const FULL_STATE = new Set<string>([TypeUrl.Listener, TypeUrl.Cluster, TypeUrl.ScopedRouteConfiguration]);
const cache = new Map<string, ResourceTypeLike>();

export function defaultResourceTypeOf(typeUrl: string): ResourceTypeLike {
  let found = cache.get(typeUrl);
  if (!found) {
    const messageType = messageTypeOf(typeUrl);
    found = Object.freeze({
      typeUrl,
      messageType,
      nameOf: (r: any) => String(typeUrl === TypeUrl.ClusterLoadAssignment ? r.clusterName : (r.name ?? "")),
      references: () => [],
      fullState: FULL_STATE.has(typeUrl),
      wildcardAllowed: FULL_STATE.has(typeUrl),
    });
    cache.set(typeUrl, found);
  }
  return found;
}
