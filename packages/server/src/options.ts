// The options of XdsServer: one object, all defaults in one frozen object,
// validated at construction.
import { type ConfigWatcher, isLogger, NodeStatusTracker, stderrLogger, type XdsLogger } from "@xdskit/cache";
import { optionError, type XdskitError } from "@xdskit/envoy-api/core";
import type { ResourceType } from "@xdskit/resources";
import type { XdsServerCallbacks } from "./events.js";
import { DEFAULT_SERVED_TYPES, type ResolvedTypeDescriptor, serverViewOf } from "./type-descriptors.js";

/** Options of {@link XdsServer}. Only `cache` is required. */
export interface XdsServerOptions {
  /** What backs every service: a SnapshotCache, LinearCache, MuxCache or any `ConfigWatcher`. Required. */
  readonly cache: ConfigWatcher;
  /**
   * Extra or changed resource types (descriptors made with
   * `defineResourceType` from `@xdskit/resources`); merged with the ten
   * Envoy types of `ResourceTypes` by type URL. A descriptor's `shortName`,
   * `order`, `legacyWildcard`, `warmingDependents` and `fullState` decide how
   * the server treats the type. A request for a type URL not in the result is
   * refused with INVALID_ARGUMENT. Default: the ten Envoy types.
   *
   * @example
   * // Only an explicit `*` subscribes to every cluster:
   * types: [defineResourceType({ ...ResourceTypes.Cluster, legacyWildcard: "never" })]
   */
  readonly types?: readonly ResourceType<any>[];
  /** Send pending responses of one ADS stream in type order (secrets, clusters, endpoints, listeners, routes). Default true. */
  readonly ordered?: boolean;
  /**
   * On ADS streams, remove resources only after the client ACKed the
   * additions that replace them, and after every other type's response is
   * ACKed, so a route switch that also deletes the old cluster never reaches
   * the client as "cluster deleted" first. Default true; `false` sends
   * removals at once (one round trip fewer).
   */
  readonly makeBeforeBreak?: boolean;
  /**
   * Maximum admitted streams plus fetches being answered, across the server;
   * more are refused with RESOURCE_EXHAUSTED. A stream counts once
   * `onStreamOpen` accepted it: streams still waiting for their first request
   * fall under `maxOpeningStreams` instead. 0 means unlimited. Default 10,000.
   */
  readonly maxConcurrentStreams?: number;
  /**
   * Maximum streams not admitted yet (no first request, or `onStreamOpen`
   * still deciding), across the server. When full, a new stream ends the
   * oldest one that has not sent any request yet (RESOURCE_EXHAUSTED, "ended
   * to make room"), so an idle flood only evicts itself; with none such, the
   * new stream is refused with RESOURCE_EXHAUSTED. Each holds its slot for at
   * most `firstRequestTimeoutMs`. 0 means unlimited. Default 10,000.
   */
  readonly maxOpeningStreams?: number;
  /**
   * Maximum streams not admitted yet from one peer address; more are refused
   * at once with RESOURCE_EXHAUSTED. Off by default: behind a NAT or an L4
   * load balancer a whole fleet reconnecting after a restart shares one
   * address. 0 means unlimited. Default 0.
   */
  readonly maxOpeningStreamsPerPeer?: number;
  /**
   * At most this many streams start a push (prepare and hand grpc-js a
   * response) per turn of the event loop; the rest start on the next turns,
   * in order, with I/O (ACKs, new streams) handled in between. Keeps a mass
   * update from holding the event loop for the whole fleet at once. A slow
   * reader holds nothing: the cap applies to starting a push only. 0 means
   * no cap. Default 0 (see docs/benchmarks.md for what it does to a burst).
   */
  readonly maxPushesPerTurn?: number;
  /**
   * Accept nodes whose id is empty. Off by default: a stream or fetch whose
   * node has no id is refused with INVALID_ARGUMENT, since status, rollouts
   * and identity checks cannot tell such nodes apart. Default false.
   */
  readonly allowEmptyNodeId?: boolean;
  /**
   * Maximum streams (admitted or not) and fetches at once on one transport
   * connection; more are refused with RESOURCE_EXHAUSTED. 0 means unlimited.
   * Default 100.
   */
  readonly maxStreamsPerConnection?: number;
  /**
   * Maximum streams (admitted or not) and fetches at once from one peer
   * address. Off by default: behind a NAT or an L4 load balancer that
   * rewrites source addresses, a whole fleet shares one address. 0 means
   * unlimited. Default 0.
   */
  readonly maxStreamsPerPeer?: number;
  /**
   * Maximum streams (admitted or not) and fetches at once per verified
   * client identity: the client certificate an mTLS connection presented
   * (its SPIFFE/URI SAN, else DNS SAN, else subject CN). Connections without
   * a client certificate are not counted. Off by default: the pods of one
   * workload often share an identity. 0 means unlimited. Default 0.
   */
  readonly maxStreamsPerIdentity?: number;
  /**
   * Maximum bytes of requests one stream may send while `onStreamOpen` is
   * deciding (at most 64 messages); past it the stream ends with
   * RESOURCE_EXHAUSTED. Default 4 MiB.
   */
  readonly maxBufferedRequestBytes?: number;
  /** Maximum size of one request message, in bytes; larger ones end the stream with RESOURCE_EXHAUSTED. Default 4 MiB. */
  readonly maxRequestBytes?: number;
  /**
   * Maximum size of one response message, in bytes: the client's receive
   * limit (gRPC clients default to 4 MiB). A SotW response over it is not
   * sent and reported as an `error` event (and a process warning) naming the
   * node and sizes; delta responses are split. Default 4 MiB.
   */
  readonly maxResponseBytes?: number;
  /** Maximum names one stream may subscribe to per type (and initial versions per type). Default 100,000. */
  readonly maxSubscribedNames?: number;
  /**
   * Maximum size of what one stream subscribes to, over all its types: the
   * characters of the names it subscribes to (SotW: its current lists; delta:
   * its subscribed names plus the names and versions in its
   * `initial_resource_versions`), a byte per character for ASCII names. Past it the stream ends with RESOURCE_EXHAUSTED. 0 means
   * unlimited. Default 8 MiB.
   */
  readonly maxSubscriptionBytes?: number;
  /** Maximum length of one resource name, in characters. Default 8,192. */
  readonly maxNameLength?: number;
  /** Maximum distinct type URLs per stream; bounds each stream's outgoing queue. Default 32. */
  readonly maxTypesPerStream?: number;
  /** New streams accepted per second across the server (token bucket); more are refused with RESOURCE_EXHAUSTED. 0 means unlimited. Default 0. */
  readonly newStreamsPerSecond?: number;
  /** Burst of the new-stream rate limit, in streams. Default 100. */
  readonly newStreamBurst?: number;
  /** Close streams after this many milliseconds (status OK) so clients reconnect and spread over replicas. 0 means never. Default 0. */
  readonly maxStreamAgeMs?: number;
  /** Random spread of `maxStreamAgeMs`, as a fraction (0.1 = ±10%). Default 0.1. */
  readonly maxStreamAgeJitter?: number;
  /**
   * Time a new stream has to send its first request and be accepted by
   * `onStreamOpen` (and a fetch to be accepted), in milliseconds; otherwise
   * it ends with DEADLINE_EXCEEDED. Until then it holds only an opening slot
   * (`maxOpeningStreams`), never one of `maxConcurrentStreams`. 0 means no
   * limit. Default 10,000.
   */
  readonly firstRequestTimeoutMs?: number;
  /** Hooks called on stream and protocol events. Default none. */
  readonly callbacks?: XdsServerCallbacks;
  /**
   * The node-status tracker the server feeds with its protocol events (read
   * it as `xds.status`). Pass one tracker to several servers to merge their
   * view, or `false` to keep no status. Default: a tracker of the server's
   * own, with default bounds, grouping nodes as the cache does (its
   * `groupOf(node)` when it has one, as SnapshotCache does; else by node id).
   */
  readonly status?: NodeStatusTracker | false;
  /**
   * Where the server logs (pino-compatible; pino works as it is): NACKs once
   * with their detail, responses over the client's limit once, errors, and
   * at debug level streams and ACKs; every line about a stream carries node
   * id, stream id and type. Default: `stderrLogger` (warnings and errors to
   * stderr, one line each); `silentLogger` for none.
   */
  readonly logger?: XdsLogger;
}

/** Options with every default filled in. */
export interface ResolvedXdsServerOptions {
  readonly cache: ConfigWatcher;
  readonly types: ReadonlyMap<string, ResolvedTypeDescriptor>;
  readonly ordered: boolean;
  readonly makeBeforeBreak: boolean;
  readonly maxConcurrentStreams: number;
  readonly maxOpeningStreams: number;
  readonly maxOpeningStreamsPerPeer: number;
  readonly maxStreamsPerConnection: number;
  readonly maxPushesPerTurn: number;
  readonly allowEmptyNodeId: boolean;
  readonly maxStreamsPerPeer: number;
  readonly maxStreamsPerIdentity: number;
  readonly maxBufferedRequestBytes: number;
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
  readonly maxSubscribedNames: number;
  readonly maxSubscriptionBytes: number;
  readonly maxNameLength: number;
  readonly maxTypesPerStream: number;
  readonly newStreamsPerSecond: number;
  readonly newStreamBurst: number;
  readonly maxStreamAgeMs: number;
  readonly maxStreamAgeJitter: number;
  readonly firstRequestTimeoutMs: number;
  readonly callbacks: XdsServerCallbacks;
  /** As given; `undefined` means the server makes its own tracker. */
  readonly status: NodeStatusTracker | false | undefined;
  readonly logger: XdsLogger;
}

const MiB = 1024 * 1024;

/** Every default of {@link XdsServerOptions}. */
export const DEFAULT_SERVER_OPTIONS = Object.freeze({
  ordered: true,
  makeBeforeBreak: true,
  maxConcurrentStreams: 10_000,
  maxOpeningStreams: 10_000,
  maxOpeningStreamsPerPeer: 0,
  maxStreamsPerConnection: 100,
  maxPushesPerTurn: 0,
  allowEmptyNodeId: false,
  maxStreamsPerPeer: 0,
  maxStreamsPerIdentity: 0,
  maxBufferedRequestBytes: 4 * MiB,
  maxRequestBytes: 4 * MiB,
  maxResponseBytes: 4 * MiB,
  maxSubscribedNames: 100_000,
  maxSubscriptionBytes: 8 * MiB,
  maxNameLength: 8_192,
  maxTypesPerStream: 32,
  newStreamsPerSecond: 0,
  newStreamBurst: 100,
  maxStreamAgeMs: 0,
  maxStreamAgeJitter: 0.1,
  firstRequestTimeoutMs: 10_000,
});

const KNOWN_OPTIONS = new Set([...Object.keys(DEFAULT_SERVER_OPTIONS), "cache", "types", "callbacks", "status", "logger"]);
const CALLBACK_NAMES = new Set(["onStreamOpen", "onStreamClosed", "onRequest", "onResponse", "onAck", "onNack", "onFetch", "onError"]);

function invalid(option: string, expected: string, got: unknown): XdskitError {
  return optionError("XdsServer", option, expected, got);
}

function integer(options: Record<string, unknown>, name: keyof typeof DEFAULT_SERVER_OPTIONS, min: number): number {
  const value = options[name] ?? DEFAULT_SERVER_OPTIONS[name];
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw invalid(name, `an integer >= ${min}`, value);
  }
  return value;
}

function boolean(options: Record<string, unknown>, name: keyof typeof DEFAULT_SERVER_OPTIONS): boolean {
  const value = options[name] ?? DEFAULT_SERVER_OPTIONS[name];
  if (typeof value !== "boolean") throw invalid(name, "true or false", value);
  return value;
}

/** Checks and completes options; throws `XDSKIT_INVALID_OPTION` naming the option. */
export function resolveServerOptions(input: XdsServerOptions): ResolvedXdsServerOptions {
  if (typeof input !== "object" || input === null) throw invalid("(options)", "an options object", input);
  const options = input as unknown as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw invalid(key, `one of the known options (${[...KNOWN_OPTIONS].join(", ")})`, options[key]);
  }
  const cache = input.cache;
  if (typeof cache !== "object" || cache === null || typeof cache.watchSotw !== "function" || typeof cache.watchDelta !== "function") {
    throw invalid("cache", "a ConfigWatcher (an object with watchSotw, watchDelta and fetch)", cache);
  }
  if (typeof cache.fetch !== "function") throw invalid("cache", "a ConfigWatcher with a fetch method", cache);
  const types = new Map(DEFAULT_SERVED_TYPES.map((t) => [t.typeUrl, serverViewOf(t)]));
  if (input.types !== undefined) {
    if (!Array.isArray(input.types)) throw invalid("types", "an array of resource types (defineResourceType())", input.types);
    input.types.forEach((d: ResourceType, i: number) => {
      if (typeof d?.typeUrl !== "string" || !d.typeUrl.includes("/"))
        throw invalid(`types[${i}].typeUrl`, "a type URL such as type.googleapis.com/acme.Foo", d?.typeUrl);
      if (typeof d.shortName !== "string" || typeof d.order !== "number" || !Array.isArray(d.warmingDependents)) {
        throw invalid(`types[${i}]`, "a resource type made with defineResourceType() from @xdskit/resources", d);
      }
      types.set(d.typeUrl, serverViewOf(d));
    });
  }
  if (input.status !== undefined && input.status !== false && !(input.status instanceof NodeStatusTracker)) {
    throw invalid("status", "a NodeStatusTracker from @xdskit/cache, or false", input.status);
  }
  if (input.logger !== undefined && !isLogger(input.logger)) {
    throw invalid("logger", "a logger with debug, info, warn and error methods (pino works)", input.logger);
  }
  const callbacks = input.callbacks ?? {};
  if (typeof callbacks !== "object" || callbacks === null) throw invalid("callbacks", "an object of hooks", callbacks);
  for (const [key, value] of Object.entries(callbacks)) {
    if (!CALLBACK_NAMES.has(key)) throw invalid(`callbacks.${key}`, `one of ${[...CALLBACK_NAMES].join(", ")}`, value);
    if (value !== undefined && typeof value !== "function") throw invalid(`callbacks.${key}`, "a function", value);
  }
  const jitter = options.maxStreamAgeJitter ?? DEFAULT_SERVER_OPTIONS.maxStreamAgeJitter;
  if (typeof jitter !== "number" || !(jitter >= 0 && jitter < 1)) throw invalid("maxStreamAgeJitter", "a number in [0, 1)", jitter);
  const newStreamsPerSecond = options.newStreamsPerSecond ?? DEFAULT_SERVER_OPTIONS.newStreamsPerSecond;
  if (typeof newStreamsPerSecond !== "number" || !(newStreamsPerSecond >= 0) || !Number.isFinite(newStreamsPerSecond)) {
    throw invalid("newStreamsPerSecond", "a finite number >= 0", newStreamsPerSecond);
  }
  return Object.freeze({
    cache,
    types,
    status: input.status,
    logger: input.logger ?? stderrLogger,
    ordered: boolean(options, "ordered"),
    makeBeforeBreak: boolean(options, "makeBeforeBreak"),
    maxConcurrentStreams: integer(options, "maxConcurrentStreams", 0),
    maxOpeningStreams: integer(options, "maxOpeningStreams", 0),
    maxOpeningStreamsPerPeer: integer(options, "maxOpeningStreamsPerPeer", 0),
    maxStreamsPerConnection: integer(options, "maxStreamsPerConnection", 0),
    maxPushesPerTurn: integer(options, "maxPushesPerTurn", 0),
    allowEmptyNodeId: boolean(options, "allowEmptyNodeId"),
    maxStreamsPerPeer: integer(options, "maxStreamsPerPeer", 0),
    maxStreamsPerIdentity: integer(options, "maxStreamsPerIdentity", 0),
    maxBufferedRequestBytes: integer(options, "maxBufferedRequestBytes", 1024),
    maxRequestBytes: integer(options, "maxRequestBytes", 1024),
    maxResponseBytes: integer(options, "maxResponseBytes", 1024),
    maxSubscribedNames: integer(options, "maxSubscribedNames", 1),
    maxSubscriptionBytes: integer(options, "maxSubscriptionBytes", 0),
    maxNameLength: integer(options, "maxNameLength", 1),
    maxTypesPerStream: integer(options, "maxTypesPerStream", 1),
    newStreamsPerSecond,
    newStreamBurst: integer(options, "newStreamBurst", 1),
    maxStreamAgeMs: integer(options, "maxStreamAgeMs", 0),
    maxStreamAgeJitter: jitter,
    firstRequestTimeoutMs: integer(options, "firstRequestTimeoutMs", 0),
    callbacks: Object.freeze({ ...callbacks }),
  });
}
