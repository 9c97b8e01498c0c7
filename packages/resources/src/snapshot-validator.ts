import { optionError as sharedOptionError, typeNameOf, type XdskitError } from "@xdskit/envoy-api/core";
import type { ResourceType } from "./resource-type.js";
import { resourceTypeOf } from "./resource-type-registry.js";
import { type ValidationProfile, validateResource } from "./validate.js";
import { collectionNameOf, resourcePath, type Violation } from "./violation.js";

/**
 * One resource as a snapshot holds it: either the decoded message, or an
 * encoded entry `{ name, bytes }` (the shape `@xdskit/cache` stores, its
 * `ResourceEntry`), which is decoded with the type's codec.
 */
export type SnapshotResource = unknown;

/**
 * The resources of one type: a list (names read with the type's `nameOf`, or
 * from encoded entries), or a map from name to resource (needed for types
 * without `nameOf`, such as LEDS `LbEndpoint`).
 */
export type ResourceCollection = Iterable<SnapshotResource> | ReadonlyMap<string, SnapshotResource>;

/** Every resource of a snapshot by type URL. */
export type SnapshotResources = { readonly [typeUrl: string]: ResourceCollection } | ReadonlyMap<string, ResourceCollection>;

/**
 * One problem a snapshot validator reports: the least a cache needs to refuse
 * (or serve and log) a snapshot. A {@link Violation} is one; a validator of
 * your own may return just `{ typeUrl, name, message }`. `@xdskit/cache`
 * re-exports this type as its `SnapshotViolation`.
 */
export interface SnapshotViolation {
  /** Type URL of the resource, when the problem is in one. */
  readonly typeUrl?: string;
  /** Name of the resource, when known. */
  readonly name?: string;
  /** Field path inside the resource, when the problem is in a field. */
  readonly path?: string;
  /** What is wrong. */
  readonly message: string;
  /**
   * `"warning"`: reported but never blocking (e.g. a dangling reference clients
   * wait out); absent or `"error"`: refused under the cache's `validation: "refuse"`.
   */
  readonly severity?: "error" | "warning";
}

/**
 * Checks a whole snapshot and returns every problem (an empty list when it is
 * fine). This is the one validator type: `@xdskit/cache` takes it as its
 * `validator` option, as `SnapshotValidator<SnapshotViolation, EntriesByType>`
 * (it always passes a plain object of `ResourceEntry` lists by type URL,
 * decoded with the type's codec). `createSnapshotValidator()` makes one whose
 * problems are full {@link Violation}s and that takes any
 * {@link SnapshotResources}; a validator of your own may report plain
 * {@link SnapshotViolation}s and read the shape its caller passes (`R`).
 * @example
 * // one of your own, for a cache:
 * const atMost500: SnapshotValidator<SnapshotViolation, Record<string, readonly unknown[]>> = (resources) =>
 *   (resources[TypeUrl.Cluster] ?? []).length > 500 ? [{ typeUrl: TypeUrl.Cluster, message: "more than 500 clusters" }] : [];
 */
export type SnapshotValidator<V extends SnapshotViolation = Violation, R extends SnapshotResources = SnapshotResources> = (
  resources: R,
) => V[];

/** Options of {@link createSnapshotValidator} and {@link validateSnapshot}. */
export interface SnapshotValidatorOptions {
  /** Which client's rules apply to each resource. Default `"envoy"`. */
  readonly profile?: ValidationProfile;
  /**
   * Check cross-references (EDS of EDS clusters, RDS and SRDS of listeners,
   * SDS secrets, ECDS filters, clusters named by routes, aggregate members).
   * Default `true`.
   */
  readonly references?: boolean;
  /**
   * Make a reference to a resource the snapshot does not hold an error
   * instead of a warning. Default `false`: such references are reported with
   * `severity: "warning"` and never block a snapshot, because Envoy and gRPC
   * accept a cluster whose endpoints (or a listener whose routes) are not there
   * yet and wait for them; that is how teams push clusters before endpoints, or
   * keep endpoints in another cache. Set `true` to refuse them.
   */
  readonly strictReferences?: boolean;
  /**
   * Type URLs served by another source (e.g. secrets from a SPIFFE agent's
   * SDS): references to them are not checked. Default: none.
   */
  readonly externalTypes?: readonly string[];
  /** See `ValidateOptions.unknownAny`. Default `"ignore"`. */
  readonly unknownAny?: "ignore" | "report";
}

/** The defaults of {@link SnapshotValidatorOptions}. */
export const SNAPSHOT_VALIDATOR_DEFAULTS = Object.freeze({
  profile: "envoy",
  references: true,
  strictReferences: false,
  externalTypes: Object.freeze([] as string[]),
  unknownAny: "ignore",
} as const);

const OPTION_KEYS = new Set(Object.keys(SNAPSHOT_VALIDATOR_DEFAULTS));

function optionError(option: string, expected: string, actual: unknown): XdskitError {
  return sharedOptionError("createSnapshotValidator", option, expected, actual);
}

function resolve(options: SnapshotValidatorOptions) {
  if (typeof options !== "object" || options === null) throw optionError("(options)", "an object", options);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw optionError(key, `one of ${[...OPTION_KEYS].join(", ")} (unknown option)`, key);
  }
  const o = { ...SNAPSHOT_VALIDATOR_DEFAULTS, ...options };
  if (o.profile !== "envoy" && o.profile !== "grpc") throw optionError("profile", '"envoy" or "grpc"', o.profile);
  if (typeof o.references !== "boolean") throw optionError("references", "a boolean", o.references);
  if (typeof o.strictReferences !== "boolean") throw optionError("strictReferences", "a boolean", o.strictReferences);
  if (!Array.isArray(o.externalTypes) || o.externalTypes.some((t) => typeof t !== "string")) {
    throw optionError("externalTypes", "an array of type URLs", o.externalTypes);
  }
  if (o.unknownAny !== "ignore" && o.unknownAny !== "report") throw optionError("unknownAny", '"ignore" or "report"', o.unknownAny);
  return Object.freeze({ ...o, externalTypes: Object.freeze([...o.externalTypes]) });
}

interface Named {
  readonly name: string | undefined;
  readonly resource: unknown;
  readonly index: number;
}

function isEncodedEntry(value: unknown): value is { name: string; bytes: Uint8Array } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { bytes?: unknown }).bytes instanceof Uint8Array &&
    typeof (value as { name?: unknown }).name === "string"
  );
}

/**
 * Makes a snapshot validator: per resource the rules of `validate()` (with
 * the chosen profile), names (missing, duplicated, or a map key that differs
 * from the resource's own name), and cross-references between resources.
 * A reference to a resource the snapshot lacks is a warning (`severity:
 * "warning"`, which caches serve anyway) unless `strictReferences` is set.
 *
 * Glob references (`*`, `prefix/*`, `xdstp://.../*`: SRDS wildcard, VHDS,
 * LEDS collections) are not checked: they are satisfied by any set.
 *
 * @example
 * const cache = new SnapshotCache({ validator: createSnapshotValidator({ profile: "grpc" }) });
 *
 * @example
 * createSnapshotValidator()({ [TypeUrl.Cluster]: [edsCluster] }).map(formatViolation);
 * // ['clusters[web].name: references endpoints "web" (ClusterLoadAssignment), which is not in the snapshot']
 *
 * @throws XdskitError `XDSKIT_INVALID_OPTION` naming the bad option.
 */
export function createSnapshotValidator(options: SnapshotValidatorOptions = {}): SnapshotValidator {
  const o = resolve(options);
  const external = new Set(o.externalTypes);
  return (resources) => {
    const out: Violation[] = [];
    const byType = new Map<string, { type: ResourceType<any> | undefined; items: Named[] }>();
    const entries = resources instanceof Map ? [...resources] : Object.entries(resources ?? {});
    for (const [typeUrl, collection] of entries as [string, ResourceCollection][]) {
      let type: ResourceType<any> | undefined;
      try {
        type = resourceTypeOf(typeUrl);
      } catch {
        out.push(
          snapshotViolation(typeUrl, undefined, "", "type.unknown", `is a type URL no resource type or message type is registered for`),
        );
        continue;
      }
      const items: Named[] = [];
      const list: [string | undefined, unknown][] =
        collection instanceof Map ? [...collection] : [...(collection as Iterable<unknown>)].map((r) => [undefined, r]);
      list.forEach(([key, raw], index) => {
        let resource = raw;
        let name = key;
        if (isEncodedEntry(raw)) {
          name ??= raw.name;
          try {
            resource = type.messageType.decode(raw.bytes);
          } catch (error) {
            out.push(
              snapshotViolation(
                typeUrl,
                name,
                "",
                "message.decode",
                `cannot be decoded as ${typeNameOf(typeUrl)}: ${(error as Error).message}`,
              ),
            );
            return;
          }
        }
        let own: string | undefined;
        if (type.nameOf && resource !== null && typeof resource === "object") {
          try {
            own = type.nameOf(resource);
          } catch {
            own = undefined;
          }
        }
        if (name !== undefined && own !== undefined && own !== name) {
          out.push(snapshotViolation(typeUrl, name, "", "name.mismatch", `is keyed as "${name}" but the resource is named "${own}"`));
        }
        name ??= own;
        if (!name) {
          out.push(
            snapshotViolation(
              typeUrl,
              undefined,
              "",
              "name.missing",
              `has a resource (#${index}) without a name: give ${collectionNameOf(typeUrl)} as a map from name to resource`,
            ),
          );
        }
        items.push({ name: name || undefined, resource, index });
      });
      const seen = new Set<string>();
      for (const item of items) {
        if (item.name === undefined) continue;
        if (seen.has(item.name))
          out.push(snapshotViolation(typeUrl, item.name, "", "name.duplicate", "appears more than once: names must be unique per type"));
        seen.add(item.name);
      }
      byType.set(typeUrl, { type, items });
    }
    for (const [, { type, items }] of byType) {
      if (!type) continue;
      for (const item of items) out.push(...validateResource(type, item.resource, item.name, o.profile, o.unknownAny));
    }
    if (o.references) {
      const names = new Map<string, Set<string>>();
      for (const [typeUrl, { items }] of byType) names.set(typeUrl, new Set(items.map((i) => i.name ?? "")));
      for (const [typeUrl, { type, items }] of byType) {
        if (!type) continue;
        for (const item of items) {
          if (item.resource === null || typeof item.resource !== "object") continue;
          let references: readonly { typeUrl: string; name: string; path: string }[];
          try {
            references = type.references(item.resource);
          } catch (error) {
            out.push(
              snapshotViolation(typeUrl, item.name, "", "reference.extract", `references could not be read: ${(error as Error).message}`),
            );
            continue;
          }
          for (const ref of references) {
            if (external.has(ref.typeUrl) || ref.name.endsWith("*")) continue;
            if (names.get(ref.typeUrl)?.has(ref.name)) continue;
            const missing = snapshotViolation(
              typeUrl,
              item.name,
              ref.path,
              "reference.missing",
              `references ${collectionNameOf(ref.typeUrl)} "${ref.name}" (${typeNameOf(ref.typeUrl).split(".").at(-1)}), which is not in the snapshot`,
            );
            out.push(o.strictReferences ? missing : { ...missing, severity: "warning" });
          }
        }
      }
    }
    return out;
  };
}

function snapshotViolation(typeUrl: string, name: string | undefined, path: string, rule: string, message: string): Violation {
  const prefix = resourcePath(typeUrl, name);
  return {
    typeUrl,
    ...(name !== undefined ? { name } : {}),
    path,
    location: path === "" ? prefix : `${prefix}.${path}`,
    rule,
    message,
    source: "snapshot",
  };
}

/**
 * Checks a whole snapshot once; see {@link createSnapshotValidator}.
 *
 * @example
 * validateSnapshot({ [TypeUrl.Cluster]: clusters, [TypeUrl.ClusterLoadAssignment]: endpoints }, { profile: "grpc" });
 */
export function validateSnapshot(resources: SnapshotResources, options: SnapshotValidatorOptions = {}): Violation[] {
  return createSnapshotValidator(options)(resources);
}
