// A worker process of `xdskit serve --workers N` (forked by WorkerPool in
// workers.ts through node:cluster; never run by hand). It serves xDS on the
// port the workers share, from a SnapshotCache that replicates the primary's
// snapshots (`served/<group>` in the primary's served-snapshot store, read
// over the IPC channel as a ChannelConfigStore: list, then watch from the
// listing's revision). It keeps the node status of its own streams and
// answers the primary's "status?" with it (workers-status.ts), telling the
// primary at most every 250 ms that it changed. CSDS on the xDS port answers
// with the whole fleet (every worker's nodes through the primary, refreshed at
// most once a second, with this worker's own as they are now).
// The port is served on the primary's --transport (xds-listener.ts).
import { type NodeStatus, NodeStatusTracker, SnapshotCache, type XdsLogger } from "@xdskit/cache";
import { requireNodeIdentity, XdsServer } from "@xdskit/server";
import { createXdsMetrics } from "@xdskit/server/metrics";
import { ChannelConfigStore, type StoreEvent } from "@xdskit/stores";
import type { Subscription } from "rxjs";
import { GROUPERS } from "./control-plane.js";
import { parseResource } from "./resource-docs.js";
import type { ServedGroup, WorkerMessage, WorkerSettings } from "./workers.js";
import { listenXds } from "./xds-listener.js";

/** "My status changed" goes to the primary at most this often. */
const CHANGED_MS = 250;

const settings = JSON.parse(process.env.XDSKIT_SERVE_WORKER ?? "{}") as WorkerSettings;
const send = (message: WorkerMessage) => {
  if (process.connected) process.send?.(message);
};
const log = (level: string, msg: string, fields: object = {}) =>
  send({
    xdskitWorker: "log",
    line: JSON.stringify({ level, time: new Date().toISOString(), msg, worker: settings.index, pid: process.pid, ...fields }),
  });
const logger: XdsLogger = {
  debug: () => undefined,
  info: (bindings, message) => log("info", message, bindings),
  warn: (bindings, message) => log("warn", message, bindings),
  error: (bindings, message) => log("error", message, bindings),
};

const store = new ChannelConfigStore({
  description: "primary",
  channel: {
    send: (m) => send(m as WorkerMessage),
    onMessage: (listener) => {
      process.on("message", listener);
      return () => process.off("message", listener);
    },
  },
});
const baseGroup = GROUPERS[settings.groupBy];
const cache = new SnapshotCache({ nodeGroup: baseGroup, logger });

/** Serves one published group: its resources parsed back from Envoy JSON (the primary validated them). */
function apply(group: string, served: ServedGroup): void {
  const resources: Record<string, unknown[]> = {};
  for (const raw of served.resources) {
    const parsed = parseResource(raw, undefined, { message: "" });
    if (!("json" in parsed)) {
      log("error", `a resource the primary published does not parse; group ${group} keeps its last snapshot`, parsed);
      return;
    }
    const list = resources[parsed.typeUrl] ?? [];
    list.push(parsed.message);
    resources[parsed.typeUrl] = list;
  }
  cache.setSnapshot(group, { version: served.version, resources: resources as never });
}

const groupOf = (key: string) => key.slice("served/".length);
function onEvent(event: StoreEvent): void {
  if (event.kind === "put") apply(groupOf(event.entry.key), event.entry.value as unknown as ServedGroup);
  else cache.clearSnapshot(groupOf(event.key));
}

let following: Subscription | undefined;
let stopped = false;
/** Lists what the primary serves, applies it, then follows its changes; after a lost watch, lists again. */
async function follow(): Promise<void> {
  const listing = await store.list("served/");
  const seen = new Set<string>();
  for (const entry of listing.entries) {
    seen.add(groupOf(entry.key));
    apply(groupOf(entry.key), entry.value as unknown as ServedGroup);
  }
  for (const group of cache.groups()) if (!seen.has(group)) cache.clearSnapshot(group);
  following = store.watch("served/", listing.revision).subscribe({
    next: (event) => {
      try {
        onEvent(event);
      } catch (error) {
        log("error", `applying the primary's change failed: ${(error as Error).message}`);
      }
    },
    error: (error: Error) => {
      if (stopped) return;
      log("warn", `following the primary: ${error.message}; listing again`);
      setTimeout(() => void follow().catch(() => undefined), 200).unref();
    },
  });
}

// This worker's node status; the primary reads it on demand and hears when it changed.
const status = new NodeStatusTracker({ nodeGroup: baseGroup });
let changedTimer: NodeJS.Timeout | undefined;
status.events.subscribe(() => {
  if (changedTimer !== undefined) return;
  changedTimer = setTimeout(() => {
    changedTimer = undefined;
    send({ xdskitWorker: "changed" });
  }, CHANGED_MS);
});

/** CSDS's view: every worker's nodes (through the primary), refreshed at most once a second, with this worker's own as they are now. */
const fleetView = (() => {
  let fleet: NodeStatus[] = [];
  let askedAt = 0;
  process.on("message", (m: WorkerMessage) => {
    if (m?.xdskitWorker === "nodes" && Array.isArray(m.nodes)) fleet = [...m.nodes];
  });
  return {
    nodes(): NodeStatus[] {
      if (Date.now() - askedAt > 1_000) {
        askedAt = Date.now();
        send({ xdskitWorker: "nodes?" });
      }
      const local = status.nodes();
      const mine = new Set(local.map((n) => n.nodeId));
      return [...fleet.filter((n) => !mine.has(n.nodeId)), ...local];
    },
    nodeStatus: (nodeId: string) => status.nodeStatus(nodeId) ?? fleet.find((n) => n.nodeId === nodeId),
  };
})();

async function main(): Promise<void> {
  await follow();
  const xds = new XdsServer({
    cache,
    status,
    logger,
    ...(settings.requireNodeIdentity === true ? { callbacks: { onStreamOpen: requireNodeIdentity() } } : {}),
  });
  // Counted here, summed by the primary's /metrics.
  const metrics = createXdsMetrics({ xds, cache });
  process.on("message", (m: WorkerMessage) => {
    if (m?.xdskitWorker === "status?") send({ xdskitWorker: "status", id: m.id, nodes: status.nodes(), streams: xds.stats.streams });
    if (m?.xdskitWorker !== "metrics?") return;
    metrics.registry.getMetricsAsJSON().then(
      (json) => send({ xdskitWorker: "metrics", id: m.id, metrics: json }),
      () => send({ xdskitWorker: "metrics", id: m.id, metrics: [] }),
    );
  });
  // xDS and CSDS on the shared port, on the primary's --transport (grpc-js or node:http2).
  const listener = await listenXds(xds, {
    transport: settings.transport ?? "grpc",
    address: settings.xdsAddress,
    csds: { status: fleetView as unknown as NodeStatusTracker, cache },
    onError: (error) => log("error", `xDS port: ${error.message}`),
    ...(settings.tlsCert === undefined ? {} : { tlsCert: settings.tlsCert }),
    ...(settings.tlsKey === undefined ? {} : { tlsKey: settings.tlsKey }),
    ...(settings.tlsClientCa === undefined ? {} : { tlsClientCa: settings.tlsClientCa }),
  });
  const port = listener.port;
  const stop = async (code: number) => {
    if (stopped) return;
    stopped = true;
    following?.unsubscribe();
    await xds.shutdown({ deadlineMs: 1000 }).catch(() => undefined);
    await listener.close();
    await store.close();
    process.exit(code);
  };
  process.on("message", (m: WorkerMessage) => {
    if (m?.xdskitWorker === "stop") void stop(0);
  });
  // The primary is gone: end the streams so proxies reconnect to a live control plane.
  process.on("disconnect", () => void stop(1));
  // Ctrl-C reaches the whole process group: the primary stops the workers (a worker dying on it would be restarted).
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => void stop(0));
  send({ xdskitWorker: "listening", port });
}

main().catch((error: unknown) => {
  send({ xdskitWorker: "failed", message: (error as Error)?.message ?? String(error) });
  setTimeout(() => process.exit(1), 100);
});
