// Validation benchmark: how fast @xdskit/resources checks a snapshot of
// 1,000 EDS clusters, their 1,000 ClusterLoadAssignments, one HTTP listener
// and one route configuration with 1,000 virtual hosts — per resource
// (protoc-gen-validate rules, envoy and grpc profiles) and as a whole
// (snapshot validator with cross-references).
//
//   npx tsc -b packages/benchmarks && node packages/benchmarks/dist/validation.js
//
// Knobs (environment): BENCH_MS (time per measurement, default 3000),
// CLUSTERS (1000), ENDPOINTS (endpoints per cluster, default 10, in 2 localities).

import { TypeUrl } from "@xdskit/envoy-api";
import {
  cluster,
  createSnapshotValidator,
  httpListener,
  loadAssignment,
  ResourceTypes,
  route,
  routeConfiguration,
  validate,
  virtualHost,
} from "@xdskit/resources";

const env = (name: string, fallback: number) => {
  const raw = process.env[name];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
};
const MS = env("BENCH_MS", 3000);
const CLUSTERS = env("CLUSTERS", 1000);
const ENDPOINTS = env("ENDPOINTS", 10);

// ---- the snapshot ----
const names = Array.from({ length: CLUSTERS }, (_, i) => `svc-${i}`);
const clusters = names.map((name) =>
  cluster({
    name,
    http2: true,
    circuitBreakers: { maxConnections: 1000, maxPendingRequests: 100 },
    outlierDetection: { consecutive5xx: 5, baseEjectionTime: "30s" },
  }),
);
const endpoints = names.map((name, i) =>
  loadAssignment({
    clusterName: name,
    localities: [0, 1].map((l) => ({
      region: "eu",
      zone: `eu-1${"ab"[l]}`,
      endpoints: Array.from({ length: Math.ceil(ENDPOINTS / 2) }, (_, e) => ({
        address: `10.${(i >> 8) & 255}.${i & 255}.${l * 100 + e + 1}`,
        port: 8080,
        health: "healthy" as const,
      })),
    })),
  }),
);
const routes = routeConfiguration({
  name: "routes",
  virtualHosts: names.map((name) =>
    virtualHost({
      name,
      domains: [`${name}.mesh.local`, `${name}.mesh.local:8080`],
      routes: [
        route({ match: { prefix: "/api", headers: [{ name: "x-canary", exact: "1" }] }, cluster: name, timeout: "2s" }),
        route({ match: { prefix: "/" }, cluster: name, timeout: "5s", retry: { numRetries: 2, perTryTimeout: "1s" } }),
      ],
    }),
  ),
});
const listener = httpListener({ name: "http", port: 8080, rds: { routeConfigName: "routes" } });

const snapshot = {
  [TypeUrl.Listener]: [listener],
  [TypeUrl.RouteConfiguration]: [routes],
  [TypeUrl.Cluster]: clusters,
  [TypeUrl.ClusterLoadAssignment]: endpoints,
};
const resourceCount = 2 + clusters.length + endpoints.length;
const encodedBytes =
  ResourceTypes.Listener.messageType.encode(listener).finish().length +
  ResourceTypes.RouteConfiguration.messageType.encode(routes).finish().length +
  clusters.reduce((n, c) => n + ResourceTypes.Cluster.messageType.encode(c).finish().length, 0) +
  endpoints.reduce((n, e) => n + ResourceTypes.ClusterLoadAssignment.messageType.encode(e).finish().length, 0);

// ---- measuring ----
interface Figure {
  readonly name: string;
  readonly runsPerSecond: number;
  readonly msPerRun: number;
  readonly violations: number;
}

function measure(name: string, run: () => number): Figure {
  let violations = run(); // warm up: compiles the validators
  const warmUntil = performance.now() + Math.min(500, MS / 4);
  while (performance.now() < warmUntil) run();
  let runs = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    violations = run();
    runs++;
    elapsed = performance.now() - start;
  } while (elapsed < MS);
  return { name, runsPerSecond: (runs * 1000) / elapsed, msPerRun: elapsed / runs, violations };
}

const perResource = (profile: "envoy" | "grpc") => () => {
  let n = validate(ResourceTypes.Listener, listener, { profile }).length;
  n += validate(ResourceTypes.RouteConfiguration, routes, { profile }).length;
  for (const c of clusters) n += validate(ResourceTypes.Cluster, c, { profile }).length;
  for (const e of endpoints) n += validate(ResourceTypes.ClusterLoadAssignment, e, { profile }).length;
  return n;
};
const envoySnapshot = createSnapshotValidator();
const grpcSnapshot = createSnapshotValidator({ profile: "grpc" });

const coldStart = performance.now();
const coldViolations = envoySnapshot(snapshot).length;
const coldMs = performance.now() - coldStart;

const figures = [
  measure("validate() each resource, envoy profile", perResource("envoy")),
  measure("validate() each resource, grpc profile", perResource("grpc")),
  measure("snapshot validator (rules + references), envoy", () => envoySnapshot(snapshot).length),
  measure("snapshot validator (rules + references), grpc", () => grpcSnapshot(snapshot).length),
  measure("route configuration alone (1 resource)", () => validate(ResourceTypes.RouteConfiguration, routes).length),
];

console.log(`validation benchmark: node ${process.version}, BENCH_MS=${MS}`);
console.log(
  `snapshot: ${clusters.length} clusters, ${endpoints.length} load assignments (${ENDPOINTS} endpoints each), 1 listener, ` +
    `1 route configuration with ${routes.virtualHosts.length} virtual hosts; ${resourceCount} resources, ${(encodedBytes / 1024).toFixed(0)} KiB encoded`,
);
console.log(`first snapshot validation (compiles validators): ${coldMs.toFixed(1)} ms, ${coldViolations} violations`);
console.log("");
const pad = (s: string, n: number) => s.padEnd(n);
console.log(`${pad("measurement", 52)}${pad("ms/run", 12)}${pad("runs/s", 10)}${pad("resources/s", 14)}violations`);
for (const f of figures) {
  const resources = f.name.includes("alone") ? 1 : resourceCount;
  console.log(
    `${pad(f.name, 52)}${pad(f.msPerRun.toFixed(2), 12)}${pad(f.runsPerSecond.toFixed(1), 10)}${pad(Math.round(f.runsPerSecond * resources).toLocaleString("en-US"), 14)}${f.violations}`,
  );
}
