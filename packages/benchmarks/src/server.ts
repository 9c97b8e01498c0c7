// Server benchmark: node --expose-gc packages/benchmarks/dist/server.js
//
// An XdsServer backed by a SnapshotCache (every node in one group, `nodeGroup:
// () => "all"`, the fastest path) on 127.0.0.1:0, and BENCH_STREAMS ADS
// streams from plain grpc-js clients (AggregatedDiscoveryServiceClient) in a
// child process (server/clients.ts), so the server process holds only the
// server: its heap, RSS and CPU time are the server's own. Each stream
// subscribes to clusters as a wildcard ("*") and ACKs every response; the
// client side reads only version, nonce and resource count of each response.
//
// Scenarios, each timed from the cache call in the server process to the
// child's report that every stream has a response with a new version:
//   1. first snapshot (BENCH_CLUSTERS clusters) to streams already waiting;
//   2. one cluster changed (updateResources);
//   3. every cluster changed (setSnapshot);
//   4. ten one-cluster updates back to back (each as soon as every stream has
//      the previous one): sustained responses per second.
// Run twice, each in its own server process: every stream SotW, then half of
// the streams delta. Every node is in one node group, so every stream is
// answered from one snapshot (and SotW streams share one framed resource list).
//
// Knobs (environment): BENCH_STREAMS (2000), BENCH_CLUSTERS (200),
// BENCH_CONNECTIONS (client HTTP/2 connections the streams are spread over, 100).
import { type ChildProcess, fork, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { Cluster, Cluster_DiscoveryType } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { DEFAULT_SERVER_OPTIONS, XdsServer } from "@xdskit/server";
import type { Command, Report } from "./server/clients.js";

const STREAMS = Number(process.env.BENCH_STREAMS ?? 2000);
const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 200);
const CONNECTIONS = Math.max(1, Math.min(STREAMS, Number(process.env.BENCH_CONNECTIONS ?? 100)));
const CDS = TypeUrl.Cluster;
const TIMEOUT_MS = 60_000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function mib(bytes: number, sign = false): string {
  return `${sign && bytes >= 0 ? "+" : ""}${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function cluster(i: number, generation: number): Cluster {
  return Cluster.fromPartial({
    name: `cluster-${i}`,
    type: Cluster_DiscoveryType.EDS,
    connectTimeout: { seconds: 1 + generation, nanos: 0 },
    edsClusterConfig: { serviceName: `cluster-${i}`, edsConfig: { ads: {} } },
  });
}

/** The child process of the clients, as a sequence of awaited reports. */
class Clients {
  readonly #child: ChildProcess;
  readonly #queue: Report[] = [];
  #wake: (() => void) | undefined;
  #exited = false;

  constructor(address: string, deltaStreams: number) {
    this.#child = fork(fileURLToPath(new URL("./server/clients.js", import.meta.url)), [], {
      env: { ...process.env, BENCH_ADDRESS: address, BENCH_DELTA: String(deltaStreams) },
    });
    this.#child.on("message", (report: Report) => {
      if (report.kind === "failed") {
        console.error(`client failure: ${report.message}`);
        this.#child.kill();
        process.exit(1);
      }
      this.#queue.push(report);
      this.#wake?.();
    });
    this.#child.on("exit", (code) => {
      this.#exited = true;
      this.#wake?.();
      if (code !== 0 && code !== null) console.error(`client process exited with ${code}`);
    });
  }

  send(command: Command): void {
    this.#child.send(command);
  }

  async expect<K extends Report["kind"]>(kind: K): Promise<Extract<Report, { kind: K }>> {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const report = this.#queue.shift();
      if (report !== undefined) {
        if (report.kind !== kind) throw new Error(`expected "${kind}" from the clients, got "${report.kind}"`);
        return report as Extract<Report, { kind: K }>;
      }
      if (this.#exited) throw new Error(`the client process exited while waiting for "${kind}"`);
      if (Date.now() > deadline) throw new Error(`no "${kind}" from the clients within ${TIMEOUT_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  async exit(): Promise<void> {
    if (this.#exited) return;
    await new Promise<void>((resolve) => {
      this.#child.once("exit", () => resolve());
      this.#child.disconnect();
    });
  }
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

interface Row {
  scenario: string;
  toEveryStream: number;
  toEveryAck: number;
  responses: number;
  mib: number;
  cpuMs: number;
  clientCpuMs: number;
  resources: string;
}

async function run(label: string, deltaStreams: number): Promise<void> {
  const sotwStreams = STREAMS - deltaStreams;
  console.log(
    `\n--- ${label}: ${sotwStreams} SotW + ${deltaStreams} delta ADS streams, ${CLUSTERS} clusters, ${CONNECTIONS} client connections`,
  );
  const heapStart = heap();
  const rssStart = process.memoryUsage().rss;
  let requests = 0;
  let acks = 0;
  let responses = 0;
  let responseBytes = 0;
  const cache = new SnapshotCache({ nodeGroup: () => "all" });
  const maxConcurrentStreams = Math.max(DEFAULT_SERVER_OPTIONS.maxConcurrentStreams, STREAMS);
  const xds = new XdsServer({
    cache,
    maxConcurrentStreams,
    callbacks: {
      onRequest: () => void requests++,
      onAck: () => void acks++,
      onResponse: (e) => {
        responses++;
        responseBytes += e.bytes;
      },
    },
  });
  if (maxConcurrentStreams !== DEFAULT_SERVER_OPTIONS.maxConcurrentStreams) {
    console.log(`maxConcurrentStreams raised from ${DEFAULT_SERVER_OPTIONS.maxConcurrentStreams} to ${maxConcurrentStreams}`);
  }
  const grpcServer = new Server();
  xds.register(grpcServer, { services: ["ads"] });
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  const clients = new Clients(`127.0.0.1:${port}`, deltaStreams);
  await clients.expect("ready");
  const heapServerUp = heap();

  const t = performance.now();
  clients.send({ kind: "open" });
  await until(() => requests >= STREAMS && xds.stats.streams === STREAMS, `${STREAMS} streams to open`);
  const openMs = performance.now() - t;
  const heapOpen = heap();
  const rssOpen = process.memoryUsage().rss;
  console.log(
    `open: ${STREAMS} streams opened, first request handled and watch held in ${openMs.toFixed(0)} ms; heap ${mib(heapOpen - heapServerUp, true)} ` +
      `(${((heapOpen - heapServerUp) / STREAMS / 1024).toFixed(1)} KiB per stream)`,
  );

  const rows: Row[] = [];
  let clientCpuMs = 0; // the client process's CPU time in the current scenario
  const awaitEveryStream = async (): Promise<Extract<Report, { kind: "done" }>> => {
    const done = await clients.expect("done");
    clientCpuMs += done.cpuMs;
    return done;
  };
  const measure = async (scenario: string, change: () => void | Promise<void>, expectAcks = STREAMS): Promise<void> => {
    clients.send({ kind: "mark" });
    await clients.expect("marked");
    const acksBefore = acks;
    const responsesBefore = responses;
    const heapBefore = heap();
    const cpuBefore = process.cpuUsage();
    clientCpuMs = 0;
    const start = performance.now();
    await change();
    const done = await awaitEveryStream();
    const toEveryStream = performance.now() - start;
    const allocated = process.memoryUsage().heapUsed - heapBefore;
    await until(() => acks - acksBefore >= expectAcks, `${expectAcks} ACKs`);
    const toEveryAck = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    const row: Row = {
      scenario,
      toEveryStream,
      toEveryAck,
      responses: responses - responsesBefore,
      mib: allocated / 1024 / 1024,
      cpuMs: (cpu.user + cpu.system) / 1000,
      clientCpuMs,
      resources: done.minResources === done.maxResources ? `${done.minResources}` : `${done.minResources}-${done.maxResources}`,
    };
    rows.push(row);
    console.log(
      `${scenario}: every stream has it in ${toEveryStream.toFixed(0)} ms, every ACK handled at ${toEveryAck.toFixed(0)} ms; ` +
        `${row.responses} responses (${(row.responses / (toEveryStream / 1000)).toFixed(0)}/s), resources per response ${row.resources}; ` +
        `server CPU ${row.cpuMs.toFixed(0)} ms (client process ${clientCpuMs.toFixed(0)} ms), heap allocated ${mib(allocated, true)} (before GC)`,
    );
  };

  const clusters = Array.from({ length: CLUSTERS }, (_, i) => cluster(i, 0));
  let generation = 0;
  await measure(`first snapshot (${CLUSTERS} clusters)`, () => {
    cache.setSnapshot("all", { version: "v0", resources: { [CDS]: clusters } });
  });
  const heapServing = heap();
  const rssServing = process.memoryUsage().rss;
  await measure("one cluster changed (updateResources)", () => {
    generation++;
    clusters[7] = cluster(7, generation);
    cache.updateResources("all", { version: `v${generation}`, upsert: { [CDS]: [clusters[7]!] } });
  });
  await measure(`every cluster changed (setSnapshot)`, () => {
    generation++;
    for (let i = 0; i < CLUSTERS; i++) clusters[i] = cluster(i, generation);
    cache.setSnapshot("all", { version: `v${generation}`, resources: { [CDS]: clusters } });
  });
  const UPDATES = 10;
  await measure(
    `${UPDATES} one-cluster updates back to back`,
    async () => {
      for (let k = 0; k < UPDATES; k++) {
        generation++;
        clusters[11] = cluster(11, generation);
        cache.updateResources("all", { version: `v${generation}`, upsert: { [CDS]: [clusters[11]!] } });
        if (k < UPDATES - 1) {
          await awaitEveryStream();
          clients.send({ kind: "mark" });
          await clients.expect("marked");
        }
      }
    },
    STREAMS * UPDATES,
  );

  const heapEnd = heap();
  const rssEnd = process.memoryUsage().rss;
  console.log(
    `memory (heap after GC, relative to before the server was built): server up ${mib(heapServerUp - heapStart, true)}, ` +
      `${STREAMS} streams open ${mib(heapOpen - heapStart, true)}, serving the first snapshot ${mib(heapServing - heapStart, true)}, ` +
      `after the updates ${mib(heapEnd - heapStart, true)}; RSS ${mib(rssStart)} -> ${mib(rssOpen)} (open) -> ${mib(rssServing)} (serving) -> ${mib(rssEnd)} (end)`,
  );
  console.log(`server totals: ${responses} responses, ${mib(responseBytes)} sent, ${acks} ACKs`);

  clients.send({ kind: "close" });
  const closed = await clients.expect("closed");
  await clients.exit();
  console.log(`client process: CPU ${closed.cpuMs.toFixed(0)} ms in total, RSS ${mib(closed.rss)}`);
  await xds.shutdown({ deadlineMs: 0 });
  grpcServer.forceShutdown();
  cache.dispose();

  console.log(`\n| ${label} | Every stream has it | Every ACK handled | Responses/s | Server CPU | Client CPU | Heap allocated |`);
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const rate = (r.responses / (r.toEveryStream / 1000)).toLocaleString("en-US", { maximumFractionDigits: 0 });
    console.log(
      `| ${r.scenario} | ${r.toEveryStream.toFixed(0)} ms | ${r.toEveryAck.toFixed(0)} ms | ${rate} | ${r.cpuMs.toFixed(0)} ms | ${r.clientCpuMs.toFixed(0)} ms | +${r.mib.toFixed(1)} MiB |`,
    );
  }
}

// Each run in its own server process, so the heap and RSS of one do not carry into the next.
function main(): void {
  const start = performance.now();
  const script = fileURLToPath(import.meta.url);
  let failed = false;
  for (const [label, deltaStreams] of [
    ["SotW", 0],
    ["half delta", Math.floor(STREAMS / 2)],
  ] as const) {
    const result = spawnSync(process.execPath, ["--expose-gc", script, "run", label, String(deltaStreams)], {
      stdio: "inherit",
      timeout: 90_000,
    });
    if (result.status !== 0) {
      console.error(`server benchmark run "${label}" failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`})`);
      failed = true;
    }
  }
  console.log(`\ntotal ${((performance.now() - start) / 1000).toFixed(1)} s`);
  process.exit(failed ? 1 : 0);
}

if (process.argv[2] === "run") {
  run(process.argv[3]!, Number(process.argv[4]))
    .then(() => {
      console.log(`server process peak RSS ${mib(process.resourceUsage().maxRSS * 1024)}`);
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
} else {
  main();
}
