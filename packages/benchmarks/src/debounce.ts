// Debounce benchmark: node packages/benchmarks/dist/debounce.js
//
// One node group, BENCH_CLIENTS (2,000) simulated SotW clients watching every
// cluster (each re-watches on the next turn of the event loop after a
// response, as a client ACKs after a round trip), then a burst of
// BENCH_UPDATES (100) snapshot changes, one per millisecond. Measured with
// the SnapshotCache `debounce` option off and on: responses pushed, time from
// the first change until every client holds the last version (convergence),
// and the worst event-loop delay during the burst.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { digestOf, SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 2000);
const UPDATES = Number(process.env.BENCH_UPDATES ?? 100);
const CLUSTERS = 50;
const CDS = TypeUrl.Cluster;
const node = { id: "edge" } as Node;

function snapshot(gen: number) {
  return {
    version: `release-${gen}`,
    resources: {
      [CDS]: Array.from({ length: CLUSTERS }, (_, i) =>
        Cluster.fromPartial({ name: `c${i}`, connectTimeout: { seconds: 1 + gen, nanos: 0 } }),
      ),
    },
  };
}

async function run(label: string, debounce: { windowMs: number; maxDelayMs?: number } | undefined): Promise<void> {
  const cache = new SnapshotCache({ ...(debounce ? { debounce } : {}) });
  cache.setSnapshot("edge", snapshot(0));
  let pushes = 0;
  const held = new Array<string>(CLIENTS).fill("");
  let finalVersion = "";
  let converged: (() => void) | undefined;
  let done = 0;
  const watch = (i: number): void => {
    const sub = cache
      .watchSotw({
        streamId: i + 1,
        node,
        typeUrl: CDS,
        ads: true,
        wildcard: true,
        names: new Set(),
        versionInfo: held[i]!,
        forceResponse: false,
      })
      .subscribe((r) => {
        pushes++;
        const was = digestOf(held[i]!) === finalVersion && finalVersion !== "";
        held[i] = r.version;
        if (!was && digestOf(r.version) === finalVersion && ++done === CLIENTS) converged?.();
        setImmediate(() => {
          sub?.unsubscribe();
          watch(i);
        });
      });
  };
  for (let i = 0; i < CLIENTS; i++) watch(i);
  await new Promise((r) => setTimeout(r, 20));
  pushes = 0;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  const all = new Promise<void>((resolve) => {
    converged = resolve;
  });
  for (let gen = 1; gen <= UPDATES; gen++) {
    cache.setSnapshot("edge", snapshot(gen));
    if (gen === UPDATES) {
      finalVersion = cache.getSnapshot("edge")!.resources[CDS]!.version;
      done = held.filter((v) => digestOf(v) === finalVersion).length;
      if (done === CLIENTS) converged?.();
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const keepAlive = setInterval(() => {}, 1000); // the cache's timers do not hold the process open
  await all;
  clearInterval(keepAlive);
  const ms = performance.now() - start;
  delay.disable();
  console.log(
    `${label.padEnd(34)} pushes ${String(pushes).padStart(7)}  (${(pushes / CLIENTS).toFixed(1)} per client)  converged in ${ms.toFixed(0).padStart(5)} ms  worst loop delay ${(delay.max / 1e6).toFixed(1)} ms`,
  );
  cache.dispose();
}

console.log(`debounce: ${CLIENTS} SotW clients, burst of ${UPDATES} snapshot changes 1 ms apart`);
await run("off (default)", undefined);
await run("windowMs 10, maxDelayMs 100", { windowMs: 10, maxDelayMs: 100 });
await run("windowMs 50, maxDelayMs 500", { windowMs: 50, maxDelayMs: 500 });
process.exit(0);
