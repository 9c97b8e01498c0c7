// Push-cap benchmark: node packages/benchmarks/dist/push-cap.js
//
// What the server option `maxPushesPerTurn` does to a burst. An XdsServer
// backed by a SnapshotCache (every node in one group) in this process, and
// BENCH_STREAMS (2,000) SotW ADS streams from plain grpc-js clients in a child
// process (server/clients.ts: wildcard clusters, every response ACKed). Once
// every stream runs the first snapshot, BENCH_UPDATES (100) one-cluster
// updates arrive 1 ms apart. Measured per cap: responses the server sent
// during the burst, the time from the first update until every stream ran
// the last one (`xds.waitForAck` on the group), and the server's event-loop
// delay during the burst (how long ACKs, new streams and timers had to wait).
// Each cap runs in a fresh server and client process, in the order given.
//
// Knobs (environment): BENCH_STREAMS (2000), BENCH_UPDATES (100), BENCH_CLUSTERS (50),
// BENCH_CAPS (comma-separated maxPushesPerTurn values, "0,50,200,1000"; 0 is no cap).
import { type ChildProcess, fork } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { XdsServer } from "@xdskit/server";
import type { Report } from "./server/clients.js";

const STREAMS = Number(process.env.BENCH_STREAMS ?? 2000);
const UPDATES = Number(process.env.BENCH_UPDATES ?? 100);
const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 50);
const CAPS = (process.env.BENCH_CAPS ?? "0,50,200,1000").split(",").map(Number);
const CDS = TypeUrl.Cluster;

const cluster = (i: number, generation: number) =>
  Cluster.fromPartial({ name: `c${i}`, connectTimeout: { seconds: 1 + generation, nanos: 0 } });

function waitFor(child: ChildProcess, kind: Report["kind"]): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (report: Report) => {
      if (report.kind === "failed") reject(new Error(report.message));
      if (report.kind !== kind) return;
      child.off("message", onMessage);
      resolve();
    };
    child.on("message", onMessage);
  });
}

async function run(cap: number): Promise<string> {
  const cache = new SnapshotCache({ nodeGroup: () => "all" });
  cache.setSnapshot("all", { version: "v0", resources: { [CDS]: Array.from({ length: CLUSTERS }, (_, i) => cluster(i, 0)) } });
  let responses = 0;
  const xds = new XdsServer({
    cache,
    maxConcurrentStreams: STREAMS + 100,
    maxStreamsPerConnection: 0,
    maxPushesPerTurn: cap,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    callbacks: { onResponse: () => void responses++ },
  });
  const grpcServer = new Server({ "grpc.max_concurrent_streams": 1_000_000 });
  xds.register(grpcServer, { services: ["ads"] });
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const child = fork(fileURLToPath(new URL("./server/clients.js", import.meta.url)), [], {
    env: { ...process.env, BENCH_ADDRESS: `127.0.0.1:${port}`, BENCH_DELTA: "0", BENCH_STREAMS: String(STREAMS) },
  });
  try {
    await waitFor(child, "ready");
    child.send({ kind: "open" });
    const first = await xds.waitForAck({ group: "all", version: "v0", timeoutMs: 60_000 });
    if (first.outcome !== "acked" || first.acked.length < STREAMS)
      throw new Error(`initial sync: ${first.outcome}, ${first.acked.length} nodes`);
    responses = 0;
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const start = performance.now();
    for (let gen = 1; gen <= UPDATES; gen++) {
      cache.updateResources("all", { version: `v${gen}`, upsert: { [CDS]: [cluster(gen % CLUSTERS, gen)] } });
      await new Promise((r) => setTimeout(r, 1));
    }
    const last = await xds.waitForAck({ group: "all", version: `v${UPDATES}`, timeoutMs: 120_000 });
    const ms = performance.now() - start;
    delay.disable();
    if (last.outcome !== "acked") throw new Error(`burst: ${last.outcome}, pending ${last.pending.length}`);
    const label = cap === 0 ? "0 (no cap, default)" : String(cap);
    return `| ${label} | ${responses.toLocaleString("en")} (${(responses / STREAMS).toFixed(1)} per stream) | ${ms.toFixed(0)} ms | ${(delay.percentile(99) / 1e6).toFixed(1)} ms | ${(delay.max / 1e6).toFixed(1)} ms |`;
  } finally {
    child.kill();
    await xds.shutdown({ deadlineMs: 1000 });
    grpcServer.forceShutdown();
    cache.dispose();
  }
}

console.log(
  `push cap: ${STREAMS} SotW ADS streams (another process), ${CLUSTERS} clusters, burst of ${UPDATES} one-cluster updates 1 ms apart`,
);
console.log(
  "\n| `maxPushesPerTurn` | Responses in the burst | Every stream runs the last | Event-loop delay p99 | Worst event-loop delay |",
);
console.log("|---|---|---|---|---|");
for (const cap of CAPS) console.log(await run(cap));
process.exit(0);
