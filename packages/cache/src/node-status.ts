// Node status as its own component: fed with the protocol events a server
// reports (XdsServer feeds the tracker it owns or was given), independent of
// the cache that answers the watches, bounded in nodes and bytes.
import { ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { Observable } from "rxjs";
import { nackedResources } from "./internal/nack-detail.js";
import { checkDuration, checkFunction, checkKnown, checkObject, optionError } from "./internal/options.js";
// rxjs, required from its own modules, not the "rxjs" index: the same classes (internal/rx.ts).
import { Subject } from "./internal/rx.js";
import { groupByNodeId, type NodeGroupKey } from "./node-group.js";
import type { ProtocolEvent } from "./types.js";

/** What one node did with one type. Times are milliseconds since the epoch. */
export interface TypeStatus {
  readonly typeUrl: string;
  /** The node's open streams that subscribed to this type (one per stream and type, normally). */
  readonly openWatches: number;
  /** When the node last sent a request for the type. */
  readonly lastRequestAt?: number;
  /** The last response the server sent. */
  readonly lastSent?: { readonly version: string; readonly nonce: string; readonly resourceNames: readonly string[]; readonly at: number };
  /** The last response the node accepted. */
  readonly lastAck?: { readonly version: string; readonly nonce: string; readonly at: number };
  /** The last response the node rejected, with its `error_detail`. */
  readonly lastNack?: {
    readonly rejectedVersion: string;
    readonly keptVersion: string;
    readonly nonce: string;
    readonly error: { readonly code: number; readonly message: string };
    /**
     * The resources the NACK concerned, where the error detail names them:
     * resources of the rejected response named in Envoy's format
     * ("Error adding/updating cluster(s) web: ...") or indexed in gRPC's
     * ("xDS response validation errors: [resource index 0: ...]", gRFC A46).
     * Empty when the detail names none of them (then treat the whole
     * response as rejected). At most 100.
     */
    readonly resourceNames: readonly string[];
    readonly at: number;
  };
}

/**
 * Who a node said it was, without its metadata (which can be megabytes): the
 * fields status, logs and CSDS need. Strings are cut at 1,024 characters.
 */
export interface NodeIdentity {
  readonly id: string;
  readonly cluster: string;
  readonly userAgentName: string;
  /** `user_agent_version`, or the build version's `major.minor.patch`; "" when the node sent neither. */
  readonly userAgentVersion: string;
  readonly locality?: { readonly region: string; readonly zone: string; readonly subZone: string };
}

/** Status of one node (keyed by node id). */
export interface NodeStatus {
  readonly nodeId: string;
  /** The node group the node belongs to (the tracker's node-group key). */
  readonly group: string;
  /** The node as it last identified itself (without metadata). */
  readonly node: NodeIdentity;
  /** Streams open right now. */
  readonly openStreams: number;
  /** When the node's last stream closed, if none is open. */
  readonly disconnectedAt?: number;
  /** When the node last sent a request of any type. */
  readonly lastRequestAt?: number;
  /** Per type URL. */
  readonly types: Readonly<Record<string, TypeStatus>>;
}

/** Status of one node group: its nodes, with totals. */
export interface GroupStatus {
  readonly group: string;
  readonly nodes: readonly NodeStatus[];
  /** The latest request time among the group's nodes. */
  readonly lastRequestAt?: number;
  /** Open subscriptions per type URL, summed over the group's nodes. */
  readonly openWatches: Readonly<Record<string, number>>;
}

/**
 * What {@link NodeStatusTracker.events} emits: every protocol event the
 * tracker observed (with the node id and group it was filed under), and
 * `node-dropped` when a node's state is forgotten: `retention` after it was
 * disconnected for `retentionMs`, `evicted` to stay within `maxNodes` or
 * `maxBytes`.
 */
export type StatusEvent =
  | { readonly kind: "protocol"; readonly nodeId: string; readonly group: string; readonly event: ProtocolEvent }
  | {
      readonly kind: "node-dropped";
      readonly nodeId: string;
      readonly group: string;
      readonly reason: "retention" | "evicted";
      readonly at: number;
    };

/** Options of {@link NodeStatusTracker}. */
export interface NodeStatusOptions {
  /** Maps a node to its group key (use the cache's, so groups match). Default: {@link groupByNodeId}. */
  readonly nodeGroup?: NodeGroupKey;
  /** How long a node's status is kept after its last stream closed, in milliseconds. Default: 300000 (5 minutes). */
  readonly retentionMs?: number;
  /**
   * Most nodes kept. Past it the oldest is forgotten: first the node
   * disconnected longest ago, else the connected node idle longest (to the second). Default: 50,000.
   */
  readonly maxNodes?: number;
  /**
   * Most bytes of status kept (an estimate: the strings held, at two bytes a
   * character, plus a fixed cost per node and type). Past it the oldest nodes
   * are forgotten as for `maxNodes` (never the node being updated). Default:
   * 64 MiB.
   */
  readonly maxBytes?: number;
}

/** The defaults of {@link NodeStatusOptions}. */
export const NODE_STATUS_DEFAULTS = Object.freeze({
  nodeGroup: groupByNodeId,
  retentionMs: 300_000,
  maxNodes: 50_000,
  maxBytes: 64 * 1024 * 1024,
});

const OWNER = "NodeStatusTracker";
const KNOWN = ["nodeGroup", "retentionMs", "maxNodes", "maxBytes"];
const MAX_FIELD = 1024;
const NODE_OVERHEAD = 400;
const TYPE_OVERHEAD = 200;

/**
 * The fields of a protocol event beyond kind, stream, node, type and time, as a ProtocolEvent
 * names them (a server's own events name them the same).
 */
interface EventFields {
  readonly version?: string;
  readonly nonce?: string;
  readonly resourceNames?: readonly string[];
  readonly rejectedVersion?: string;
  readonly keptVersion?: string;
  readonly error?: { readonly code: number; readonly message: string };
}

interface MutableType {
  typeUrl: string;
  lastRequestAt?: number;
  lastSent?: TypeStatus["lastSent"];
  lastAck?: TypeStatus["lastAck"];
  lastNack?: TypeStatus["lastNack"];
  /** Characters this status holds (see sizeOf), kept so an event recounts only its own type. */
  chars: number;
  /**
   * Characters of lastSent, lastAck and lastNack, counted when each is set: an event recounts
   * its type from these, without reading the strings and lists it holds again.
   */
  sentChars: number;
  ackChars: number;
  nackChars: number;
}

interface MutableNode {
  nodeId: string;
  group: string;
  node: NodeIdentity;
  /** Characters of the node id and of `node` (see sizeOf), counted when `node` is set. */
  identityChars: number;
  /** Open streams, with the types each subscribed to. */
  streams: Map<number, Set<string>>;
  disconnectedAt?: number;
  lastRequestAt?: number;
  types: Map<string, MutableType>;
  /** Characters of every type's status (the sum of typeCharsOf). */
  typeChars: number;
  bytes: number;
  dropTimer?: ReturnType<typeof setTimeout>;
  /** The second (of an event's `at`) the node was last moved to the end of the tracker's order. */
  movedAt: number;
}

function cut(value: string | undefined): string {
  const s = typeof value === "string" ? value : "";
  return s.length > MAX_FIELD ? s.slice(0, MAX_FIELD) : s;
}

// A stream's events all carry the same Node object: its identity is computed once per object
// (weakly held, so a node's metadata is never kept alive by the tracker).
const identities = new WeakMap<Node, NodeIdentity>();

function identityOf(node: Node): NodeIdentity {
  let identity = identities.get(node);
  if (identity === undefined) {
    identity = nodeIdentity(node);
    identities.set(node, identity);
  }
  return identity;
}

/** The fields of a Node status keeps. */
export function nodeIdentity(node: Node): NodeIdentity {
  const build = node.userAgentBuildVersion?.version;
  const version = node.userAgentVersion ?? (build ? `${build.majorNumber}.${build.minorNumber}.${build.patch}` : "");
  return Object.freeze({
    id: node.id ?? "",
    cluster: cut(node.cluster),
    userAgentName: cut(node.userAgentName),
    userAgentVersion: cut(version),
    ...(node.locality
      ? {
          locality: Object.freeze({
            region: cut(node.locality.region),
            zone: cut(node.locality.zone),
            subZone: cut(node.locality.subZone),
          }),
        }
      : {}),
  });
}

function sameIdentity(a: NodeIdentity, b: NodeIdentity): boolean {
  return (
    a.cluster === b.cluster &&
    a.userAgentName === b.userAgentName &&
    a.userAgentVersion === b.userAgentVersion &&
    a.locality?.region === b.locality?.region &&
    a.locality?.zone === b.locality?.zone &&
    a.locality?.subZone === b.locality?.subZone
  );
}

// Characters of a list of names, counted once per list: sizeOf runs on every
// event and a node holds the same frozen lists (often one list shared by every
// node of a group) from one event to the next.
const namesChars = new WeakMap<readonly string[], number>();

function charsOf(names: readonly string[]): number {
  let chars = namesChars.get(names);
  if (chars === undefined) {
    chars = 0;
    for (let i = 0; i < names.length; i++) chars += names[i]!.length + 8;
    namesChars.set(names, chars);
  }
  return chars;
}

/** A frozen list of names: the event's own when it is frozen already (shared by the server between streams), else a frozen copy. */
function frozenNames(names: readonly string[]): readonly string[] {
  return Object.isFrozen(names) ? names : Object.freeze([...names]);
}

/** Characters of a node's id and identity (what sizeOf counts of a node besides its types). */
function identityCharsOf(nodeId: string, n: NodeIdentity): number {
  let chars = nodeId.length + n.cluster.length + n.userAgentName.length + n.userAgentVersion.length;
  chars += (n.locality?.region.length ?? 0) + (n.locality?.zone.length ?? 0) + (n.locality?.subZone.length ?? 0);
  return chars;
}

function sizeOf(state: MutableNode): number {
  const chars = state.identityChars + state.typeChars;
  const bytes = NODE_OVERHEAD + state.streams.size * 64 + state.types.size * TYPE_OVERHEAD;
  return bytes + chars * 2;
}

/**
 * Recounts a type after its status changed: its URL, what was last sent, ACKed and NACKed
 * (each part counted when it was set).
 */
function recount(state: MutableNode, t: MutableType): void {
  const chars = t.typeUrl.length + t.sentChars + t.ackChars + t.nackChars;
  state.typeChars += chars - t.chars;
  t.chars = chars;
}

/**
 * Per-node and per-group protocol status: what each node requested, was
 * sent, ACKed and NACKed, and when. Fed with {@link ProtocolEvent}s by a
 * server (`XdsServer` owns one, `xds.status`, or feeds the one you pass in
 * its `status` option), so it works with any `ConfigWatcher` and one tracker
 * can merge the view of several servers.
 *
 * Bounded: a node's state is dropped `retentionMs` after its last stream
 * closed (go-control-plane keeps it forever: go-control-plane#597), and the
 * oldest nodes are forgotten past `maxNodes` or `maxBytes`. Only the node
 * fields of {@link NodeIdentity} are kept, never its metadata.
 *
 * @example
 * const status = new NodeStatusTracker({ nodeGroup: cache.groupOf });
 * const xds = new XdsServer({ cache, status });
 * status.nodeStatus("envoy-1")?.types[TypeUrl.Cluster]?.lastAck?.version;
 */
export class NodeStatusTracker {
  readonly #nodes = new Map<string, MutableNode>();
  /** Nodes without an open stream, in the order they became idle. */
  readonly #idle = new Map<string, MutableNode>();
  readonly #events = new Subject<StatusEvent>();
  readonly #options: Required<NodeStatusOptions>;
  #bytes = 0;
  #disposed = false;
  /** The node moved to the end of #nodes last (moving it again changes nothing). */
  #latest: MutableNode | undefined;
  /** The Node object of the event that made #latest the latest: the next event of the same stream skips the lookups. */
  #latestNode: Node | undefined;
  /** Hot, without replay; completes on {@link dispose}. */
  readonly events: Observable<StatusEvent>;

  /** @throws XdskitError `XDSKIT_INVALID_OPTION` naming a bad option. */
  constructor(options: NodeStatusOptions = {}) {
    checkObject(OWNER, options);
    checkKnown(OWNER, options, KNOWN);
    checkFunction(OWNER, "nodeGroup", options.nodeGroup);
    checkDuration(OWNER, "retentionMs", options.retentionMs);
    for (const key of ["maxNodes", "maxBytes"] as const) {
      const v = options[key];
      if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 1)) throw optionError(OWNER, key, "an integer >= 1", v);
    }
    this.#options = Object.freeze({
      ...NODE_STATUS_DEFAULTS,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    }) as Required<NodeStatusOptions>;
    this.events = this.#events.asObservable();
  }

  /** The resolved options. */
  get options(): Required<NodeStatusOptions> {
    return this.#options;
  }

  /** Nodes held and the estimated bytes they take. */
  get stats(): { readonly nodes: number; readonly bytes: number } {
    return { nodes: this.#nodes.size, bytes: this.#bytes };
  }

  #node(node: Node, at: number, opening: boolean): MutableNode {
    const nodeId = node.id ?? "";
    const latest = this.#latest;
    // The same Node object as the last event (a stream's events share one, and come in runs):
    // the state the lookups below would find, already the latest, with this very identity.
    if (latest !== undefined && node === this.#latestNode && nodeId === latest.nodeId) return latest;
    let state = this.#nodes.get(nodeId);
    if (!state) {
      const identity = identityOf(node);
      state = {
        nodeId,
        group: this.#options.nodeGroup(node),
        node: identity,
        identityChars: identityCharsOf(nodeId, identity),
        streams: new Map(),
        // Fields set later are declared here: one shape for every node, no property added later.
        disconnectedAt: undefined,
        lastRequestAt: undefined,
        types: new Map(),
        typeChars: 0,
        bytes: 0,
        dropTimer: undefined,
        movedAt: Math.floor(at / 1000),
      };
      this.#nodes.set(nodeId, state);
      // A node first seen opening a stream is not idle: not added to be taken out at once (a Map
      // that grows and shrinks by a whole fleet in an initial sync reallocates its table).
      if (!opening) this.#idle.set(nodeId, state);
    } else {
      // Most recently active last, to the second: eviction takes from the front. Moving a node
      // on every event costs a Map delete and insert each (most of the tracker's time in a
      // fleet's initial sync); once a second per node orders them as well for eviction.
      const second = Math.floor(at / 1000);
      if (this.#latest !== state && state.movedAt !== second) {
        this.#nodes.delete(nodeId);
        this.#nodes.set(nodeId, state);
        state.movedAt = second;
      }
      const identity = identityOf(node);
      if (identity !== state.node && !sameIdentity(identity, state.node)) {
        // A new identity (a new stream) may belong to another group.
        state.node = identity;
        state.identityChars = identityCharsOf(state.nodeId, identity);
        state.group = this.#options.nodeGroup(node);
      }
    }
    this.#latest = state;
    this.#latestNode = node;
    return state;
  }

  #type(state: MutableNode, typeUrl: string): MutableType {
    let t = state.types.get(typeUrl);
    if (!t) {
      // Every field from the start: one shape for every type status, no property added later.
      t = {
        typeUrl,
        lastRequestAt: undefined,
        lastSent: undefined,
        lastAck: undefined,
        lastNack: undefined,
        chars: typeUrl.length,
        sentChars: 0,
        ackChars: 0,
        nackChars: 0,
      };
      state.types.set(typeUrl, t);
      state.typeChars += t.chars;
    }
    return t;
  }

  #forget(state: MutableNode, reason: "retention" | "evicted"): void {
    if (state.dropTimer !== undefined) clearTimeout(state.dropTimer);
    this.#nodes.delete(state.nodeId);
    this.#idle.delete(state.nodeId);
    if (this.#latest === state) {
      this.#latest = undefined;
      this.#latestNode = undefined;
    }
    this.#bytes -= state.bytes;
    this.#events.next({ kind: "node-dropped", nodeId: state.nodeId, group: state.group, reason, at: Date.now() });
  }

  #scheduleDrop(state: MutableNode): void {
    if (state.dropTimer !== undefined || this.#disposed) return;
    state.dropTimer = setTimeout(() => {
      state.dropTimer = undefined;
      if (this.#nodes.get(state.nodeId) === state && state.streams.size === 0) this.#forget(state, "retention");
    }, this.#options.retentionMs);
    state.dropTimer.unref?.();
  }

  #account(state: MutableNode): void {
    const bytes = sizeOf(state);
    this.#bytes += bytes - state.bytes;
    state.bytes = bytes;
    while (this.#nodes.size > this.#options.maxNodes || this.#bytes > this.#options.maxBytes) {
      const victim = this.#oldest(state);
      if (victim === undefined) break;
      this.#forget(victim, "evicted");
    }
  }

  /** The node to forget first: disconnected longest ago, else idle longest; never `keep`. */
  #oldest(keep: MutableNode): MutableNode | undefined {
    for (const s of this.#idle.values()) if (s !== keep) return s;
    for (const s of this.#nodes.values()) if (s !== keep) return s;
    return undefined;
  }

  /**
   * Records a protocol event (a server calls this for every event of its
   * streams). The node's identity is read once per Node object (a stream's
   * events share one): pass a new object when a node's fields change.
   * @throws XdskitError `XDSKIT_API_MISUSE` for a value that is not a ProtocolEvent.
   */
  observe(event: ProtocolEvent): void {
    if (
      typeof event !== "object" ||
      event === null ||
      typeof event.kind !== "string" ||
      typeof event.node !== "object" ||
      event.node === null
    ) {
      throw new XdskitError(
        ErrorCode.API_MISUSE,
        `NodeStatusTracker.observe: expected a ProtocolEvent { kind, streamId, node, at, ... }; got ${event === null ? "null" : typeof event === "object" ? `an object without ${typeof event.kind !== "string" ? "kind" : "node"}` : typeof event}`,
      );
    }
    if (this.#disposed) return;
    // (Fields as given: the stream events have no typeUrl.)
    const typeUrl = (event as { readonly typeUrl?: string }).typeUrl as string;
    const state = this.#record(event.kind, event.streamId, event.node, typeUrl, event.at, event);
    if (this.#events.observed) this.#events.next({ kind: "protocol", nodeId: state.nodeId, group: state.group, event });
  }

  /**
   * @internal {@link observe} for a server's own events (XdsServer's event hub): the protocol
   * event's fields read from `source` (which names them as a ProtocolEvent does), and the
   * ProtocolEvent object itself built by `toEvent` only for subscribers of {@link events}.
   * A server emits about 17 events per stream in an initial sync: an object less for each.
   */
  observeFrom<S extends object>(
    source: S,
    kind: ProtocolEvent["kind"],
    streamId: number,
    node: Node,
    typeUrl: string,
    at: number,
    toEvent: (source: S) => ProtocolEvent | undefined,
  ): void {
    if (typeof node !== "object" || node === null) {
      throw new XdskitError(
        ErrorCode.API_MISUSE,
        "NodeStatusTracker.observe: expected a ProtocolEvent { kind, streamId, node, at, ... }; got an object without node",
      );
    }
    if (this.#disposed) return;
    const state = this.#record(kind, streamId, node, typeUrl, at, source);
    if (this.#events.observed) {
      const event = toEvent(source);
      if (event !== undefined) this.#events.next({ kind: "protocol", nodeId: state.nodeId, group: state.group, event });
    }
  }

  /** Applies one protocol event (its fields given apart) to its node's status. */
  #record(kind: string, streamId: number, node: Node, typeUrl: string, at: number, source: object): MutableNode {
    const event = source as EventFields;
    const state = this.#node(node, typeof at === "number" ? at : Date.now(), kind === "stream-opened");
    let sized = true;
    switch (kind) {
      case "stream-opened":
        if (state.dropTimer !== undefined) {
          clearTimeout(state.dropTimer);
          state.dropTimer = undefined;
        }
        state.streams.set(streamId, new Set());
        state.disconnectedAt = undefined;
        this.#idle.delete(state.nodeId);
        break;
      case "stream-closed":
        // The stream's Node object (its metadata) is not held past its stream.
        this.#latestNode = undefined;
        state.streams.delete(streamId);
        if (state.streams.size === 0) {
          state.disconnectedAt = at;
          this.#idle.delete(state.nodeId);
          this.#idle.set(state.nodeId, state);
          this.#scheduleDrop(state);
        }
        break;
      case "request": {
        state.lastRequestAt = at;
        const types = state.streams.get(streamId);
        const size = state.types.size;
        types?.add(typeUrl);
        this.#type(state, typeUrl).lastRequestAt = at;
        // Only a first request of a type changes what the node's status takes.
        sized = state.types.size !== size;
        break;
      }
      case "response": {
        const t = this.#type(state, typeUrl);
        const version = event.version!;
        const nonce = event.nonce!;
        const resourceNames = frozenNames(event.resourceNames!);
        t.lastSent = Object.freeze({ version, nonce, resourceNames, at });
        t.sentChars = version.length + nonce.length + charsOf(resourceNames);
        recount(state, t);
        break;
      }
      case "ack": {
        const t = this.#type(state, typeUrl);
        const version = event.version!;
        const nonce = event.nonce!;
        t.lastAck = Object.freeze({ version, nonce, at });
        t.ackChars = version.length + nonce.length;
        recount(state, t);
        break;
      }
      case "nack": {
        const t = this.#type(state, typeUrl);
        const error = event.error!;
        const sent = t.lastSent?.nonce === event.nonce ? t.lastSent!.resourceNames : [];
        const nack = Object.freeze({
          rejectedVersion: event.rejectedVersion!,
          keptVersion: event.keptVersion!,
          nonce: event.nonce!,
          error: Object.freeze({ code: error.code, message: error.message }),
          resourceNames: Object.freeze(nackedResources(error.message, sent)),
          at,
        });
        t.lastNack = nack;
        t.nackChars =
          nack.rejectedVersion.length +
          nack.keptVersion.length +
          nack.nonce.length +
          nack.error.message.length +
          charsOf(nack.resourceNames);
        recount(state, t);
        break;
      }
    }
    // A node seen only through events of a stream it never opened here still ages out.
    if (state.streams.size === 0) this.#scheduleDrop(state);
    if (sized) this.#account(state);
    return state;
  }

  #freeze(state: MutableNode): NodeStatus {
    const watches = new Map<string, number>();
    for (const types of state.streams.values()) for (const t of types) watches.set(t, (watches.get(t) ?? 0) + 1);
    const types: Record<string, TypeStatus> = {};
    for (const [url, t] of state.types) {
      // Field by field: `chars` is bookkeeping, not status.
      types[url] = Object.freeze({
        typeUrl: t.typeUrl,
        ...(t.lastRequestAt !== undefined ? { lastRequestAt: t.lastRequestAt } : {}),
        ...(t.lastSent !== undefined ? { lastSent: t.lastSent } : {}),
        ...(t.lastAck !== undefined ? { lastAck: t.lastAck } : {}),
        ...(t.lastNack !== undefined ? { lastNack: t.lastNack } : {}),
        openWatches: watches.get(url) ?? 0,
      });
    }
    return Object.freeze({
      nodeId: state.nodeId,
      group: state.group,
      node: state.node,
      openStreams: state.streams.size,
      ...(state.disconnectedAt !== undefined ? { disconnectedAt: state.disconnectedAt } : {}),
      ...(state.lastRequestAt !== undefined ? { lastRequestAt: state.lastRequestAt } : {}),
      types: Object.freeze(types),
    });
  }

  /** A node's status; undefined when the tracker holds none (never seen, dropped or evicted). */
  nodeStatus(nodeId: string): NodeStatus | undefined {
    const state = this.#nodes.get(nodeId);
    return state ? this.#freeze(state) : undefined;
  }

  /** Every node held, least recently active first (to the second). */
  nodes(): NodeStatus[] {
    return [...this.#nodes.values()].map((s) => this.#freeze(s));
  }

  /** A group's nodes with totals; undefined when no node of the group is held. */
  groupStatus(group: string): GroupStatus | undefined {
    return groupStatusOf(
      group,
      [...this.#nodes.values()].filter((s) => s.group === group).map((s) => this.#freeze(s)),
    );
  }

  /** Stops the drop timers and completes {@link events}; later events are ignored. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const s of this.#nodes.values()) if (s.dropTimer !== undefined) clearTimeout(s.dropTimer);
    this.#events.complete();
  }
}

/**
 * A group's status from its nodes' statuses: the latest request time and the
 * open watches per type summed over them (what {@link NodeStatusTracker.groupStatus}
 * gives; for views that merge the nodes of several trackers). Undefined for no nodes.
 */
export function groupStatusOf(group: string, nodes: readonly NodeStatus[]): GroupStatus | undefined {
  if (nodes.length === 0) return undefined;
  const openWatches: Record<string, number> = {};
  let lastRequestAt: number | undefined;
  for (const n of nodes) {
    if (n.lastRequestAt !== undefined && (lastRequestAt === undefined || n.lastRequestAt > lastRequestAt)) lastRequestAt = n.lastRequestAt;
    for (const t of Object.values(n.types)) openWatches[t.typeUrl] = (openWatches[t.typeUrl] ?? 0) + t.openWatches;
  }
  return Object.freeze({
    group,
    nodes,
    ...(lastRequestAt !== undefined ? { lastRequestAt } : {}),
    openWatches: Object.freeze(openWatches),
  });
}
