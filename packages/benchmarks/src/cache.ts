// Cache benchmark: node packages/benchmarks/dist/cache.js
//
// Scenario 1 (SnapshotCache): 1,000 node groups share a snapshot of 1,000
// clusters and 1,000 endpoint assignments; 10,000 open watches (10 per group:
// 4 SotW CDS wildcard, 4 SotW EDS naming every assignment, 1 delta CDS
// wildcard, 1 delta EDS naming every assignment). For a one-resource change
// (a cluster; an endpoint assignment) and a full change (every resource), it
// measures applying the change to every group and handing each woken watch
// its response: time, heap delta, encode count.
//
// Scenario 2 (LinearCache): one endpoint assignment changes among 100,000,
// with 1,000 named SotW watches, 1,000 named delta watches and 10 wildcard
// SotW watches open.
//
// Knobs (environment): BENCH_GROUPS (1000), BENCH_CLUSTERS (1000), BENCH_LINEAR (100000).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type DeltaResponse, EntryStore, LinearCache, type ResourceEntry, SnapshotCache, type SotwResponse } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { Cluster, Cluster_DiscoveryType } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";

type Subscription = { unsubscribe(): void };

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const GROUPS = Number(process.env.BENCH_GROUPS ?? 1000);
const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 1000);
const LINEAR = Number(process.env.BENCH_LINEAR ?? 100_000);
const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;

function cluster(i: number, gen: number): Cluster {
  return Cluster.fromPartial({
    name: `cluster-${i}`,
    type: Cluster_DiscoveryType.EDS,
    connectTimeout: { seconds: 1 + gen, nanos: 0 },
    edsClusterConfig: { serviceName: `cluster-${i}`, edsConfig: { ads: {} } },
    lbPolicy: 0,
  });
}

function cla(i: number, gen: number): ClusterLoadAssignment {
  return ClusterLoadAssignment.fromPartial({
    clusterName: `cluster-${i}`,
    endpoints: [
      {
        lbEndpoints: [0, 1, 2].map((k) => ({
          endpoint: { address: { socketAddress: { address: `10.${(i >> 8) & 255}.${i & 255}.${k + 1}`, portValue: 8000 + gen } } },
        })),
      },
    ],
  });
}

function node(id: string): Node {
  return { id, cluster: "bench", dynamicParameters: {}, extensions: [], clientFeatures: [], listeningAddresses: [] } as unknown as Node;
}

function mb(bytes: number): string {
  return `${bytes >= 0 ? "+" : ""}${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function heap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

interface OpenWatch {
  readonly kind: "sotw" | "delta";
  readonly typeUrl: string;
  readonly node: Node;
  readonly wildcard: boolean;
  version: string;
  held: Map<string, string>;
}

function snapshotScenario(): void {
  let encodes = 0;
  const entries = new EntryStore({ onEncode: () => encodes++ });
  const cache = new SnapshotCache({ entries, nodeGroup: (n) => n.id.slice(0, n.id.lastIndexOf("/")) });
  const clusters = Array.from({ length: CLUSTERS }, (_, i) => cluster(i, 0));
  const endpoints = Array.from({ length: CLUSTERS }, (_, i) => cla(i, 0));
  const allNames = new Set(endpoints.map((e) => e.clusterName));
  const groups = Array.from({ length: GROUPS }, (_, g) => `group-${g}`);

  let t = performance.now();
  const base = cache.createSnapshot({ version: "v0", resources: { [CDS]: clusters, [EDS]: endpoints } });
  for (const g of groups) cache.setSnapshot(g, base);
  console.log(
    `snapshot: ${GROUPS} groups x (${CLUSTERS} clusters + ${CLUSTERS} endpoints) set in ${(performance.now() - t).toFixed(0)} ms, encodes ${encodes}`,
  );

  const watches: OpenWatch[] = [];
  for (const g of groups) {
    for (let k = 0; k < 4; k++) {
      watches.push({ kind: "sotw", typeUrl: CDS, node: node(`${g}/n${k}`), wildcard: true, version: "", held: new Map() });
      watches.push({ kind: "sotw", typeUrl: EDS, node: node(`${g}/n${k}`), wildcard: false, version: "", held: new Map() });
    }
    watches.push({ kind: "delta", typeUrl: CDS, node: node(`${g}/d`), wildcard: true, version: "", held: new Map() });
    watches.push({ kind: "delta", typeUrl: EDS, node: node(`${g}/d`), wildcard: false, version: "", held: new Map() });
  }

  let responses: (SotwResponse | DeltaResponse)[] = [];
  let subscriptions: Subscription[] = [];
  let stream = 1;
  const noNames = new Set<string>();
  // Opens every watch as a server would after the client ACKed what it holds.
  const openAll = (): void => {
    for (const s of subscriptions) s.unsubscribe();
    subscriptions = [];
    for (const w of watches) {
      const common = {
        streamId: stream++,
        node: w.node,
        typeUrl: w.typeUrl,
        ads: true,
        wildcard: w.wildcard,
        names: w.wildcard ? noNames : allNames,
      };
      const sub =
        w.kind === "sotw"
          ? cache.watchSotw({ ...common, versionInfo: w.version, forceResponse: false }).subscribe((r) => {
              w.version = r.version;
              responses.push(r);
            })
          : cache
              .watchDelta({ ...common, clientVersions: w.held, forceNames: noNames, forceResponse: w.held.size === 0 && w.wildcard })
              .subscribe((r) => {
                // The watch is over once it emitted, so the server may update its map in place.
                for (const e of r.resources) w.held.set(e.name, e.version);
                for (const n of r.removed) w.held.delete(n);
                responses.push(r);
              });
      subscriptions.push(sub);
    }
  };

  t = performance.now();
  openAll();
  console.log(
    `watches: ${watches.length} opened and answered initially in ${(performance.now() - t).toFixed(0)} ms (${responses.length} responses)`,
  );
  responses = [];
  openAll();
  if (responses.length !== 0) throw new Error(`expected every watch to be held, got ${responses.length} responses`);

  const measure = (label: string, change: () => void): void => {
    responses = [];
    const heapBefore = heap();
    const encodesBefore = encodes;
    const start = performance.now();
    change();
    const ms = performance.now() - start;
    const allocated = process.memoryUsage().heapUsed - heapBefore;
    const retained = heap() - heapBefore; // responses are still referenced: what handing them over keeps alive
    const carried = responses.reduce((n, r) => n + r.resources.length, 0);
    console.log(
      `${label}: ${ms.toFixed(1)} ms, heap delta ${mb(allocated)} (net after GC ${mb(retained)}: the woken watches are freed), encodes ${encodes - encodesBefore}, ` +
        `${responses.length} responses handed over (${carried} resource references)`,
    );
    openAll();
  };

  let gen = 1;
  measure(`one cluster changed (updateResources x ${GROUPS} groups)`, () => {
    const changed = cluster(7, gen++);
    clusters[7] = changed;
    for (const g of groups) cache.updateResources(g, { version: `c${gen}`, upsert: { [CDS]: [changed] } });
  });
  measure(`one endpoint assignment changed (updateResources x ${GROUPS} groups)`, () => {
    const changed = cla(7, gen++);
    endpoints[7] = changed;
    for (const g of groups) cache.updateResources(g, { version: `e${gen}`, upsert: { [EDS]: [changed] } });
  });
  measure(`one cluster changed (one shared snapshot, setSnapshot x ${GROUPS} groups)`, () => {
    clusters[11] = cluster(11, gen++);
    const next = cache.createSnapshot({ version: `s${gen}`, resources: { [CDS]: clusters, [EDS]: endpoints } });
    for (const g of groups) cache.setSnapshot(g, next);
  });
  measure(`one endpoint assignment changed (one shared snapshot, setSnapshot x ${GROUPS} groups)`, () => {
    endpoints[11] = cla(11, gen++);
    const next = cache.createSnapshot({ version: `s${gen}`, resources: { [CDS]: clusters, [EDS]: endpoints } });
    for (const g of groups) cache.setSnapshot(g, next);
  });
  measure(`full change: all ${2 * CLUSTERS} resources (shared snapshot, setSnapshot x ${GROUPS} groups)`, () => {
    const g2 = gen++;
    const t0 = performance.now();
    const next = cache.createSnapshot({
      version: `f${g2}`,
      resources: {
        [CDS]: Array.from({ length: CLUSTERS }, (_, i) => cluster(i, g2)),
        [EDS]: Array.from({ length: CLUSTERS }, (_, i) => cla(i, g2)),
      },
    });
    const t1 = performance.now();
    for (const g of groups) cache.setSnapshot(g, next);
    console.log(
      `  (building the snapshot: ${(t1 - t0).toFixed(0)} ms; setting it on every group and answering: ${(performance.now() - t1).toFixed(0)} ms)`,
    );
  });
  for (const s of subscriptions) s.unsubscribe();
  cache.dispose();
}

function linearScenario(): void {
  let encodes = 0;
  const entries = new EntryStore({ onEncode: () => encodes++ });
  const cache = new LinearCache({ typeUrl: EDS, entries });
  let t = performance.now();
  cache.upsertMany(Array.from({ length: LINEAR }, (_, i) => cla(i, 0)));
  console.log(`linear: ${LINEAR} endpoint assignments loaded in ${(performance.now() - t).toFixed(0)} ms, encodes ${encodes}`);
  let answered = 0;
  const subs: Subscription[] = [];
  let stream = 1;
  for (let i = 0; i < 1000; i++) {
    const name = `cluster-${(i * 97) % LINEAR}`;
    const entry = cache.get(name) as ResourceEntry;
    const names = new Set([name]);
    const base = { node: node(`n${i}`), typeUrl: EDS, ads: false, wildcard: false, names };
    const current = cache.version; // not the named version; ask once to learn it
    let version = "";
    cache.watchSotw({ ...base, streamId: stream++, versionInfo: current, forceResponse: false }).subscribe((r) => {
      version = r.version;
    });
    subs.push(cache.watchSotw({ ...base, streamId: stream++, versionInfo: version, forceResponse: false }).subscribe(() => answered++));
    subs.push(
      cache
        .watchDelta({
          ...base,
          streamId: stream++,
          clientVersions: new Map([[name, entry.version]]),
          forceNames: new Set(),
          forceResponse: false,
        })
        .subscribe(() => answered++),
    );
  }
  // First with named watches only, then with 10 wildcard SotW watches too.
  const t0 = performance.now();
  cache.upsert(cla((97 * 7) % LINEAR, 1));
  const namedOnly = performance.now() - t0;
  console.log(
    `linear: one change among ${LINEAR} with 2,000 named watches open: ${namedOnly.toFixed(2)} ms, ${answered} answered (2 expected)`,
  );
  answered = 0;
  for (let i = 0; i < 10; i++) {
    const base = { node: node(`w${i}`), typeUrl: EDS, ads: false, wildcard: true, names: new Set<string>() };
    subs.push(
      cache.watchSotw({ ...base, streamId: stream++, versionInfo: cache.version, forceResponse: false }).subscribe(() => answered++),
    );
  }
  const before = encodes;
  const heapBefore = heap();
  t = performance.now();
  cache.upsert(cla((97 * 5) % LINEAR, 1));
  const ms = performance.now() - t;
  console.log(
    `linear: one change among ${LINEAR} with 10 wildcard SotW watches too: ${ms.toFixed(2)} ms, heap delta ${mb(process.memoryUsage().heapUsed - heapBefore)}, encodes ${encodes - before}, ` +
      `${answered} answered (2 named + 10 wildcard expected)`,
  );
  for (const s of subs) s.unsubscribe();
  cache.dispose();
}

snapshotScenario();
linearScenario();
