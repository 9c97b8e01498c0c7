// A worker process of `xdskit serve --workers N` (forked by WorkerPool in
// workers.ts through node:cluster; never run by hand). It serves xDS on the
// port the workers share, from a SnapshotCache that replicates the primary's
// snapshots (`served/<group>` in the primary's served-snapshot store, read
// over the IPC channel as a ChannelConfigStore: list, then watch from the
// listing's revision), and sends its protocol events to the primary in
// batches so the primary's status shows every node. CSDS on the xDS port
// answers with the whole fleet (the primary's view, refreshed at most once a
// second).
import { readFileSync } from "node:fs";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { type NodeStatus, NodeStatusTracker, type ProtocolEvent, SnapshotCache, type XdsLogger } from "@xdskit/cache";
import { addCsdsService, requireNodeIdentity, XdsServer } from "@xdskit/server";
import { createXdsMetrics } from "@xdskit/server/metrics";
import { ChannelConfigStore, type StoreEvent } from "@xdskit/stores";
import type { Subscription } from "rxjs";
import { GROUPERS } from "./control-plane.js";
import { WireEncoder } from "./internal/wire-events.js";
import { parseResource } from "./resource-docs.js";
import type { ServedGroup, WorkerMessage, WorkerSettings } from "./workers.js";

/** Events are sent to the primary at most this often (or sooner, once this many wait). */
const BATCH = { intervalMs: 25, maxEvents: 2_000 };

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

// Protocol events go to the primary, batched (internal/wire-events.ts); the primary's tracker holds
// the status, so this worker keeps none of its own (it would be the same work done twice).
const wire = new WireEncoder();
let timer: NodeJS.Timeout | undefined;
const flush = () => {
  clearTimeout(timer);
  timer = undefined;
  if (wire.size > 0) send({ xdskitWorker: "events", batch: wire.take() });
};
/** The server's status tracker, forwarding instead of tracking. */
class ForwardingStatus extends NodeStatusTracker {
  override observe(event: ProtocolEvent): void {
    wire.add(event);
    if (wire.size >= BATCH.maxEvents) flush();
    else timer ??= setTimeout(flush, BATCH.intervalMs);
  }
}
const status = new ForwardingStatus({ nodeGroup: baseGroup });

/** CSDS's view: the primary's nodes (every worker's), refreshed at most once a second. */
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
      return fleet;
    },
    nodeStatus: (nodeId: string) => fleet.find((n) => n.nodeId === nodeId),
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
    if (m?.xdskitWorker !== "metrics?") return;
    metrics.registry.getMetricsAsJSON().then(
      (json) => send({ xdskitWorker: "metrics", id: m.id, metrics: json }),
      () => send({ xdskitWorker: "metrics", id: m.id, metrics: [] }),
    );
  });
  const grpcServer = new Server();
  xds.register(grpcServer);
  addCsdsService(grpcServer, { status: fleetView as unknown as NodeStatusTracker, cache });
  const credentials =
    settings.tlsCert && settings.tlsKey
      ? ServerCredentials.createSsl(
          settings.tlsClientCa ? readFileSync(settings.tlsClientCa) : null,
          [{ cert_chain: readFileSync(settings.tlsCert), private_key: readFileSync(settings.tlsKey) }],
          settings.tlsClientCa !== undefined,
        )
      : ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(settings.xdsAddress, credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  const stop = async (code: number) => {
    if (stopped) return;
    stopped = true;
    following?.unsubscribe();
    await xds.shutdown({ deadlineMs: 1000 }).catch(() => undefined);
    grpcServer.forceShutdown();
    flush();
    await store.close();
    process.exit(code);
  };
  process.on("message", (m: WorkerMessage) => {
    if (m?.xdskitWorker === "stop") void stop(0);
  });
  // The primary is gone: end the streams so proxies reconnect to a live control plane.
  process.on("disconnect", () => void stop(1));
  send({ xdskitWorker: "listening", port });
}

main().catch((error: unknown) => {
  send({ xdskitWorker: "failed", message: (error as Error)?.message ?? String(error) });
  setTimeout(() => process.exit(1), 100);
});
