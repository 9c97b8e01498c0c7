// `xdskit serve --workers N` benchmark (issue 13): node packages/benchmarks/dist/serve-workers.js
//   [--streams 10000] [--workers 1,2] [--modes sotw] [--transport grpc[,http2]] [--rounds 3] [--updates 3]
//
// One `xdskit serve --workers N` (a real process tree: the primary and, for
// N > 1, N cluster workers sharing the xDS port) serves the fleet scenario
// (100 EDS clusters × 3 endpoints, a listener, 100 virtual hosts, written
// through the admin API; every node in one group), and the fleet benchmark's
// load generator (fleet/load-process.ts: raw HTTP/2, subscribes like Envoy,
// ACKs everything) opens --streams ADS streams. Where `taskset` exists the
// serve processes may use CPUs 0 and 1 and the load generator is pinned to
// CPU 1 (as fleet.ts --workers). Runs of N = 1 and N = 2 alternate per round.
// --transport runs each serve with `xdskit serve --transport <t>` (grpc-js, the
// default, or node:http2), one set of runs per transport listed.
// Measured per run:
//   initial sync   opening every stream → every stream ACKed CDS, EDS, LDS and RDS
//   update p50     an admin PATCH of one endpoint → every stream ACKed it (median of --updates)
//   CPU            user+system CPU of the primary and of the workers during the initial sync
//                  (from /proc; Linux only), and of the load generator
// The table shows medians of the rounds. --serve-node-args="<flags>" passes Node flags to the
// serve processes (the workers inherit them), e.g. "--cpu-prof --cpu-prof-dir /tmp/prof".
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { TypeUrl } from "@xdskit/envoy-api";
import { endpointUpdate, fleetResources } from "./fleet/admin-documents.js";
import { Child } from "./fleet/child.js";
import type { LoadReport } from "./fleet/load-process.js";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "10000" },
    workers: { type: "string", default: "1,2" },
    modes: { type: "string", default: "sotw" },
    transport: { type: "string", default: "grpc" },
    rounds: { type: "string", default: "3" },
    updates: { type: "string", default: "3" },
    "serve-node-args": { type: "string", default: "" },
  },
});
const STREAMS = Number(values.streams);
const WORKERS = values.workers.split(",").map(Number);
const MODES = values.modes.split(",") as ("delta" | "sotw")[];
const TRANSPORTS = values.transport.split(",");
for (const t of TRANSPORTS) if (t !== "grpc" && t !== "http2") throw new Error(`--transport: grpc or http2 (comma-separated), got ${t}`);
const ROUNDS = Number(values.rounds);
const UPDATES = Number(values.updates);
const BIN = fileURLToPath(new URL("../../cli/dist/bin.js", import.meta.url));
const LOAD = fileURLToPath(new URL("./fleet/load-process.js", import.meta.url));
const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;
const TICKS_PER_MS = 100 / 1000; // USER_HZ is 100 on Linux

const median = (list: number[]) => {
  const s = [...list].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** CPU (user + system, ms) a process has used, from /proc; NaN where there is none. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_MS;
  } catch {
    return Number.NaN;
  }
}

interface Serve {
  readonly pid: number;
  readonly xdsPort: number;
  readonly adminPort: number;
  stop(): Promise<void>;
}

function startServe(workers: number, transport: string): Promise<Serve> {
  const nodeArgs = values["serve-node-args"].split(" ").filter((a) => a !== "");
  const args = [
    ...nodeArgs,
    BIN,
    "serve",
    "--group-by",
    "cluster",
    "--xds",
    "127.0.0.1:0",
    "--admin-port",
    "0",
    "--workers",
    String(workers),
    "--transport",
    transport,
  ];
  const child = hasTaskset
    ? spawn("taskset", ["-c", "0,1", process.execPath, ...args], { stdio: ["ignore", "ignore", "pipe"] })
    : spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let buffer = "";
    child.once("exit", (code) => reject(new Error(`serve exited (${code}): ${buffer.slice(-2000)}`)));
    child.stderr.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split("\n").find((l) => l.includes('"xdskit serve started"'));
      if (line) {
        const { xdsPort, adminPort } = JSON.parse(line) as { xdsPort: number; adminPort: number };
        buffer = "";
        resolve({
          pid: child.pid as number,
          xdsPort,
          adminPort,
          async stop() {
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
            await exited;
            clearTimeout(timer);
          },
        });
      }
    });
  });
}

async function admin(serve: Serve, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`http://127.0.0.1:${serve.adminPort}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

interface Run {
  initialMs: number;
  updateP50Ms: number;
  primaryCpuMs: number;
  workersCpuMs: number;
  loadCpuMs: number;
}

async function once(mode: "sotw" | "delta", workers: number, transport: string): Promise<Run> {
  const serve = await startServe(workers, transport);
  let load: Child<LoadReport> | undefined;
  try {
    const resources = fleetResources();
    await admin(serve, "PUT", "/v1/groups/bench/resources", { resources });
    const status = await admin(serve, "GET", "/v1/status");
    const workerPids = ((status.workers?.workers ?? []) as { pid?: number }[]).map((w) => w.pid as number);
    const env = { ...process.env, BENCH_STREAMS: String(STREAMS), BENCH_MODE: mode, BENCH_ADDRESS: `127.0.0.1:${serve.xdsPort}` };
    load = new Child<LoadReport>("load generator", LOAD, [], env, hasTaskset ? "1" : undefined);
    await load.expect("ready", 30_000);
    const cpu = () => ({ primary: cpuMs(serve.pid), workers: workerPids.reduce((sum, pid) => sum + cpuMs(pid), 0) });
    const before = cpu();
    const start = performance.now();
    load.send({ kind: "open" });
    const synced = await load.expect("synced", 60_000 + STREAMS * 20);
    const initialMs = performance.now() - start;
    const after = cpu();
    const times: number[] = [];
    for (let u = 1; u <= UPDATES; u++) {
      load.send({ kind: "mark", types: [TypeUrl.ClusterLoadAssignment] });
      await load.expect("marked", 10_000);
      const t = performance.now();
      await admin(serve, "PATCH", "/v1/groups/bench/resources", {
        resources: [endpointUpdate(u)],
      });
      await load.expect("updated", 60_000 + STREAMS * 20);
      times.push(performance.now() - t);
    }
    return {
      initialMs,
      updateP50Ms: median(times),
      primaryCpuMs: after.primary - before.primary,
      workersCpuMs: after.workers - before.workers,
      loadCpuMs: synced.cpuMs,
    };
  } finally {
    load?.send({ kind: "close" });
    load?.kill();
    await serve.stop();
  }
}

console.log(
  `serve --workers benchmark: ${MODES.join("+")} × ${STREAMS} streams, workers ${WORKERS.join(" vs ")}, transport ${TRANSPORTS.join(" vs ")}, ${ROUNDS} rounds interleaved; ` +
    (hasTaskset ? "serve on CPUs 0,1, load generator on CPU 1" : "not pinned (no taskset)"),
);
const results = new Map<string, Run[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of MODES) {
    for (const transport of TRANSPORTS) {
      const order = round % 2 === 0 ? WORKERS : [...WORKERS].reverse();
      for (const workers of order) {
        const run = await once(mode, workers, transport);
        const key = `${mode} ${transport} × ${workers}`;
        results.set(key, [...(results.get(key) ?? []), run]);
        console.log(
          `round ${round + 1} ${mode} ${transport} ${STREAMS} streams, ${workers} worker(s): initial ${run.initialMs.toFixed(0)} ms ` +
            `(CPU primary ${run.primaryCpuMs.toFixed(0)}, workers ${run.workersCpuMs.toFixed(0)}, load ${run.loadCpuMs.toFixed(0)} ms), update p50 ${run.updateP50Ms.toFixed(0)} ms`,
        );
      }
    }
  }
}
console.log(
  `\n| ${STREAMS} streams, median of ${ROUNDS} | initial sync (ms) | update p50 (ms) | CPU primary (ms) | CPU workers (ms) | CPU load (ms) |`,
);
console.log("|---|---|---|---|---|---|");
for (const [key, runs] of results) {
  const m = (k: keyof Run) => median(runs.map((r) => r[k])).toFixed(0);
  console.log(
    `| ${key} worker(s) | ${m("initialMs")} | ${m("updateP50Ms")} | ${m("primaryCpuMs")} | ${m("workersCpuMs")} | ${m("loadCpuMs")} |`,
  );
}
