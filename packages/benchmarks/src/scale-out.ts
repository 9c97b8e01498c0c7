// Scale-out benchmark (issue 12): node packages/benchmarks/dist/scale-out.js [--streams 2000] [--modes delta,sotw]
//
// Three `xdskit serve --store etcd://…` replicas (processes) share one real
// etcd; --streams ADS streams on each replica, opened by the fleet
// benchmark's load generator (fleet/load-process.ts: raw HTTP/2, subscribes
// like Envoy, ACKs everything), one load process per replica. The config is
// the fleet scenario (100 EDS clusters × 3 endpoints, a listener, 100 virtual
// hosts) written through replica 1's admin API. Then one endpoint is changed
// through replica 1's admin API, and we time:
//   write       the admin PATCH until its 200 (validated, committed by etcd)
//   last ACK    the PATCH's start until every stream on every replica ACKed the new endpoints
// --updates (5) writes per mode; the table shows each one and the median.
// Needs etcd (Debian etcd-server, or XDSKIT_ETCD_BIN) and a build (pnpm build).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { TypeUrl } from "@xdskit/envoy-api";
import { EtcdTestServer } from "@xdskit/store-etcd/testing";
import { endpointUpdate, fleetResources } from "./fleet/admin-documents.js";
import { Child } from "./fleet/child.js";
import type { LoadReport } from "./fleet/load-process.js";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "2000" },
    modes: { type: "string", default: "delta,sotw" },
    updates: { type: "string", default: "5" },
  },
});
const STREAMS = Number(values.streams);
const MODES = values.modes.split(",") as ("delta" | "sotw")[];
const UPDATES = Number(values.updates);
const BIN = fileURLToPath(new URL("../../cli/dist/bin.js", import.meta.url));
const LOAD = fileURLToPath(new URL("./fleet/load-process.js", import.meta.url));

interface Replica {
  readonly kill: () => void;
  readonly xdsPort: number;
  readonly adminPort: number;
}

function startReplica(store: string, id: string): Promise<Replica> {
  const args = [BIN, "serve", "--store", store, "--replica-id", id, "--group-by", "cluster", "--xds", "127.0.0.1:0", "--admin-port", "0"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let buffer = "";
    child.once("exit", (code) => reject(new Error(`replica ${id} exited (${code}): ${buffer.slice(-2000)}`)));
    child.stderr.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split("\n").find((l) => l.includes('"xdskit serve started"'));
      if (line) {
        const { xdsPort, adminPort } = JSON.parse(line) as { xdsPort: number; adminPort: number };
        buffer = "";
        resolve({ kill: () => child.kill("SIGKILL"), xdsPort, adminPort });
      }
    });
  });
}

async function admin(replica: Replica, method: string, path: string, body: unknown): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${replica.adminPort}${path}`, { method, body: JSON.stringify(body) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return response.status;
}

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0;

const etcd = await EtcdTestServer.start();
const rows: string[] = [];
try {
  for (const mode of MODES) {
    const store = `etcd://${etcd.endpoint.replace("http://", "")}/bench-${mode}/`;
    const replicas = await Promise.all(["r1", "r2", "r3"].map((id) => startReplica(store, id)));
    const loads: Child<LoadReport>[] = [];
    try {
      const resources = fleetResources();
      const first = replicas[0] as Replica;
      await admin(first, "PUT", "/v1/groups/bench/resources", { resources });
      for (const replica of replicas) {
        const env = { ...process.env, BENCH_STREAMS: String(STREAMS), BENCH_MODE: mode, BENCH_ADDRESS: `127.0.0.1:${replica.xdsPort}` };
        loads.push(new Child<LoadReport>(`load ${replica.xdsPort}`, LOAD, [], env, undefined));
      }
      for (const load of loads) await load.expect("ready", 30_000);
      const syncStart = performance.now();
      for (const load of loads) load.send({ kind: "open" });
      for (const load of loads) await load.expect("synced", 300_000);
      const syncMs = performance.now() - syncStart;
      const writes: number[] = [];
      const acks: number[] = [];
      for (let u = 1; u <= UPDATES; u++) {
        for (const load of loads) load.send({ kind: "mark", types: [TypeUrl.ClusterLoadAssignment] });
        for (const load of loads) await load.expect("marked", 10_000);
        const start = performance.now();
        await admin(first, "PATCH", "/v1/groups/bench/resources", {
          resources: [endpointUpdate(u)],
        });
        writes.push(performance.now() - start);
        for (const load of loads) await load.expect("updated", 120_000);
        acks.push(performance.now() - start);
      }
      const line = `| ${mode} | 3 × ${STREAMS.toLocaleString("en")} | ${Math.round(syncMs).toLocaleString("en")} | ${Math.round(median(writes))} | ${Math.round(median(acks)).toLocaleString("en")} | ${acks.map((a) => Math.round(a)).join(", ")} |`;
      console.log(line);
      rows.push(line);
    } finally {
      for (const load of loads) await load.stop({ kind: "close" }, 5000).catch(() => undefined);
      for (const load of loads) load.kill();
      for (const replica of replicas) replica.kill();
    }
  }
} finally {
  await etcd.destroy();
}
console.log(
  "\n| Mode | Streams | Initial sync, all ACKed (ms) | Write → 200 (ms, median) | Write → last ACK on every stream (ms, median) | Each write → last ACK (ms) |",
);
console.log("|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
