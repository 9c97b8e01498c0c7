import { ErrorCode, hasMessageType, messageSchema, messageTypeOf, TypeUrl, typeNameOf, XdskitError } from "@xdskit/envoy-api/core";
import { defineResourceType, type ResourceType } from "./resource-type.js";
import { ResourceTypes } from "./resource-types.js";

/**
 * Looks up the descriptor of a type URL; {@link resourceTypeOf} is the
 * default everywhere one is taken (e.g. a cache's `resourceTypes` option).
 */
export type ResourceTypeLookup = (typeUrl: string) => ResourceType;

const registry = new Map<string, ResourceType<any>>(Object.values(ResourceTypes).map((t) => [t.typeUrl, t]));

/**
 * Makes {@link resourceTypeOf} return `type` for its type URL. Registering a
 * type URL again replaces the earlier descriptor (that is how you override a
 * built-in one, e.g. to add references of your own extensions).
 *
 * @example registerResourceType(defineResourceType({ messageType: Quota, nameOf: (q) => q.name }));
 */
export function registerResourceType(type: ResourceType<any>): void {
  if (typeof type !== "object" || type === null || typeof type.typeUrl !== "string" || typeof type.references !== "function") {
    throw new XdskitError(ErrorCode.INVALID_OPTION, "registerResourceType: expected a ResourceType (make one with defineResourceType())");
  }
  registry.set(type.typeUrl, type);
}

/**
 * The descriptor for a type URL.
 *
 * Lookup order: a descriptor registered with {@link registerResourceType}
 * (the built-in {@link ResourceTypes} are registered from the start); else,
 * when the type URL names a registered message type, a generic descriptor,
 * made once and cached: `nameOf` reads the message's top-level string field
 * `name` when it has one (otherwise undefined), no references, not full
 * state, no wildcard. So any message type can be served without ceremony,
 * and a descriptor of your own refines it.
 *
 * @throws XdskitError `XDSKIT_UNKNOWN_TYPE` when the type URL is neither a
 *   registered resource type nor a registered message type.
 */
export function resourceTypeOf(typeUrl: string): ResourceType {
  const found = registry.get(typeUrl);
  if (found) return found;
  if (typeof typeUrl === "string" && hasMessageType(typeUrl)) {
    const schema = messageSchema(typeNameOf(typeUrl));
    const nameField = schema?.f.find((f) => f.n === "name" && f.kind === "s" && f.type === "string" && !f.rep);
    const key = nameField?.k;
    const generic = defineResourceType<any>({
      typeUrl,
      messageType: messageTypeOf(typeUrl),
      ...(key ? { nameOf: (resource: Record<string, unknown>) => String(resource[key] ?? "") } : {}),
    });
    registry.set(typeUrl, generic);
    return generic;
  }
  throw new XdskitError(
    ErrorCode.UNKNOWN_TYPE,
    `resourceTypeOf: no resource type for "${String(typeUrl)}": it is neither registered with registerResourceType() nor a known message type${typeUrlHint(String(typeUrl))}`,
    { typeUrl: String(typeUrl) },
  );
}

/** How a type URL is written in code: `TypeUrl.Cluster` for the built-in ones, else the URL quoted. */
function spelled(typeUrl: string): string {
  const key = Object.entries(TypeUrl).find(([, url]) => url === typeUrl)?.[0];
  return key ? `TypeUrl.${key}` : JSON.stringify(typeUrl);
}

/** The xDS service abbreviations people write for a type. */
const ABBREVIATIONS: Readonly<Record<string, string>> = {
  lds: TypeUrl.Listener,
  rds: TypeUrl.RouteConfiguration,
  srds: TypeUrl.ScopedRouteConfiguration,
  vhds: TypeUrl.VirtualHost,
  cds: TypeUrl.Cluster,
  eds: TypeUrl.ClusterLoadAssignment,
  leds: TypeUrl.LbEndpoint,
  sds: TypeUrl.Secret,
  rtds: TypeUrl.Runtime,
  ecds: TypeUrl.TypedExtensionConfig,
};

/** Lower case without separators, so `"Route-Configuration"` and `"route_configuration"` compare equal. */
function squash(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/**
 * A did-you-mean for something that is not a type URL: a short name such as
 * `"clusters"`, an abbreviation such as `"CDS"`, a message name such as
 * `"Cluster"`, or anything else without the `type.googleapis.com/` prefix.
 */
function typeUrlHint(given: string): string {
  if (given.includes("/")) return "";
  const wanted = squash(given);
  let match: string | undefined = ABBREVIATIONS[wanted];
  for (const type of registry.values()) {
    if (match) break;
    const message = type.typeUrl.slice(type.typeUrl.lastIndexOf(".") + 1);
    if ([type.shortName, type.noun, message, `${message}s`].some((n) => squash(n) === wanted)) match = type.typeUrl;
  }
  if (match) return ` (a type URL was expected: did you mean ${spelled(match)}, i.e. "${match}"?)`;
  return ` (a type URL was expected, such as TypeUrl.Cluster, i.e. "${TypeUrl.Cluster}")`;
}
