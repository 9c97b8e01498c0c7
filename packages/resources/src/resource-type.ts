import { createRequire } from "node:module";
import type { MessageType } from "@xdskit/envoy-api/core";
import {
  hasMessageType,
  messageTypeOf,
  registerMessageType,
  optionError as sharedOptionError,
  typeNameOf,
  typeUrlOf,
  type XdskitError,
} from "@xdskit/envoy-api/core";

/**
 * One resource named by another: the type and name a client must also fetch,
 * and where in the referencing resource the name sits.
 *
 * A `name` that ends in `*` is a glob: `"*"` means the whole collection of
 * the type (SRDS through a wildcard subscription), `"routes/*"` every resource
 * whose name starts with `routes/` (VHDS), and an `xdstp://` collection URL
 * ending in `/*` a LEDS collection.
 */
export interface ResourceReference {
  /** Type URL of the referenced resource, e.g. `TypeUrl.ClusterLoadAssignment`. */
  readonly typeUrl: string;
  /** Name of the referenced resource (or a glob, see above). */
  readonly name: string;
  /**
   * Field path in the referencing resource, with proto field names and
   * `[i]` indexes, entering Any-packed configs by their field name, e.g.
   * `filter_chains[0].filters[0].typed_config.rds.route_config_name`.
   */
  readonly path: string;
}

/**
 * What xdskit knows about one xDS resource type: its codec, how to read a
 * resource's name, which other resources it references, and how the protocol
 * treats it. Caches and servers take these descriptors instead of switching on
 * type URLs, so user-defined types work the same as Envoy's.
 *
 * Built-in descriptors are in {@link ResourceTypes}; make your own with
 * {@link defineResourceType} and make them findable with
 * {@link registerResourceType}.
 */
export interface ResourceType<T = unknown> {
  /** The type URL clients send in `DiscoveryRequest.type_url`. */
  readonly typeUrl: string;
  /** The generated codec of the resource message. */
  readonly messageType: MessageType<T>;
  /**
   * The name clients subscribe to. Undefined when the message does not carry
   * its name (LEDS `LbEndpoint`): callers then supply names themselves.
   */
  readonly nameOf?: (resource: T) => string;
  /** Every resource this one references (type URL, name, field path), in document order. */
  references(resource: T): readonly ResourceReference[];
  /**
   * True when a SotW response must carry every resource of the type, so that
   * an absent name means "deleted" (listeners, clusters, scoped route
   * configurations). See the xDS protocol spec, "Grouping resources into responses".
   */
  readonly fullState: boolean;
  /**
   * True when clients may subscribe to the whole type with a wildcard (`*`,
   * or the legacy empty first request): listeners, clusters and scoped route
   * configurations. Every other type is subscribed to by name.
   */
  readonly wildcardAllowed: boolean;
  /**
   * The short plural name of the type: the REST path `/v3/discovery:<shortName>`,
   * the service name in `XdsServer.register({ services })`, and the type's
   * name in logs and events, e.g. `clusters`, `extension_configs` (Envoy's
   * own REST spelling).
   */
  readonly shortName: string;
  /**
   * The singular noun Envoy uses for the type in its messages, such as the
   * NACK detail "Error adding/updating cluster(s) ...", e.g. `cluster`,
   * `route configuration`.
   */
  readonly noun: string;
  /**
   * Position in a push: lower goes first, both when a server sends an ADS
   * stream's types and when a cache wakes the watches a change concerns.
   * Built-ins: secrets 10, runtime 15, clusters 20, endpoints 30, LEDS 35,
   * listeners 40, extension configs 45, routes 50, scoped routes 55,
   * virtual hosts 60, so what a resource uses arrives before it.
   */
  readonly order: number;
  /**
   * The generated gRPC service definition of the type's own discovery
   * service (e.g. `ClusterDiscoveryServiceService` from `@xdskit/envoy-api`),
   * registered by `XdsServer.register`; undefined when the type is served
   * over ADS only.
   */
  readonly service?: XdsServiceDefinition;
  /**
   * When an empty first request means "everything" (the legacy wildcard of
   * the xDS spec); see {@link LegacyWildcardMode}. Only for types with
   * {@link ResourceType.wildcardAllowed}. Built-ins: `"not-grpc"` for
   * listeners, clusters and scoped routes.
   */
  readonly legacyWildcard: LegacyWildcardMode;
  /**
   * Type URLs to answer again, even if unchanged, after this type was sent on
   * an ADS stream: Envoy finishes warming a cluster only on a fresh endpoint
   * response and a listener only on a fresh route response. Built-ins:
   * clusters → endpoints; listeners → routes and scoped routes; scoped
   * routes → routes.
   */
  readonly warmingDependents: readonly string[];
  /**
   * True for the types a cache's `adsConsistency` option holds back on an
   * ADS stream until the client asks for every name its clusters or listeners
   * reference (endpoints and routes).
   */
  readonly adsConsistent: boolean;
}

/**
 * When an empty first request subscribes to the whole type (rule 12 in
 * docs/server.md):
 * - `"always"`: for every client;
 * - `"not-grpc"`: for every client except gRPC's own xDS clients (their
 *   node's `user_agent_name` starts with "grpc"), which send an empty list to
 *   mean "nothing";
 * - `"never"`: only an explicit `*` subscribes to everything.
 */
export type LegacyWildcardMode = "always" | "not-grpc" | "never";

/** A generated gRPC service definition: method keys to their paths. */
export type XdsServiceDefinition = Readonly<Record<string, { readonly path: string }>>;

/** What {@link defineResourceType} takes. */
export interface ResourceTypeDefinition<T> {
  /** The resource codec (a generated message constant, or any codec of yours). */
  readonly messageType: MessageType<T>;
  /**
   * The type URL. Default: `type.googleapis.com/` plus the codec's registered
   * full name. Required when the codec is not registered: it is then
   * registered under the name after the URL's last `/`, so `pack`/`unpack`
   * know it. A codec the registry already knows keeps its own name.
   */
  readonly typeUrl?: string;
  /** Reads a resource's name. Default: none (callers supply names). */
  readonly nameOf?: (resource: T) => string;
  /** Lists the resources this one references. Default: none. */
  readonly references?: (resource: T) => readonly ResourceReference[];
  /** See {@link ResourceType.fullState}. Default: false. */
  readonly fullState?: boolean;
  /** See {@link ResourceType.wildcardAllowed}. Default: false. */
  readonly wildcardAllowed?: boolean;
  /** See {@link ResourceType.shortName}. Default: the message name after the type URL's last `.`, lower-cased (`acme.v1.Quota` → `quota`). */
  readonly shortName?: string;
  /** See {@link ResourceType.noun}. Default: the message name in words, lower-cased (`VirtualHost` → `virtual host`). */
  readonly noun?: string;
  /** See {@link ResourceType.order}. Default: 100 (after every built-in type). */
  readonly order?: number;
  /** See {@link ResourceType.service}. Default: none (ADS only). */
  readonly service?: XdsServiceDefinition;
  /** See {@link ResourceType.legacyWildcard}. Default: `"never"`. */
  readonly legacyWildcard?: LegacyWildcardMode;
  /** See {@link ResourceType.warmingDependents}. Default: none. */
  readonly warmingDependents?: readonly string[];
  /** See {@link ResourceType.adsConsistent}. Default: false. */
  readonly adsConsistent?: boolean;
}

const LEGACY_WILDCARD_MODES: readonly string[] = ["always", "not-grpc", "never"];

/** The message name after a type URL's last `.` or `/`. */
function messageNameOf(typeUrl: string): string {
  return typeUrl.slice(Math.max(typeUrl.lastIndexOf("."), typeUrl.lastIndexOf("/")) + 1);
}

function isRegisteredCodec(codec: MessageType<any>): boolean {
  try {
    typeUrlOf(codec);
    return true;
  } catch {
    return false;
  }
}

const NO_REFERENCES: readonly ResourceReference[] = Object.freeze([]);

function optionError(option: string, expected: string, actual: unknown): XdskitError {
  return sharedOptionError("defineResourceType", option, expected, actual);
}

/**
 * Makes a resource-type descriptor, for your own resource types (any type URL
 * works) or to override how a built-in one is treated.
 *
 * The result is frozen. `defineResourceType` does not register it: pass it to
 * {@link registerResourceType} to make {@link resourceTypeOf} find it.
 *
 * @example
 * const Quota = defineResourceType({
 *   typeUrl: "type.googleapis.com/acme.mesh.v1.Quota",
 *   messageType: QuotaCodec,
 *   nameOf: (q) => q.name,
 * });
 * registerResourceType(Quota);
 * resourceTypeOf("type.googleapis.com/acme.mesh.v1.Quota") === Quota; // true
 *
 * @throws XdskitError `XDSKIT_INVALID_OPTION` naming the bad option.
 */
export function defineResourceType<T>(def: ResourceTypeDefinition<T>): ResourceType<T> {
  if (typeof def !== "object" || def === null) throw optionError("(definition)", "an object", def);
  const codec = def.messageType as MessageType<T> | undefined;
  if (typeof codec !== "object" || codec === null || typeof codec.encode !== "function" || typeof codec.decode !== "function") {
    throw optionError("messageType", "a message codec with encode/decode (e.g. Cluster from @xdskit/envoy-api)", codec);
  }
  for (const key of ["nameOf", "references"] as const) {
    if (def[key] !== undefined && typeof def[key] !== "function") throw optionError(key, "a function", def[key]);
  }
  for (const key of ["fullState", "wildcardAllowed", "adsConsistent"] as const) {
    if (def[key] !== undefined && typeof def[key] !== "boolean") throw optionError(key, "a boolean", def[key]);
  }
  for (const key of ["shortName", "noun"] as const) {
    if (def[key] !== undefined && (typeof def[key] !== "string" || def[key] === "")) throw optionError(key, "a non-empty string", def[key]);
  }
  if (def.shortName !== undefined && !/^[A-Za-z0-9_.-]+$/.test(def.shortName)) {
    throw optionError("shortName", "letters, digits, '_', '-' or '.' (it is a REST path segment)", def.shortName);
  }
  if (def.order !== undefined && (typeof def.order !== "number" || !Number.isFinite(def.order))) {
    throw optionError("order", "a finite number", def.order);
  }
  if (def.service !== undefined && (typeof def.service !== "object" || def.service === null)) {
    throw optionError("service", "a generated gRPC service definition (e.g. ClusterDiscoveryServiceService)", def.service);
  }
  if (def.legacyWildcard !== undefined && !LEGACY_WILDCARD_MODES.includes(def.legacyWildcard)) {
    throw optionError("legacyWildcard", '"always", "not-grpc" or "never"', def.legacyWildcard);
  }
  if (def.legacyWildcard !== undefined && def.legacyWildcard !== "never" && def.wildcardAllowed !== true) {
    throw optionError("legacyWildcard", '"never" unless wildcardAllowed is true', def.legacyWildcard);
  }
  if (
    def.warmingDependents !== undefined &&
    (!Array.isArray(def.warmingDependents) || def.warmingDependents.some((t) => typeof t !== "string"))
  ) {
    throw optionError("warmingDependents", "an array of type URLs", def.warmingDependents);
  }
  let typeUrl = def.typeUrl;
  if (typeUrl === undefined) {
    try {
      typeUrl = typeUrlOf(codec);
    } catch {
      throw optionError("typeUrl", "a type URL (the codec is not registered, so it cannot be derived)", undefined);
    }
  } else if (typeof typeUrl !== "string" || !/\/[^/]+$/.test(typeUrl)) {
    throw optionError("typeUrl", 'a type URL such as "type.googleapis.com/acme.v1.Quota"', typeUrl);
  } else if (!hasMessageType(typeUrl) && !isRegisteredCodec(codec)) {
    // Register only codecs the registry does not know at all: registering a
    // known codec under a second name would change what typeUrlOf() says for it.
    registerMessageType(typeNameOf(typeUrl), codec);
  }
  return freezeResourceType(def, typeUrl, () => codec);
}

/**
 * A built-in descriptor whose codec is loaded when first read, so that
 * importing the descriptors loads no generated message module (importing
 * @xdskit/server would load about 70 of them for the nine codecs and what
 * they import). Reading `messageType` gives the generated codec, the instance
 * `import` gives: required from `module`, the envoy-api subpath that exports
 * it under its message name, rather than looked up by type URL, which loads
 * envoy-api's table of every codec (130 KB, 0.5 MiB of heap) that a server
 * serving only built-in types never needs. A module that is not where it was
 * expected falls back to the lookup, which names the problem.
 */
export function builtinResourceType<T>(
  def: Omit<ResourceTypeDefinition<T>, "messageType"> & { readonly typeUrl: string },
  module: string,
): ResourceType<T> {
  let codec: MessageType<T> | undefined;
  return freezeResourceType(def, def.typeUrl, () => {
    codec ??= generatedCodec<T>(module, def.typeUrl);
    return codec;
  });
}

const requireGenerated = createRequire(import.meta.url);

function generatedCodec<T>(module: string, typeUrl: string): MessageType<T> {
  try {
    const codec = (requireGenerated(`@xdskit/envoy-api/${module}`) as Record<string, unknown>)[messageNameOf(typeUrl)];
    if (typeof (codec as MessageType<T> | undefined)?.decode === "function") return codec as MessageType<T>;
  } catch {
    // The lookup below says what is wrong.
  }
  return messageTypeOf(typeUrl) as MessageType<T>;
}

function freezeResourceType<T>(
  def: Omit<ResourceTypeDefinition<T>, "messageType">,
  typeUrl: string,
  codec: () => MessageType<T>,
): ResourceType<T> {
  const references = def.references;
  return Object.freeze({
    typeUrl,
    get messageType() {
      return codec();
    },
    ...(def.nameOf ? { nameOf: def.nameOf } : {}),
    references: references ?? (() => NO_REFERENCES),
    fullState: def.fullState ?? false,
    wildcardAllowed: def.wildcardAllowed ?? false,
    shortName: def.shortName ?? messageNameOf(typeUrl).toLowerCase(),
    noun:
      def.noun ??
      messageNameOf(typeUrl)
        .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
        .toLowerCase(),
    order: def.order ?? 100,
    ...(def.service ? { service: def.service } : {}),
    legacyWildcard: def.legacyWildcard ?? "never",
    warmingDependents: Object.freeze([...(def.warmingDependents ?? [])]),
    adsConsistent: def.adsConsistent ?? false,
  });
}
