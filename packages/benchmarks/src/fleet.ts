// Fleet benchmark (issue 13): node packages/benchmarks/dist/fleet.js [options]
//
// The scenario of issue 13, per node: 100 EDS clusters × 3 endpoints, one
// listener, one route configuration with 100 virtual hosts, every node in one
// node group. The server runs in a process of its own pinned to CPU 0
// (fleet/server-process.ts), the load generator in another pinned to CPU 1
// (fleet/load-process.ts: HTTP/2 frames over node:net, subscribes like Envoy, ACKs everything),
// when `taskset` exists. With --baseline, every scenario runs against the
// current tree and the baseline tree in the same run, interleaved (the order
// alternates per round), and the table shows medians of the rounds and the
// ratio baseline ÷ current (above 1: the current tree is faster / smaller).
//
// Measured per run:
//   import        `import("@xdskit/server")` in a fresh process (ms)
//   ready RSS     RSS once the snapshot is set and the server listens, before any stream
//   initial sync  from opening every stream to every stream having ACKed CDS, EDS, LDS and RDS
//   update p50    one endpoint changed (updateResources) → every stream has ACKed it; median of --updates
//   all types     a new snapshot changing every resource → every stream has ACKed CDS, EDS, LDS and RDS
//   burst         --burst (100) one-endpoint updates 1 ms apart → the last response, every stream quiet
//   idle/stream   heap (after GC) with every stream synced and idle, minus ready heap, per stream
//   encodes       resource encodes and response-framing encodes per one-endpoint update
//   reconnect all every stream closed with its connection, then all opened again on new connections
//                 against the running server (a load balancer dropping every connection): the
//                 time from reopening to every stream having ACKed all four types, and the
//                 server's CPU in it. Set beside the initial sync, it shows what of that is the
//                 cost of a fresh process (code not yet compiled by the JIT)
//   churn         --churn-seconds (5) seconds of 10 % of the streams reconnecting each second as
//                 restarted proxies while a one-endpoint update flows every 500 ms: the time from a
//                 reconnect to that stream having ACKed all four types (p50, p99)
//
// Options: --help  (prints this)
//          --streams 1000,10000  --modes sotw,delta  --rounds 3  --updates 5  --burst 100
//          --churn-seconds 5 (0: no churn)  --baseline <git ref or built tree directory>  --json <file>
//          --profile-server <dir>  (writes a CPU profile of each server process there)
//          --profile-load <dir>  (the same for each load generator process)
//          --client raw|http2  (the load generator's HTTP/2 client: raw (default), frames written and read
//                    by fleet/h2-raw.ts over node:net; http2, node:http2's client, which costs the
//                    generator about twice the CPU)
//          --workers 1,2  (server processes per run, node:cluster sharing the port; when given, the
//                          server may use both cores and the load generator stays on CPU 1)
//          --floor grpc|http2|h2js  (a column more: the transport floor, grpc-js (or node:http2 with gRPC
//                    framing by hand, or HTTP/2 frames read and written in JS over node:net, fleet/h2-floor.ts)
//                    alone, answering each first request with bytes encoded once, no xdskit server;
//                    initial sync only)
//          --transport grpc,http2  (a column per transport for the current tree: grpc-js (xds.register, the
//                    default) and node:http2 (xds.serveHttp2); a baseline is served on grpc-js unless
//                    --baseline-transport http2, for a baseline that has xds.serveHttp2)
//          --server-node-args="<flags>"  (extra Node flags for the server process, e.g. --max-semi-space-size=32)
//          --published  (load each tree as its packages are published: through the bundles of
//                    scripts/bundle.mjs, with --conditions=xdskit-bundle, where the tree has them;
//                    a tree without them (ecded1f) is loaded as tsc built it, which is what it published.
//                    Import time and RSS when ready are then those of an application installed from npm)
// Environment: BENCH_INITIAL_PROFILE=<file> (CPU profile of the initial sync only),
// BENCH_ALLOC_PROFILE=<file> (sampling allocation profile of the initial sync, collected
// objects included), BENCH_UPDATE_PROFILE=<file> (CPU profile of the updates only).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { TypeUrl } from "@xdskit/envoy-api";
import { Child } from "./fleet/child.js";
import type { LoadReport } from "./fleet/load-process.js";
import { BUNDLE_CONDITION, hasPublishedBundles } from "./fleet/published.js";
import type { ServerReport } from "./fleet/server-process.js";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "1000" },
    modes: { type: "string", default: "sotw,delta" },
    rounds: { type: "string", default: "3" },
    updates: { type: "string", default: "5" },
    burst: { type: "string", default: "100" },
    "churn-seconds": { type: "string", default: "5" },
    baseline: { type: "string" },
    json: { type: "string" },
    "profile-server": { type: "string" },
    "profile-load": { type: "string" },
    "server-node-args": { type: "string", default: "" },
    published: { type: "boolean", default: false },
    workers: { type: "string" },
    floor: { type: "string" },
    client: { type: "string", default: "raw" },
    transport: { type: "string", default: "grpc" },
    "baseline-transport": { type: "string", default: "grpc" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  // The usage is this file's opening comment (tsc keeps it in the built file).
  const source = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n");
  const end = source.findIndex((line) => !line.startsWith("//"));
  console.log(
    source
      .slice(0, end)
      .map((line) => line.replace(/^\/\/ ?/, ""))
      .join("\n"),
  );
  process.exit(0);
}

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const STREAMS = values.streams.split(",").map(Number);
const MODES = values.modes.split(",") as ("sotw" | "delta")[];
const ROUNDS = Number(values.rounds);
const UPDATES = Number(values.updates);
const BURST = Number(values.burst);
const CHURN_SECONDS = Number(values["churn-seconds"]);
const PNPM = ["--yes", "pnpm@10.34.9"];
const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;
const WORKERS = (values.workers ?? "1").split(",").map(Number);
const SERVER_CPUS = values.workers === undefined ? "0" : "0,1";
if (values.client !== "raw" && values.client !== "http2") throw new Error(`--client: expected raw or http2, got "${values.client}"`);
const TRANSPORTS = values.transport.split(",") as ("grpc" | "http2")[];
for (const t of TRANSPORTS) if (t !== "grpc" && t !== "http2") throw new Error(`--transport: expected grpc and/or http2, got ${t}`);
const BASELINE_TRANSPORT = values["baseline-transport"] as "grpc" | "http2";
if (BASELINE_TRANSPORT !== "grpc" && BASELINE_TRANSPORT !== "http2") {
  throw new Error(`--baseline-transport: expected grpc or http2, got ${BASELINE_TRANSPORT}`);
}
/** The transport each column's server uses (BENCH_TRANSPORT), by column name. */
const COLUMN_TRANSPORT = new Map<string, "grpc" | "http2">();

/** A built tree for --baseline: a directory as is, or a git ref checked out and built in a worktree under the temp dir. */
function baselineTree(ref: string): string {
  if (existsSync(join(ref, "packages/server/dist/index.js"))) return ref;
  const dir = join(tmpdir(), `xdskit-baseline-${ref.replace(/[^\w.-]/g, "_")}`);
  const run = (command: string, args: string[], cwd: string): void => {
    const result = spawnSync(command, args, { cwd, stdio: "inherit" });
    if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed in ${cwd}`);
  };
  if (!existsSync(dir)) run("git", ["worktree", "add", "--detach", dir, ref], ROOT);
  if (!existsSync(join(dir, "packages/server/dist/index.js"))) {
    run("npx", [...PNPM, "install", "--frozen-lockfile", "--prefer-offline"], dir);
    run("npx", [...PNPM, "build"], dir);
  }
  return dir;
}

interface Run {
  importMs: number;
  readyRssMiB: number;
  initialMs: number;
  updateP50Ms: number;
  /** Each one-endpoint update's time, in order: the first ones run code the JIT has not compiled yet. */
  updateMs: number[];
  idleHeapKiBPerStream: number;
  idleRssKiBPerStream: number;
  resourceEncodesPerUpdate: number;
  /** Every resource of every type changed → every stream has ACKed all four types. */
  allTypesUpdateMs: number;
  /** --burst one-endpoint updates 1 ms apart → the last response, every stream quiet. */
  burstMs: number;
  /** Responses each stream got during the burst (coalescing shows here). */
  burstResponsesPerStream: number;
  /** Server CPU per one-endpoint update (includes ACK handling). */
  serverCpuMsPerUpdate: number;
  responseEncodesPerUpdate: number;
  /** Every stream reconnected to the running server → every stream has ACKed all four types again. */
  reconnectAllMs: number;
  /** Server CPU in that resync. */
  reconnectAllServerCpuMs: number;
  /** CPU time of the load generator and of the server during the initial sync: the server's should dominate. */
  initialLoadCpuMs: number;
  initialServerCpuMs: number;
  /**
   * Churn: streams reconnected, the time from each reconnect to its resync (p50, p99, of those
   * that resynced), and how many had not resynced 30 s after the churn ended (a server that
   * cannot keep up: the figures of the others are reported all the same).
   */
  churnReconnects: number;
  churnUnsynced: number;
  churnResyncP50Ms: number;
  churnResyncP99Ms: number;
}

const FLOOR_NAMES: Record<string, string> = { grpc: "grpc-js", http2: "node:http2", h2js: "JS HTTP/2 frames" };
const FLOOR = `floor: ${FLOOR_NAMES[values.floor ?? "grpc"] ?? values.floor} alone`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function once(
  tree: string,
  mode: "sotw" | "delta",
  streams: number,
  workers: number,
  floor = false,
  transport: "grpc" | "http2" = "grpc",
): Promise<Run> {
  const here = fileURLToPath(new URL("./fleet/", import.meta.url));
  const server = new Child<ServerReport>(
    "server",
    join(here, "server-process.js"),
    [tree, String(streams), String(workers)],
    { ...process.env, BENCH_FLOOR: floor ? values.floor! : "", BENCH_TRANSPORT: transport, BENCH_PUBLISHED: values.published ? "1" : "" },
    hasTaskset ? SERVER_CPUS : undefined,
    [
      ...values["server-node-args"].split(" ").filter((a) => a !== ""),
      ...(values.published ? [BUNDLE_CONDITION] : []),
      ...(values["profile-server"] === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", values["profile-server"]]),
    ],
  );
  let load: Child<LoadReport> | undefined;
  const timeout = 30_000 + streams * 20;
  try {
    const ready = await server.expect("ready", 60_000);
    load = new Child<LoadReport>(
      "load generator",
      join(here, "load-process.js"),
      [],
      {
        ...process.env,
        BENCH_STREAMS: String(streams),
        BENCH_MODE: mode,
        BENCH_ADDRESS: `127.0.0.1:${ready.port}`,
        BENCH_CLIENT: values.client,
      },
      hasTaskset ? "1" : undefined,
      values["profile-load"] === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", values["profile-load"]],
    );
    await load.expect("ready", 30_000);
    const start = performance.now();
    load.send({ kind: "open" });
    const synced = await load.expect("synced", timeout);
    const initialMs = performance.now() - start;
    await new Promise((r) => setTimeout(r, 300));
    server.send({ kind: "stats" });
    const idle = await server.expect("stats", 30_000);
    if (floor) {
      // The transport floor serves the initial sync only.
      const none = Number.NaN;
      return {
        importMs: ready.importMs,
        readyRssMiB: ready.rss / 1024 / 1024,
        initialMs,
        initialLoadCpuMs: synced.cpuMs,
        initialServerCpuMs: idle.cpuMs - ready.cpuMs,
        idleHeapKiBPerStream: (idle.heap - ready.heap) / streams / 1024,
        idleRssKiBPerStream: (idle.rss - ready.rss) / streams / 1024,
        updateMs: [] as number[],
        ...Object.fromEntries(
          (
            [
              "updateP50Ms",
              "resourceEncodesPerUpdate",
              "responseEncodesPerUpdate",
              "serverCpuMsPerUpdate",
              "allTypesUpdateMs",
              "burstMs",
              "burstResponsesPerStream",
              "churnReconnects",
              "churnUnsynced",
              "churnResyncP50Ms",
              "churnResyncP99Ms",
              "reconnectAllMs",
              "reconnectAllServerCpuMs",
            ] as const
          ).map((k) => [k, none]),
        ),
      } as Run;
    }
    const times: number[] = [];
    for (let u = 1; u <= UPDATES; u++) {
      load.send({ kind: "mark" });
      await load.expect("marked", 10_000);
      const t = performance.now();
      server.send({ kind: "update", generation: u });
      await load.expect("updated", timeout);
      times.push(performance.now() - t);
      await server.expect("updated", 10_000);
    }
    server.send({ kind: "stats" });
    const after = await server.expect("stats", 30_000);

    // Every resource of every type changed (a new snapshot): every stream has ACKed all four types.
    load.send({ kind: "mark", types: [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration] });
    await load.expect("marked", 10_000);
    const allStart = performance.now();
    server.send({ kind: "updateAll", generation: UPDATES + 1 });
    await load.expect("updated", timeout);
    const allTypesUpdateMs = performance.now() - allStart;
    await server.expect("updated", 10_000);

    // A burst of one-endpoint updates 1 ms apart: until the last response, once every stream is quiet.
    load.send({ kind: "mark", quiet: true });
    await load.expect("marked", 10_000);
    const burstStart = Date.now();
    server.send({ kind: "burst", from: UPDATES + 2, count: BURST });
    await server.expect("updated", timeout);
    const burst = await load.expect("updated", timeout);

    // Churn: 10 % of the streams reconnect each second (restarted proxies) while updates flow.
    // --churn-seconds 0: no churn (and no updates for it), its figures "—".
    let churning = CHURN_SECONDS > 0;
    let generation = UPDATES + 2 + BURST;
    const updating = (async () => {
      while (churning) {
        server.send({ kind: "update", generation: generation++ });
        await server.expect("updated", timeout);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    if (CHURN_SECONDS > 0) load.send({ kind: "churn", fraction: 0.1, seconds: CHURN_SECONDS });
    const churn =
      CHURN_SECONDS === 0
        ? { reconnects: Number.NaN, resyncMs: [Number.NaN], unsynced: 0 }
        : await load.expect("churned", timeout + CHURN_SECONDS * 1000 + 30_000);
    churning = false;
    await updating;
    if (churn.unsynced > 0)
      console.log(`churn: ${churn.unsynced} of ${churn.reconnects} reconnected streams had not resynced 30 s after the churn`);
    const resync = [...churn.resyncMs].sort((a, b) => a - b);

    // Every stream reconnects to the running server (its code compiled by now): the initial sync again.
    load.send({ kind: "disconnectAll" });
    await load.expect("disconnected", 10_000);
    server.send({ kind: "stats" });
    const beforeReconnect = await server.expect("stats", 30_000);
    load.send({ kind: "reopenAll" });
    const reconnected = await load.expect("resynced", timeout);
    await new Promise((r) => setTimeout(r, 300));
    server.send({ kind: "stats" });
    const afterReconnect = await server.expect("stats", 30_000);
    return {
      importMs: ready.importMs,
      readyRssMiB: ready.rss / 1024 / 1024,
      initialMs,
      updateP50Ms: median(times),
      updateMs: times,
      idleHeapKiBPerStream: (idle.heap - ready.heap) / streams / 1024,
      idleRssKiBPerStream: (idle.rss - ready.rss) / streams / 1024,
      resourceEncodesPerUpdate: (after.encodes.resources - idle.encodes.resources) / UPDATES,
      responseEncodesPerUpdate: (after.encodes.responses - idle.encodes.responses) / UPDATES,
      serverCpuMsPerUpdate: (after.cpuMs - idle.cpuMs) / UPDATES,
      allTypesUpdateMs,
      burstMs: burst.lastResponseAt - burstStart,
      burstResponsesPerStream: burst.responses / streams,
      initialLoadCpuMs: synced.cpuMs,
      initialServerCpuMs: idle.cpuMs - ready.cpuMs,
      churnReconnects: churn.reconnects,
      churnUnsynced: CHURN_SECONDS === 0 ? Number.NaN : churn.unsynced,
      churnResyncP50Ms: median(resync),
      churnResyncP99Ms: resync[Math.min(resync.length - 1, Math.floor(resync.length * 0.99))] ?? 0,
      reconnectAllMs: reconnected.ms,
      reconnectAllServerCpuMs: afterReconnect.cpuMs - beforeReconnect.cpuMs,
    };
  } finally {
    // Let the generator exit by itself (--profile-load writes its profile on exit), then make sure.
    await load?.stop({ kind: "close" }, 5_000);
    load?.kill();
    await server.stop({ kind: "stop" }, 5_000);
    server.kill();
  }
}

const METRICS: [keyof Run, string, number][] = [
  ["initialMs", "initial sync, all ACKed (ms)", 0],
  ["updateP50Ms", "one-endpoint update p50 (ms)", 0],
  ["allTypesUpdateMs", "all-types update, all ACKed (ms)", 0],
  ["burstMs", "update burst, to the last response (ms)", 0],
  ["burstResponsesPerStream", "responses per stream in the burst", 1],
  ["importMs", 'import "@xdskit/server" (ms)', 0],
  ["readyRssMiB", "RSS when ready (MiB)", 1],
  ["initialServerCpuMs", "server CPU in initial sync (ms)", 0],
  ["initialLoadCpuMs", "load generator CPU in initial sync (ms)", 0],
  ["idleHeapKiBPerStream", "idle heap per stream (KiB)", 1],
  ["idleRssKiBPerStream", "idle RSS per stream (KiB)", 1],
  ["serverCpuMsPerUpdate", "server CPU per update (ms)", 0],
  ["resourceEncodesPerUpdate", "resource encodes per update", 1],
  ["responseEncodesPerUpdate", "response codec calls per update", 1],
  ["churnReconnects", "churn: streams reconnected", 0],
  ["churnUnsynced", "churn: not resynced 30 s after", 0],
  ["churnResyncP50Ms", "churn: reconnect to resynced, p50 (ms)", 0],
  ["churnResyncP99Ms", "churn: reconnect to resynced, p99 (ms)", 0],
  ["reconnectAllMs", "every stream reconnected, all ACKed again (ms)", 0],
  ["reconnectAllServerCpuMs", "server CPU in that resync (ms)", 0],
];

async function main(): Promise<void> {
  const trees: [string, string][] = [];
  for (const transport of TRANSPORTS) {
    const name = TRANSPORTS.length > 1 || transport !== "grpc" ? `current (${transport === "grpc" ? "grpc-js" : "node:http2"})` : "current";
    COLUMN_TRANSPORT.set(name, transport);
    trees.push([name, ROOT]);
  }
  const currents = trees.length;
  if (values.baseline !== undefined) {
    const name = `baseline ${values.baseline}${BASELINE_TRANSPORT === "http2" ? " (node:http2)" : ""}`;
    COLUMN_TRANSPORT.set(name, BASELINE_TRANSPORT);
    trees.push([name, baselineTree(values.baseline)]);
  }
  const baseline = values.baseline === undefined ? undefined : currents;
  // --floor: a third column, grpc-js alone answering with bytes encoded once (the transport floor).
  if (values.floor !== undefined) trees.push([FLOOR, ROOT]);
  console.log(
    `fleet benchmark: ${MODES.join("+")} × ${STREAMS.join(",")} streams, ${ROUNDS} rounds interleaved, ${UPDATES} updates per run; ` +
      `server ${hasTaskset ? `on CPU ${SERVER_CPUS}, load generator on CPU 1` : "not pinned (no taskset)"}; load generator client ${values.client}; trees: ${trees.map(([n, d]) => `${n} (${d}${values.published ? (hasPublishedBundles(d) ? ", as published: bundles" : ", tsc output") : ""})`).join(", ")}`,
  );
  const results: Record<string, Record<string, Run[]>> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? trees : [...trees].reverse();
    for (const streams of STREAMS) {
      for (const mode of MODES) {
        for (const workers of WORKERS) {
          const scenario = `${mode} ${streams}${values.workers === undefined ? "" : ` × ${workers} worker${workers > 1 ? "s" : ""}`}`;
          for (const [name, dir] of order) {
            const run = await once(dir, mode, streams, workers, name === FLOOR, COLUMN_TRANSPORT.get(name));
            const byTree = results[scenario] ?? {};
            results[scenario] = byTree;
            byTree[name] = [...(byTree[name] ?? []), run];
            console.log(
              `round ${round + 1} ${scenario} ${name}: initial ${run.initialMs.toFixed(0)} ms (CPU server ${run.initialServerCpuMs.toFixed(0)}, load ${run.initialLoadCpuMs.toFixed(0)} ms), update p50 ${run.updateP50Ms.toFixed(0)} ms (${run.updateMs.map((ms) => ms.toFixed(0)).join("/")}), ` +
                `import ${run.importMs.toFixed(0)} ms, ready RSS ${run.readyRssMiB.toFixed(0)} MiB, idle ${run.idleHeapKiBPerStream.toFixed(1)} KiB heap/stream, ` +
                `update CPU ${run.serverCpuMsPerUpdate.toFixed(0)} ms, encodes/update ${run.resourceEncodesPerUpdate} resource + ${run.responseEncodesPerUpdate} response codec calls`,
            );
          }
        }
      }
    }
  }
  const summary: Record<string, Record<string, Record<string, number>>> = {};
  for (const [scenario, byTree] of Object.entries(results)) {
    // A ratio column per current column when there is a baseline: baseline ÷ that column.
    const ratioColumns = baseline === undefined ? [] : trees.slice(0, currents).map(([n]) => n);
    console.log(
      `\n| ${scenario}: median of ${ROUNDS} | ${trees.map(([n]) => n).join(" | ")} |${ratioColumns.map((n) => ` baseline ÷ ${n} |`).join("")}`,
    );
    console.log(`|---|${trees.map(() => "---|").join("")}${ratioColumns.map(() => "---|").join("")}`);
    for (const [key, label, digits] of METRICS) {
      const medians = trees.map(([name]) => median(byTree[name]!.map((r) => r[key] as number)));
      const bySummary = summary[scenario] ?? {};
      summary[scenario] = bySummary;
      for (const [i, [name]] of trees.entries()) bySummary[name] = { ...bySummary[name], [key]: medians[i]! };
      const ratio = ratioColumns
        .map((_, i) => (medians[i]! > 0 && baseline !== undefined ? ` ${(medians[baseline]! / medians[i]!).toFixed(2)}× |` : " — |"))
        .join("");
      console.log(`| ${label} | ${medians.map((m) => (Number.isNaN(m) ? "—" : m.toFixed(digits))).join(" | ")} |${ratio}`);
    }
  }
  if (values.json !== undefined) {
    writeFileSync(
      values.json,
      `${JSON.stringify({ date: new Date().toISOString(), node: process.version, trees, rounds: ROUNDS, updates: UPDATES, summary, results }, null, 2)}\n`,
    );
    console.log(`\nwrote ${values.json}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
