// Prometheus metrics for an XdsServer, through prom-client (an optional peer
// dependency: import this module, `@xdskit/server/metrics`, only when you
// have it). Counters follow the server's events; gauges are read when
// scraped, from the server's stats, its node status and the cache.
import type { IncomingMessage, ServerResponse } from "node:http";
import { labelOf, type NodeStatus, type NodeStatusTracker } from "@xdskit/cache";
import { faultOf, optionError } from "@xdskit/envoy-api/core";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Subscription } from "rxjs";
import type { XdsServerEvent } from "./events.js";
import type { XdsServer } from "./xds-server.js";

/** Options of {@link createXdsMetrics}. */
export interface XdsMetricsOptions {
  /** The server to measure. Required. */
  readonly xds: XdsServer;
  /** The registry to register in (your own, to expose xdskit's metrics beside yours). Default: a new `Registry`. */
  readonly registry?: Registry;
  /** Prefix of every metric name. Default: `"xdskit_"`. */
  readonly prefix?: string;
  /**
   * The cache, for `snapshot_info` (SnapshotCache: each group's snapshot
   * version) and `watches` (any cache with an `openWatches` count). Default:
   * the server's cache.
   */
  readonly cache?: unknown;
  /** Most node groups reported in per-group metrics (the rest are summed under group="(other)"). Default: 1,000. */
  readonly maxGroups?: number;
}

/** What {@link createXdsMetrics} returns. */
export interface XdsMetrics {
  /** The registry holding the metrics. */
  readonly registry: Registry;
  /** A node:http request listener answering `GET /metrics` (404 for other paths). */
  handler(request: IncomingMessage, response: ServerResponse): void;
  /** Stops following the server's events and removes the metrics from the registry. */
  close(): void;
}

type SyncState = "synced" | "nacked" | "pending";

/** A node's sync state: NACKed if any type's last response was NACKed, pending if any is unanswered, else synced. */
export function syncStateOf(node: NodeStatus): SyncState {
  let pending = false;
  for (const t of Object.values(node.types)) {
    const sent = t.lastSent;
    if (!sent) continue;
    if (t.lastNack && t.lastNack.nonce === sent.nonce) return "nacked";
    if (!t.lastAck || t.lastAck.nonce !== sent.nonce) pending = true;
  }
  return pending ? "pending" : "synced";
}

function typeLabel(typeUrl: string | undefined): string {
  return typeUrl ?? "";
}

/**
 * Registers Prometheus metrics for a server and returns them with a ready
 * `/metrics` handler. Every metric is listed with its meaning in
 * docs/operations.md.
 *
 * @example
 * import { createXdsMetrics } from "@xdskit/server/metrics";
 * const metrics = createXdsMetrics({ xds });
 * http.createServer(metrics.handler).listen(9102);
 *
 * @throws XdskitError `XDSKIT_INVALID_OPTION` when `xds` is not an XdsServer.
 */
export function createXdsMetrics(options: XdsMetricsOptions): XdsMetrics {
  const xds = options?.xds;
  if (typeof xds !== "object" || xds === null || typeof (xds as XdsServer).events?.subscribe !== "function") {
    throw optionError("createXdsMetrics", "xds", "an XdsServer", options?.xds);
  }
  const registry = options.registry ?? new Registry();
  const p = options.prefix ?? "xdskit_";
  const maxGroups = options.maxGroups ?? 1_000;
  const cache = (options.cache ?? xds.options.cache) as {
    groups?: () => readonly string[];
    getSnapshot?: (g: string) => { version: string } | undefined;
    openWatches?: number;
    groupOf?: (node: Node) => string;
    servedVersion?: (g: string) => string | undefined;
    servedAt?: (g: string) => number | undefined;
  };
  const status: NodeStatusTracker | undefined = xds.status;
  const registers = { registers: [registry] };

  const streams = new Gauge({
    name: `${p}streams_open`,
    help: "Streams open, by protocol and transport",
    labelNames: ["protocol", "transport"],
    ...registers,
  });
  const requests = new Counter({
    name: `${p}requests_total`,
    help: "Discovery requests received, by type",
    labelNames: ["type"],
    ...registers,
  });
  const responses = new Counter({
    name: `${p}responses_total`,
    help: "Discovery responses sent, by type",
    labelNames: ["type"],
    ...registers,
  });
  const bytes = new Counter({
    name: `${p}response_bytes_total`,
    help: "Bytes of discovery responses sent, by type",
    labelNames: ["type"],
    ...registers,
  });
  const acks = new Counter({ name: `${p}acks_total`, help: "ACKs received, by type", labelNames: ["type"], ...registers });
  const nacks = new Counter({ name: `${p}nacks_total`, help: "NACKs received, by type", labelNames: ["type"], ...registers });
  const fetches = new Counter({
    name: `${p}fetches_total`,
    help: "Fetch (gRPC and REST) requests answered, by type",
    labelNames: ["type"],
    ...registers,
  });
  const rejected = new Counter({
    name: `${p}streams_rejected_total`,
    help: "Streams refused, by gRPC status code",
    labelNames: ["code"],
    ...registers,
  });
  const errors = new Counter({
    name: `${p}errors_total`,
    help: "Error events, by error code and whose fault it is (client, cache, hook, caller, transport, xdskit)",
    labelNames: ["code", "fault"],
    ...registers,
  });
  const ackSeconds = new Histogram({
    name: `${p}ack_latency_seconds`,
    help: "Time from sending a response to its ACK, by type",
    labelNames: ["type"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ...registers,
  });
  const sentAt = new Map<string, number>();
  const propagationSeconds = new Histogram({
    name: `${p}config_propagation_seconds`,
    help: "Time from a snapshot change to each node's ACK of the content it changed, by type (streams open at the change; SnapshotCache)",
    labelNames: ["type"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    ...registers,
  });
  /** Per open stream: when it opened, and per type the last version measured (each change is measured once per stream). */
  const openStreams = new Map<number, { readonly openedAt: number; readonly measured: Map<string, string> }>();
  new Gauge({
    name: `${p}pending_responses`,
    help: "Responses queued on slow streams, not yet written",
    registers: [registry],
    collect() {
      this.set(xds.stats.pendingResponses);
    },
  });
  new Gauge({
    name: `${p}nodes`,
    help: "Nodes in node status, by group and sync state (synced, nacked, pending)",
    labelNames: ["group", "state"],
    registers: [registry],
    collect() {
      this.reset();
      if (!status) return;
      const counts = new Map<string, Record<SyncState, number>>();
      for (const node of status.nodes()) {
        if (node.openStreams === 0) continue;
        const group = counts.has(node.group) || counts.size < maxGroups ? node.group : "(other)";
        const c = counts.get(group) ?? { synced: 0, nacked: 0, pending: 0 };
        c[syncStateOf(node)]++;
        counts.set(group, c);
      }
      for (const [group, c] of counts) for (const state of ["synced", "nacked", "pending"] as const) this.set({ group, state }, c[state]);
    },
  });
  new Gauge({
    name: `${p}snapshot_info`,
    help: "The snapshot version each node group serves (value 1, version as a label)",
    labelNames: ["group", "version"],
    registers: [registry],
    collect() {
      this.reset();
      if (typeof cache.groups !== "function" || typeof cache.getSnapshot !== "function") return;
      for (const group of cache.groups().slice(0, maxGroups)) {
        const version = cache.getSnapshot(group)?.version;
        if (version !== undefined) this.set({ group, version }, 1);
      }
    },
  });
  new Gauge({
    name: `${p}watches`,
    help: "Watches waiting in the cache",
    registers: [registry],
    collect() {
      if (typeof cache.openWatches === "number") this.set(cache.openWatches);
    },
  });

  const transportOf = (e: XdsServerEvent): string => (e.context?.ads ? "ads" : "per-type");
  const onEvent = (e: XdsServerEvent): void => {
    const type = typeLabel(e.context?.typeUrl);
    switch (e.kind) {
      case "stream-opened":
        streams.inc({ protocol: e.context.protocol, transport: transportOf(e) });
        openStreams.set(e.context.streamId, { openedAt: e.at, measured: new Map() });
        break;
      case "stream-closed":
        streams.dec({ protocol: e.context.protocol, transport: transportOf(e) });
        openStreams.delete(e.context.streamId);
        break;
      case "request":
        requests.inc({ type });
        break;
      case "response":
        responses.inc({ type });
        bytes.inc({ type }, e.bytes);
        sentAt.set(`${e.context.streamId}\0${e.nonce}`, e.at);
        if (sentAt.size > 100_000) sentAt.delete(sentAt.keys().next().value!);
        break;
      case "ack": {
        acks.inc({ type });
        const key = `${e.context.streamId}\0${e.nonce}`;
        const at = sentAt.get(key);
        if (at !== undefined) {
          ackSeconds.observe({ type }, Math.max(0, e.at - at) / 1000);
          sentAt.delete(key);
        }
        observePropagation(e);
        break;
      }
      case "nack":
        nacks.inc({ type });
        sentAt.delete(`${e.context.streamId}\0${e.nonce}`);
        break;
      case "fetch":
        fetches.inc({ type });
        break;
      case "stream-rejected":
        rejected.inc({ code: String(e.status.code) });
        break;
      case "error":
        errors.inc({ code: e.error.code, fault: faultOf(e.error.code) });
        break;
    }
  };
  /**
   * An ACK of content labelled with the group's served snapshot version, on a
   * stream open when that snapshot was published: the change reached this
   * node after (ack time - publication time).
   */
  function observePropagation(e: Extract<XdsServerEvent, { kind: "ack" }>): void {
    if (typeof cache.groupOf !== "function" || typeof cache.servedVersion !== "function" || typeof cache.servedAt !== "function") return;
    const stream = openStreams.get(e.context.streamId);
    const typeUrl = e.context.typeUrl;
    if (stream === undefined || typeUrl === undefined || stream.measured.get(typeUrl) === e.version) return;
    let group: string;
    try {
      group = cache.groupOf(e.context.node);
    } catch {
      return;
    }
    const served = cache.servedVersion(group);
    const servedAt = cache.servedAt(group);
    const label = e.context.protocol === "delta" ? e.version : labelOf(e.version);
    if (served === undefined || servedAt === undefined || label !== served || stream.openedAt > servedAt) return;
    stream.measured.set(typeUrl, e.version);
    propagationSeconds.observe({ type: typeLabel(typeUrl) }, Math.max(0, e.at - servedAt) / 1000);
  }

  const subscription: Subscription = xds.events.subscribe({ next: onEvent, error: () => {} });

  return {
    registry,
    handler(request, response) {
      if (request.method !== "GET" || (request.url ?? "").split("?")[0] !== "/metrics") {
        response.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n");
        return;
      }
      registry.metrics().then(
        (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
        (error: Error) => response.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${error.message}\n`),
      );
    },
    close() {
      subscription.unsubscribe();
      for (const name of registry.getMetricsAsArray().map((m) => m.name)) if (name.startsWith(p)) registry.removeSingleMetric(name);
    },
  };
}
