import { ErrorCode, messageSchema, optionError, TypeUrl, typeNameOf, XdskitError } from "@xdskit/envoy-api/core";
import { type ResourceTypeLookup, resourceTypeOf } from "@xdskit/resources/descriptors";
import { hashBytes } from "./internal/digest.js";
import { isResourceEntry } from "./internal/entry-guard.js";
import type { ResourceEntry } from "./types.js";

/** Options of {@link EntryStore}. */
export interface EntryStoreOptions {
  /**
   * Called after every protobuf encode the store performs, with the type URL
   * and resource name. Use it to count or trace encodes (tests use it to prove
   * that encodes do not grow with watchers or node groups). Default: none.
   */
  readonly onEncode?: (typeUrl: string, name: string) => void;
  /**
   * Looks up a type's descriptor (codec, `nameOf`). Default: `resourceTypeOf`
   * from `@xdskit/resources`.
   */
  readonly resourceTypes?: ResourceTypeLookup;
}

/** Per-call options of {@link EntryStore.entry}. */
export interface EntryOptions {
  /** The resource name. Default: read from the message with the type's `nameOf`. Required for raw bytes of types without `nameOf`. */
  readonly name?: string;
  /** xDS TTL in milliseconds (sent wrapped in `Resource`, refreshed by heartbeats). Default: none. */
  readonly ttlMs?: number;
}

/** What can be handed to a cache as a resource: a decoded message, its encoding, or an entry. */
export type ResourceInput = object | Uint8Array | ResourceEntry;

/** The defaults of {@link EntryStoreOptions}. */
export const ENTRY_STORE_DEFAULTS = Object.freeze({
  onEncode: undefined,
  resourceTypes: resourceTypeOf as ResourceTypeLookup,
});

interface Encoding {
  readonly typeUrl: string;
  readonly bytes: Uint8Array;
  readonly version: string;
}

/**
 * Turns resources into immutable, interned {@link ResourceEntry}s: each
 * message object is encoded once, its version is the SHA-256 of that
 * encoding, and equal content under the same name and type yields the very
 * same entry object, whoever asks. Caches hold entries, never copies, so a
 * snapshot shared by a thousand node groups costs one encode per resource.
 *
 * When to use: every cache makes one by default; pass one store to several
 * caches (option `entries`) so they share entries too, or to count encodes.
 *
 * Details: message objects are remembered by identity (weakly), so handing
 * the same object again costs nothing; treat messages as immutable once
 * given (a mutated object keeps its first encoding). Entries are held weakly:
 * an entry no cache uses any more is garbage collected.
 *
 * @example
 * const store = new EntryStore();
 * const a = store.entry(TypeUrl.Cluster, Cluster.fromPartial({ name: "web" }));
 * const b = store.entry(TypeUrl.Cluster, Cluster.fromPartial({ name: "web" }));
 * a === b; // true: same content, same entry
 * store.encodeCount; // 2 (two distinct objects), 1 entry
 */
export class EntryStore {
  readonly #onEncode: ((typeUrl: string, name: string) => void) | undefined;
  readonly #resourceTypes: ResourceTypeLookup;
  readonly #encodings = new WeakMap<object, Encoding>();
  readonly #interned = new Map<string, WeakRef<ResourceEntry>>();
  /** Entries this store made (handing one back costs nothing). */
  readonly #own = new WeakSet<ResourceEntry>();
  readonly #registry = new FinalizationRegistry<string>((key) => {
    const ref = this.#interned.get(key);
    if (ref && ref.deref() === undefined) this.#interned.delete(key);
  });
  #encodeCount = 0;

  constructor(options: EntryStoreOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw optionError("EntryStore", "(options)", "an object", options);
    }
    if (options.onEncode !== undefined && typeof options.onEncode !== "function") {
      throw optionError("EntryStore", "onEncode", "a function", options.onEncode);
    }
    if (options.resourceTypes !== undefined && typeof options.resourceTypes !== "function") {
      throw optionError("EntryStore", "resourceTypes", "a function (typeUrl) => ResourceType", options.resourceTypes);
    }
    this.#onEncode = options.onEncode;
    this.#resourceTypes = options.resourceTypes ?? ENTRY_STORE_DEFAULTS.resourceTypes;
  }

  /** How many protobuf encodes this store has performed. */
  get encodeCount(): number {
    return this.#encodeCount;
  }

  /** How many interned entries are alive (approximate: collected entries leave lazily). */
  get size(): number {
    return this.#interned.size;
  }

  /** The descriptor lookup the store uses (the `resourceTypes` option). */
  get resourceTypes(): ResourceTypeLookup {
    return this.#resourceTypes;
  }

  /**
   * The interned entry for a resource of `typeUrl`.
   *
   * `resource` may be a decoded message (encoded with the type's codec, once
   * per object), its protobuf encoding, or an existing entry (re-interned; its
   * type URL must match). The name comes from `options.name`, else from the
   * type's `nameOf`.
   *
   * @throws XdskitError `XDSKIT_INVALID_RESOURCE` when the resource cannot be
   *   encoded, has no name, or an entry of another type is given;
   *   `XDSKIT_UNKNOWN_TYPE` for an unknown type URL.
   */
  entry(typeUrl: string, resource: ResourceInput, options: EntryOptions = {}): ResourceEntry {
    const ttlMs = options.ttlMs;
    if (ttlMs !== undefined && (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0)) {
      throw new XdskitError(
        ErrorCode.INVALID_RESOURCE,
        `resource of ${typeUrl}: ttlMs must be a positive number of milliseconds; got ${String(ttlMs)}`,
        {
          typeUrl,
          ...(options.name !== undefined ? { resourceName: options.name } : {}),
        },
      );
    }
    if (isResourceEntry(resource)) {
      if (
        this.#own.has(resource) &&
        resource.typeUrl === typeUrl &&
        (options.name ?? resource.name) === resource.name &&
        (ttlMs ?? resource.ttlMs) === resource.ttlMs
      ) {
        return resource;
      }
      if (resource.typeUrl !== typeUrl) {
        throw new XdskitError(
          ErrorCode.INVALID_RESOURCE,
          `resource "${resource.name}" is an entry of ${resource.typeUrl} but was given as ${typeUrl}`,
          { typeUrl, resourceName: resource.name },
        );
      }
      const name = options.name ?? resource.name;
      return this.#intern(typeUrl, name, resource.bytes, resource.version, ttlMs ?? resource.ttlMs, resource);
    }
    if (resource instanceof Uint8Array) {
      const name = options.name ?? this.#nameOf(typeUrl, () => this.#resourceTypes(typeUrl).messageType.decode(resource));
      return this.#intern(typeUrl, name, resource, hashBytes(resource), ttlMs);
    }
    if (typeof resource !== "object" || resource === null) {
      throw new XdskitError(
        ErrorCode.INVALID_RESOURCE,
        `resource of ${typeUrl} must be a message object, its encoding (Uint8Array) or a ResourceEntry; got ${resource === null ? "null" : typeof resource}`,
        { typeUrl },
      );
    }
    const name = options.name ?? this.#nameOf(typeUrl, () => resource);
    let encoding = this.#encodings.get(resource);
    if (!encoding || encoding.typeUrl !== typeUrl) {
      let bytes: Uint8Array;
      try {
        bytes = this.#resourceTypes(typeUrl)
          .messageType.encode(resource as never)
          .finish();
      } catch (cause) {
        if (cause instanceof XdskitError) throw cause;
        throw new XdskitError(
          ErrorCode.INVALID_RESOURCE,
          misplacedMessage(typeUrl, name, resource) ?? `resource "${name}" cannot be encoded as ${typeUrl}: ${(cause as Error).message}`,
          { typeUrl, resourceName: name, cause },
        );
      }
      this.#encodeCount++;
      this.#onEncode?.(typeUrl, name);
      encoding = { typeUrl, bytes, version: hashBytes(bytes) };
      this.#encodings.set(resource, encoding);
    }
    return this.#intern(typeUrl, name, encoding.bytes, encoding.version, ttlMs);
  }

  #nameOf(typeUrl: string, message: () => unknown): string {
    const nameOf = this.#resourceTypes(typeUrl).nameOf;
    let name: unknown;
    if (nameOf) {
      try {
        name = nameOf(message());
      } catch (cause) {
        throw new XdskitError(ErrorCode.INVALID_RESOURCE, `cannot read the name of a resource of ${typeUrl}: ${(cause as Error).message}`, {
          typeUrl,
          cause,
        });
      }
    }
    if (typeof name !== "string" || name === "") {
      throw new XdskitError(
        ErrorCode.INVALID_RESOURCE,
        `a resource of ${typeUrl} has no name: set its name field, or pass { name } for types whose messages do not carry one`,
        { typeUrl },
      );
    }
    return name;
  }

  #intern(
    typeUrl: string,
    name: string,
    bytes: Uint8Array,
    version: string,
    ttlMs: number | undefined,
    existing?: ResourceEntry,
  ): ResourceEntry {
    const key = `${typeUrl}\0${name}\0${version}\0${ttlMs ?? ""}`;
    const found = this.#interned.get(key)?.deref();
    if (found) return found;
    const entry: ResourceEntry =
      existing && existing.name === name && existing.ttlMs === ttlMs && Object.isFrozen(existing)
        ? existing
        : Object.freeze(ttlMs === undefined ? { name, typeUrl, version, bytes } : { name, typeUrl, version, bytes, ttlMs });
    this.#interned.set(key, new WeakRef(entry));
    this.#own.add(entry);
    this.#registry.register(entry, key);
    return entry;
  }
}

/** The ts-proto property names of a type URL's message, or undefined for a type without a schema. */
function fieldsOf(typeUrl: string): Set<string> | undefined {
  const schema = messageSchema(typeNameOf(typeUrl));
  return schema ? new Set(schema.f.map((f) => f.k)) : undefined;
}

/**
 * Says so when a message that failed to encode is of another type than the
 * one it was filed under (a Cluster under `TypeUrl.Listener`): it has
 * properties the type lacks, and they all belong to a built-in resource type.
 * Undefined when that is not the explanation.
 */
function misplacedMessage(typeUrl: string, name: string, resource: object): string | undefined {
  const fields = fieldsOf(typeUrl);
  if (!fields) return undefined;
  const keys = Object.keys(resource).filter((k) => k !== "$type");
  const foreign = keys.filter((k) => !fields.has(k));
  if (foreign.length === 0) return undefined;
  const shown = foreign.slice(0, 3).join(", ") + (foreign.length > 3 ? ", ..." : "");
  const message = typeUrl.slice(typeUrl.lastIndexOf(".") + 1);
  const owner = Object.entries(TypeUrl).find(([, url]) => url !== typeUrl && keys.every((k) => fieldsOf(url)?.has(k)));
  const hint = owner ? `; it looks like a ${owner[0]}: file it under TypeUrl.${owner[0]}` : "";
  return `resource "${name}" is not a ${message} (filed under ${typeUrl}): it has fields a ${message} does not (${shown})${hint}`;
}
