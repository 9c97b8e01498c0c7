import { ErrorCode, XdskitError } from "@xdskit/envoy-api";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { type Observable, Subject } from "rxjs";
import type { ProtocolEvent } from "./types.js";

/** What one node did with one type. Times are milliseconds since the epoch. */
export interface TypeStatus {
  readonly typeUrl: string;
  /** Watches open right now for this node and type (one per stream and type, normally). */
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
    readonly at: number;
  };
}

/** Status of one node (keyed by node id). */
export interface NodeStatus {
  readonly nodeId: string;
  /** The node group the node belongs to (the cache's node-group key). */
  readonly group: string;
  /** The node as it last identified itself. */
  readonly node: Node;
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
  /** Open watches per type URL, summed over the group's nodes. */
  readonly openWatches: Readonly<Record<string, number>>;
}

/**
 * What the status Observable emits: every protocol event the cache observed
 * (with the node id and group it was filed under), and `node-dropped` when a
 * node's state is forgotten.
 */
export type StatusEvent =
  | { readonly kind: "protocol"; readonly nodeId: string; readonly group: string; readonly event: ProtocolEvent }
  | { readonly kind: "node-dropped"; readonly nodeId: string; readonly group: string; readonly at: number };

interface MutableType {
  typeUrl: string;
  openWatches: number;
  lastRequestAt?: number;
  lastSent?: TypeStatus["lastSent"];
  lastAck?: TypeStatus["lastAck"];
  lastNack?: TypeStatus["lastNack"];
}

interface MutableNode {
  nodeId: string;
  group: string;
  node: Node;
  streams: Set<number>;
  disconnectedAt?: number;
  lastRequestAt?: number;
  types: Map<string, MutableType>;
  dropTimer?: ReturnType<typeof setTimeout>;
}

/**
 * Per-node and per-group protocol status, shared by the caches: fed by
 * `observe(event)` and by the cache's own watch bookkeeping. A node's state is
 * dropped `retentionMs` after it has neither an open stream nor an open watch
 * (go-control-plane keeps it forever: go-control-plane#597).
 * @internal Used through the caches' `nodeStatus`, `groupStatus`, `statusEvents`.
 */
export class StatusTracker {
  readonly #nodes = new Map<string, MutableNode>();
  readonly #events = new Subject<StatusEvent>();
  readonly #groupOf: (node: Node) => string;
  readonly #retentionMs: number;
  readonly #now: () => number;
  readonly events: Observable<StatusEvent>;

  constructor(groupOf: (node: Node) => string, retentionMs: number, now: () => number = Date.now) {
    this.#groupOf = groupOf;
    this.#retentionMs = retentionMs;
    this.#now = now;
    this.events = this.#events.asObservable();
  }

  #node(node: Node): MutableNode {
    const nodeId = node.id ?? "";
    let state = this.#nodes.get(nodeId);
    if (!state) {
      state = { nodeId, group: this.#groupOf(node), node, streams: new Set(), types: new Map() };
      this.#nodes.set(nodeId, state);
    }
    return state;
  }

  /** Takes the node as it identifies itself now; a new identity (a new stream) may belong to another group. */
  #identify(state: MutableNode, node: Node): void {
    if (!node.id || state.node === node) return;
    state.node = node;
    state.group = this.#groupOf(node);
  }

  #type(state: MutableNode, typeUrl: string): MutableType {
    let t = state.types.get(typeUrl);
    if (!t) {
      t = { typeUrl, openWatches: 0 };
      state.types.set(typeUrl, t);
    }
    return t;
  }

  #activity(state: MutableNode): void {
    if (state.dropTimer !== undefined) {
      clearTimeout(state.dropTimer);
      state.dropTimer = undefined;
    }
  }

  #maybeIdle(state: MutableNode): void {
    if (state.streams.size > 0) return;
    for (const t of state.types.values()) if (t.openWatches > 0) return;
    if (state.dropTimer !== undefined) return;
    state.dropTimer = setTimeout(() => {
      if (this.#nodes.get(state.nodeId) !== state) return;
      this.#nodes.delete(state.nodeId);
      this.#events.next({ kind: "node-dropped", nodeId: state.nodeId, group: state.group, at: this.#now() });
    }, this.#retentionMs);
    state.dropTimer.unref?.();
  }

  /** Records a watch being opened for a node. */
  watchOpened(node: Node, typeUrl: string): void {
    const state = this.#node(node);
    this.#identify(state, node);
    this.#activity(state);
    this.#type(state, typeUrl).openWatches++;
  }

  /** Records a watch ending. */
  watchClosed(node: Node, typeUrl: string): void {
    const state = this.#nodes.get(node.id ?? "");
    if (!state) return;
    const t = this.#type(state, typeUrl);
    if (t.openWatches > 0) t.openWatches--;
    this.#maybeIdle(state);
  }

  /** Records a protocol event from the server. */
  observe(event: ProtocolEvent): void {
    if (
      typeof event !== "object" ||
      event === null ||
      typeof event.kind !== "string" ||
      typeof event.node !== "object" ||
      event.node === null
    ) {
      throw new XdskitError(
        ErrorCode.PROTOCOL_VIOLATION,
        `observe: expected a ProtocolEvent { kind, streamId, node, at, ... }; got ${event === null ? "null" : typeof event === "object" ? `an object without ${typeof event.kind !== "string" ? "kind" : "node"}` : typeof event}`,
      );
    }
    const state = this.#node(event.node);
    this.#identify(state, event.node);
    switch (event.kind) {
      case "stream-opened":
        this.#activity(state);
        state.streams.add(event.streamId);
        state.disconnectedAt = undefined;
        break;
      case "stream-closed":
        state.streams.delete(event.streamId);
        if (state.streams.size === 0) state.disconnectedAt = event.at;
        break;
      case "request": {
        state.lastRequestAt = event.at;
        this.#type(state, event.typeUrl).lastRequestAt = event.at;
        break;
      }
      case "response":
        this.#type(state, event.typeUrl).lastSent = Object.freeze({
          version: event.version,
          nonce: event.nonce,
          resourceNames: event.resourceNames,
          at: event.at,
        });
        break;
      case "ack":
        this.#type(state, event.typeUrl).lastAck = Object.freeze({ version: event.version, nonce: event.nonce, at: event.at });
        break;
      case "nack":
        this.#type(state, event.typeUrl).lastNack = Object.freeze({
          rejectedVersion: event.rejectedVersion,
          keptVersion: event.keptVersion,
          nonce: event.nonce,
          error: Object.freeze({ code: event.error.code, message: event.error.message }),
          at: event.at,
        });
        break;
    }
    this.#events.next({ kind: "protocol", nodeId: state.nodeId, group: state.group, event });
    if (event.kind === "stream-closed") this.#maybeIdle(state);
  }

  #freeze(state: MutableNode): NodeStatus {
    const types: Record<string, TypeStatus> = {};
    for (const [url, t] of state.types) types[url] = Object.freeze({ ...t });
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

  nodeStatus(nodeId: string): NodeStatus | undefined {
    const state = this.#nodes.get(nodeId);
    return state ? this.#freeze(state) : undefined;
  }

  nodes(): NodeStatus[] {
    return [...this.#nodes.values()].map((s) => this.#freeze(s));
  }

  groupStatus(group: string): GroupStatus | undefined {
    const nodes = [...this.#nodes.values()].filter((s) => s.group === group).map((s) => this.#freeze(s));
    if (nodes.length === 0) return undefined;
    const openWatches: Record<string, number> = {};
    let lastRequestAt: number | undefined;
    for (const n of nodes) {
      if (n.lastRequestAt !== undefined && (lastRequestAt === undefined || n.lastRequestAt > lastRequestAt))
        lastRequestAt = n.lastRequestAt;
      for (const t of Object.values(n.types)) openWatches[t.typeUrl] = (openWatches[t.typeUrl] ?? 0) + t.openWatches;
    }
    return Object.freeze({
      group,
      nodes,
      ...(lastRequestAt !== undefined ? { lastRequestAt } : {}),
      openWatches: Object.freeze(openWatches),
    });
  }

  /** Stops the drop timers (the cache is being disposed). */
  dispose(): void {
    for (const s of this.#nodes.values()) if (s.dropTimer !== undefined) clearTimeout(s.dropTimer);
    this.#events.complete();
  }
}
