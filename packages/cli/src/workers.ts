// `xdskit serve --workers N`, the primary's side: N worker processes
// (node:cluster, which shares the xDS port and hands each new connection to
// the next worker in turn) serve xDS; the primary keeps the one authoritative
// state (files, store, admin API, status page) and
//   - publishes what each node group serves into a store of its own
//     (`served/<group>` → { version, resources }), which every worker follows
//     over the cluster IPC channel as a ChannelConfigStore: a worker is a
//     replica of the primary, as an etcd replica is of etcd;
//   - reads the workers' node status when someone asks for it
//     (workers-status.ts), so /v1/status, the status page, `xdskit status`,
//     CSDS and the metrics show every node whichever worker serves it, while
//     each status event is handled once, in the worker that saw it;
//   - restarts a worker that dies (its proxies reconnect to the others).
// The worker's side is serve-worker.ts. docs/serve.md ("Workers") has the picture.
import cluster, { type Worker } from "node:cluster";
import type { IncomingMessage, ServerResponse } from "node:http";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { NodeStatus } from "@xdskit/cache";
import { optionError } from "@xdskit/envoy-api";
import { type ConfigStore, type ServedStore, type StoreChannel, serveConfigStore } from "@xdskit/stores";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { Subscription } from "rxjs";
import type { ControlPlane, GroupBy } from "./control-plane.js";
import type { WorkerNodes } from "./workers-status.js";
import type { Transport } from "./xds-listener.js";

/** Most workers: four per CPU of this machine (more only adds context switches). */
export const maxWorkers = () => availableParallelism() * 4;

/** Checks `--workers`: an integer from 1 to {@link maxWorkers}. */
export function checkWorkers(value: unknown): number {
  const max = maxWorkers();
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw optionError(
      "xdskit serve",
      "workers",
      `an integer from 1 to ${max} (at most 4 per CPU; this machine has ${availableParallelism()})`,
      value,
    );
  }
  return value;
}

/** What a worker needs to serve xDS (sent to it in the `XDSKIT_SERVE_WORKER` environment variable, as JSON). */
export interface WorkerSettings {
  /** The worker's slot, 0..N-1 (a restarted worker takes its predecessor's slot). */
  readonly index: number;
  readonly xdsAddress: string;
  readonly groupBy: GroupBy;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsClientCa?: string;
  readonly requireNodeIdentity?: boolean;
  /** What serves the xDS port in the worker (`--transport`). */
  readonly transport: Transport;
}

/** Messages between a worker and the primary besides the store's (which carry `xdskitStore`). */
export type WorkerMessage =
  | { readonly xdskitWorker: "listening"; readonly port: number }
  | { readonly xdskitWorker: "failed"; readonly message: string }
  | { readonly xdskitWorker: "log"; readonly line: string }
  | { readonly xdskitWorker: "stop" }
  /** A worker's node status changed (sent at most every 250 ms). */
  | { readonly xdskitWorker: "changed" }
  /** The primary asks a worker for its node status; it answers with `status`. */
  | { readonly xdskitWorker: "status?"; readonly id: number }
  | { readonly xdskitWorker: "status"; readonly id: number; readonly nodes: readonly NodeStatus[]; readonly streams: number }
  /** A worker asks for every worker's nodes (for CSDS); the primary answers with `nodes`. */
  | { readonly xdskitWorker: "nodes?" }
  | { readonly xdskitWorker: "nodes"; readonly nodes: readonly NodeStatus[] }
  /** The primary asks a worker for its metrics (`/metrics`); it answers with `metrics` (prom-client's JSON form). */
  | { readonly xdskitWorker: "metrics?"; readonly id: number }
  | { readonly xdskitWorker: "metrics"; readonly id: number; readonly metrics: unknown[] };

/** The key of what a group serves in the served-snapshot store. */
export const servedKey = (group: string) => `served/${group}`;

/** What the primary publishes per group: the snapshot version and its resources as Envoy JSON. */
export interface ServedGroup {
  readonly version: string;
  readonly resources: readonly unknown[];
}

/**
 * Keeps `served` (the store the workers follow) equal to what `plane` serves:
 * every change of a group's snapshot version is written as `served/<group>`,
 * in order. Returns a function that stops.
 */
export function publishServed(plane: ControlPlane, served: ConfigStore, onError: (error: unknown) => void): () => void {
  const sent = new Map<string, string>();
  let chain = Promise.resolve();
  const publish = (group: string) => {
    const dump = plane.dump(group);
    if (dump === undefined || sent.get(group) === dump.version) return;
    sent.set(group, dump.version);
    const value: ServedGroup = { version: dump.version, resources: dump.resources };
    chain = chain.then(() => served.put(servedKey(group), value as never).then(() => undefined, onError));
  };
  for (const group of plane.groups()) publish(group);
  const subscription: Subscription = plane.changes.subscribe((group) => {
    try {
      publish(group);
    } catch (error) {
      onError(error);
    }
  });
  return () => subscription.unsubscribe();
}

/** Options of {@link WorkerPool.start}. */
export interface WorkerPoolOptions {
  /** How many workers. */
  readonly count: number;
  /** What each worker serves with (its `index` is set per worker). */
  readonly settings: Omit<WorkerSettings, "index">;
  /** The served-snapshot store every worker follows. */
  readonly served: ConfigStore;
  /** Every worker's nodes, for a worker's CSDS (`nodes?`). */
  readonly fleet: () => Promise<readonly NodeStatus[]>;
  /** Called when a worker says its node status changed. */
  readonly onStatusChange: () => void;
  /** Structured log of the primary. */
  readonly log: (level: string, msg: string, fields?: object) => void;
  /** Where the workers' own JSON log lines go. */
  readonly write: (line: string) => void;
}

/** Restart delay after a worker dies: doubles from 100 ms while workers die young (within 10 s), at most 5 s. */
const RESTART = { firstMs: 100, maxMs: 5_000, youngMs: 10_000 };
/** How long the primary waits for a worker's answer (status, metrics) before leaving it out. */
const ANSWER_MS = 2_000;

interface Slot {
  index: number;
  worker?: Worker;
  startedAt: number;
  restartMs: number;
  listening: boolean;
  served?: ServedStore;
  /** Open streams, as of its last status answer. */
  streams: number;
}

/**
 * The worker processes of `xdskit serve --workers N` and their supervision.
 * Start with {@link WorkerPool.start}; it resolves once every worker serves.
 */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #slots: Slot[];
  #closing = false;
  #port = 0;
  #restarts = 0;
  #ids = 0;
  readonly #replies = new Map<number, (answer: unknown) => void>();

  private constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: options.count }, (_, index) => ({
      index,
      startedAt: 0,
      restartMs: RESTART.firstMs,
      listening: false,
      streams: 0,
    }));
  }

  /** Forks the workers; resolves with the pool once every one listens, rejects (and stops them) when one fails first. */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    cluster.setupPrimary({
      exec: fileURLToPath(new URL("./serve-worker.js", import.meta.url)),
      args: [],
      serialization: "advanced",
    });
    try {
      // The first worker binds the address (port 0 picks one); the others share it.
      const port = await pool.#fork(pool.#slots[0] as Slot);
      pool.#port = port;
      await Promise.all(pool.#slots.slice(1).map((slot) => pool.#fork(slot)));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** The xDS port the workers share. */
  get port(): number {
    return this.#port;
  }

  /** True when every worker is up and serving. */
  get ready(): boolean {
    return !this.#closing && this.#slots.every((s) => s.listening);
  }

  /** Each worker: slot, process id (while it runs), open streams, and how many times any worker was restarted. */
  describe(): { workers: { index: number; pid?: number; listening: boolean; streams: number }[]; restarts: number } {
    return {
      workers: this.#slots.map((s) => ({
        index: s.index,
        ...(s.worker?.process.pid === undefined ? {} : { pid: s.worker.process.pid }),
        listening: s.listening,
        streams: s.streams,
      })),
      restarts: this.#restarts,
    };
  }

  /** Every listening worker's node status; a worker that does not answer within 2 s is left out. */
  async nodes(): Promise<WorkerNodes[]> {
    const answers = await Promise.all(
      this.#slots.map(async (slot) => {
        const answer = (await this.#ask(slot, (id) => ({ xdskitWorker: "status?", id }))) as
          | Extract<WorkerMessage, { xdskitWorker: "status" }>
          | undefined;
        if (answer === undefined) return undefined;
        slot.streams = answer.streams;
        return { index: slot.index, nodes: answer.nodes };
      }),
    );
    return answers.filter((a): a is WorkerNodes => a !== undefined);
  }

  /** Every listening worker's metrics (prom-client JSON); a worker that does not answer within 2 s is left out. */
  async metrics(): Promise<unknown[][]> {
    const answers = await Promise.all(this.#slots.map((slot) => this.#ask(slot, (id) => ({ xdskitWorker: "metrics?", id }))));
    return answers
      .map((a) => (a as Extract<WorkerMessage, { xdskitWorker: "metrics" }> | undefined)?.metrics)
      .filter((m): m is unknown[] => Array.isArray(m));
  }

  /** Sends a question to a listening worker; resolves with its answer (the message with the same id), or undefined. */
  #ask(slot: Slot, question: (id: number) => WorkerMessage): Promise<unknown> {
    const worker = slot.worker;
    if (!slot.listening || !worker?.isConnected()) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const id = ++this.#ids;
      const timer = setTimeout(() => done(undefined), ANSWER_MS);
      const done = (answer: unknown) => {
        clearTimeout(timer);
        this.#replies.delete(id);
        resolve(answer);
      };
      this.#replies.set(id, done);
      try {
        worker.send(question(id));
      } catch {
        done(undefined);
      }
    });
  }

  /** Stops every worker: each ends its streams (UNAVAILABLE, so proxies reconnect) and exits; killed after 3 s. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(
      this.#slots.map(async (slot) => {
        const worker = slot.worker;
        if (!worker || worker.isDead()) return;
        const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
        try {
          worker.send({ xdskitWorker: "stop" } satisfies WorkerMessage);
        } catch {
          worker.process.kill("SIGKILL");
        }
        const timer = setTimeout(() => worker.process.kill("SIGKILL"), 3_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Forks the worker of a slot; resolves with its port once it listens. */
  #fork(slot: Slot): Promise<number> {
    const { settings, served, fleet, onStatusChange, log, write } = this.#options;
    const worker = cluster.fork({ XDSKIT_SERVE_WORKER: JSON.stringify({ ...settings, index: slot.index } satisfies WorkerSettings) });
    slot.worker = worker;
    slot.startedAt = Date.now();
    slot.listening = false;
    const channel: StoreChannel = {
      send: (m) => {
        if (worker.isConnected()) worker.send(m as never);
      },
      onMessage: (listener) => {
        worker.on("message", listener);
        return () => worker.off("message", listener);
      },
    };
    slot.served = serveConfigStore(served, channel);
    return new Promise<number>((resolve, reject) => {
      let settled = false;
      const onMessage = (message: WorkerMessage) => {
        if (typeof message !== "object" || message === null || !("xdskitWorker" in message)) return;
        switch (message.xdskitWorker) {
          case "listening":
            slot.listening = true;
            settled = true;
            resolve(message.port);
            return;
          case "failed":
            if (!settled) {
              settled = true;
              reject(new Error(`xdskit serve: worker ${slot.index} could not start: ${message.message}`));
            } else log("error", `worker ${slot.index} failed: ${message.message}`, { worker: slot.index });
            return;
          case "log":
            write(message.line);
            return;
          case "changed":
            onStatusChange();
            return;
          case "status":
          case "metrics":
            this.#replies.get(message.id)?.(message);
            return;
          case "nodes?":
            fleet().then(
              (nodes) => channel.send({ xdskitWorker: "nodes", nodes } satisfies WorkerMessage),
              () => undefined,
            );
            return;
          default:
            return;
        }
      };
      worker.on("message", onMessage);
      worker.once("exit", (code, signal) => {
        slot.listening = false;
        slot.served?.close();
        // Its streams are gone, and its nodes' status with it; they show again where they reconnect.
        slot.streams = 0;
        onStatusChange();
        const at = Date.now();
        if (!settled) {
          settled = true;
          reject(new Error(`xdskit serve: worker ${slot.index} exited while starting (${signal ?? `code ${code}`})`));
          return;
        }
        if (this.#closing) return;
        const young = at - slot.startedAt < RESTART.youngMs;
        const delay = young ? slot.restartMs : RESTART.firstMs;
        slot.restartMs = Math.min(RESTART.maxMs, young ? slot.restartMs * 2 : RESTART.firstMs);
        log(
          "warn",
          `worker ${slot.index} exited (${signal ?? `code ${code}`}); restarting it in ${delay} ms, its proxies reconnect to the others`,
          {
            worker: slot.index,
            pid: worker.process.pid,
          },
        );
        setTimeout(() => {
          if (this.#closing) return;
          this.#restarts++;
          this.#fork(slot).then(
            () => log("info", `worker ${slot.index} restarted`, { worker: slot.index, pid: slot.worker?.process.pid }),
            (error: unknown) => log("error", (error as Error).message, { worker: slot.index }),
          );
        }, delay).unref();
      });
    });
  }
}

/**
 * `/metrics` of a serve with workers: the primary's registry (node status of
 * every worker's nodes, snapshot versions) and each worker's (streams,
 * requests, responses, ACKs, latencies), summed per series; `snapshot_info`
 * (the same on every process) is taken once.
 */
export function workersMetricsHandler(own: Registry, pool: WorkerPool): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    (async () => {
      const all = [(await own.getMetricsAsJSON()) as unknown[], ...(await pool.metrics())] as { name: string; aggregator?: string }[][];
      for (const list of all) for (const m of list) if (m.name.endsWith("snapshot_info")) (m as { aggregator?: string }).aggregator = "max";
      const merged = AggregatorRegistry.aggregate(all);
      const text = await merged.metrics();
      res.writeHead(200, { "content-type": merged.contentType });
      res.end(text);
    })().catch((error: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`metrics failed: ${(error as Error).message}\n`);
    });
  };
}
