import type { SnapshotValidator } from "@xdskit/resources";
import { type ResourceTypeLookup, resourceTypeOf } from "@xdskit/resources/descriptors";
import { EntryStore } from "./entry-store.js";
import { checkBoolean, checkDuration, checkFunction, checkKnown, checkObject, optionError } from "./internal/options.js";
import { isLogger, stderrLogger, type XdsLogger } from "./logger.js";
import { groupByNodeId, type NodeGroupKey } from "./node-group.js";
import type { SnapshotViolation } from "./snapshot.js";
import type { ResourceEntry } from "./types.js";

/** What a cache passes its validator: the snapshot's entries by type URL (decode one with `messageTypeOf(typeUrl).decode(entry.bytes)`). */
export type EntriesByType = { readonly [typeUrl: string]: readonly ResourceEntry[] };

/** Options of {@link SnapshotCache}. */
export interface SnapshotCacheOptions {
  /** Maps a node to its group key. Default: {@link groupByNodeId}. See also `groupByNodeCluster`, `groupByIdPrefix`. */
  readonly nodeGroup?: NodeGroupKey;
  /** The entry store (encoding, interning, encode count). Default: a new `EntryStore` using `resourceTypes`. */
  readonly entries?: EntryStore;
  /** Resource-type descriptors (name, references, full state, wildcard). Default: `resourceTypeOf` from `@xdskit/resources`. */
  readonly resourceTypes?: ResourceTypeLookup;
  /**
   * Checks every snapshot before it is set, whatever its group. Default: none.
   * The one validator type, `SnapshotValidator` of `@xdskit/resources`
   * (`createSnapshotValidator()` makes one); it is called with the snapshot's
   * `ResourceEntry` lists by type URL.
   */
  readonly validator?: SnapshotValidator<SnapshotViolation, EntriesByType>;
  /**
   * Picks the validator for a node group, for caches whose groups need
   * different rules (Envoy proxies and proxyless gRPC clients); `undefined`
   * leaves the group unchecked. Use it instead of `validator`, not with it.
   * Each snapshot is validated once per distinct validator, however many
   * groups it is set on. Default: none.
   *
   * @example
   * const envoy = createSnapshotValidator();
   * const grpc = createSnapshotValidator({ profile: "grpc" });
   * new SnapshotCache({ validatorForGroup: (group) => (group.startsWith("grpc-") ? grpc : envoy) });
   */
  readonly validatorForGroup?: (group: string) => SnapshotValidator<SnapshotViolation, EntriesByType> | undefined;
  /**
   * What to do when `validator` finds problems: `"refuse"` throws an
   * `InvalidSnapshotError` (code `XDSKIT_INVALID_SNAPSHOT`) listing them and
   * keeps the group's last good snapshot serving; `"report"` sets the
   * snapshot and returns the violations. Violations with `severity:
   * "warning"` (e.g. a reference to a resource the snapshot lacks, from
   * `createSnapshotValidator()` without `strictReferences`) never refuse: they
   * are returned in the change and logged. Default: `"refuse"`.
   */
  readonly validation?: "refuse" | "report";
  /**
   * ADS consistency: over ADS, hold SotW answers of the types whose
   * descriptor is `adsConsistent` (endpoints and routes) until the request
   * names every resource of that type in the snapshot. Default:
   * false (it stalls gRPC clients, which ask for what they need only).
   */
  readonly adsConsistency?: boolean;
  /** Interval of TTL heartbeats in milliseconds; 0 turns them off. Default: 0. */
  readonly heartbeatIntervalMs?: number;
  /**
   * Where warnings go (pino-compatible): once per group, a node whose group
   * has no snapshot; once per group, type and names, a request for names the
   * snapshot lacks. Default: {@link stderrLogger} (warnings and errors to
   * stderr, one line each); `silentLogger` for none.
   */
  readonly logger?: XdsLogger;
  /**
   * Coalesces a group's snapshot changes: watches are woken once no change
   * came for `windowMs`, or `maxDelayMs` after the first change held back
   * (default: 10 × `windowMs`), so a burst of updates makes one push per
   * stream with the last state. Until then watches and fetches are answered
   * from the last snapshot released (`getSnapshot` returns the newest). A
   * group's first snapshot is served at once. Default: none (every change is
   * served and wakes watches at once, as tests expect).
   */
  readonly debounce?: { readonly windowMs: number; readonly maxDelayMs?: number };
}

/** The defaults of {@link SnapshotCacheOptions}. */
export const SNAPSHOT_CACHE_DEFAULTS = Object.freeze({
  nodeGroup: groupByNodeId,
  validation: "refuse" as const,
  adsConsistency: false,
  heartbeatIntervalMs: 0,
  logger: stderrLogger as XdsLogger,
});

/** Options with every default filled in. */
export type ResolvedOptions = Required<Omit<SnapshotCacheOptions, "validator" | "validatorForGroup" | "debounce">> & {
  readonly debounce?: SnapshotCacheOptions["debounce"];
  readonly validator?: SnapshotValidator<SnapshotViolation, EntriesByType>;
  readonly validatorForGroup?: (group: string) => SnapshotValidator<SnapshotViolation, EntriesByType> | undefined;
};

const OWNER = "SnapshotCache";
const KNOWN = [
  "nodeGroup",
  "entries",
  "resourceTypes",
  "validator",
  "validatorForGroup",
  "validation",
  "adsConsistency",
  "heartbeatIntervalMs",
  "logger",
  "debounce",
];

/**
 * Validates options and fills in defaults.
 * @throws XdskitError `XDSKIT_INVALID_OPTION` naming the option, what was expected and what arrived.
 */
export function resolveSnapshotCacheOptions(options: SnapshotCacheOptions): ResolvedOptions {
  checkObject(OWNER, options);
  checkKnown(OWNER, options, KNOWN);
  checkFunction(OWNER, "nodeGroup", options.nodeGroup);
  checkFunction(OWNER, "resourceTypes", options.resourceTypes);
  checkFunction(OWNER, "validator", options.validator);
  checkFunction(OWNER, "validatorForGroup", options.validatorForGroup);
  if (options.validator !== undefined && options.validatorForGroup !== undefined) {
    throw optionError(
      OWNER,
      "validatorForGroup",
      "to be set without validator (it picks the validator of every group)",
      options.validatorForGroup,
    );
  }
  if (options.entries !== undefined && !(options.entries instanceof EntryStore)) {
    throw optionError(OWNER, "entries", "an EntryStore", options.entries);
  }
  if (options.validation !== undefined && options.validation !== "refuse" && options.validation !== "report") {
    throw optionError(OWNER, "validation", '"refuse" or "report"', options.validation);
  }
  checkBoolean(OWNER, "adsConsistency", options.adsConsistency);
  checkDuration(OWNER, "heartbeatIntervalMs", options.heartbeatIntervalMs);
  if (options.debounce !== undefined) {
    if (typeof options.debounce !== "object" || options.debounce === null)
      throw optionError(OWNER, "debounce", "an object { windowMs, maxDelayMs? }", options.debounce);
    checkDuration(OWNER, "debounce.windowMs", options.debounce.windowMs ?? Number.NaN);
    checkDuration(OWNER, "debounce.maxDelayMs", options.debounce.maxDelayMs);
  }
  if (options.logger !== undefined && !isLogger(options.logger)) {
    throw optionError(OWNER, "logger", "a logger with debug, info, warn and error methods (pino works)", options.logger);
  }
  const resourceTypes = options.resourceTypes ?? options.entries?.resourceTypes ?? (resourceTypeOf as ResourceTypeLookup);
  const entries = options.entries ?? new EntryStore({ resourceTypes });
  return Object.freeze({
    ...SNAPSHOT_CACHE_DEFAULTS,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    resourceTypes,
    entries,
  }) as ResolvedOptions;
}
