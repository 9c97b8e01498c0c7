// Codec benchmark: encode/decode throughput of @xdskit/envoy-api's generated
// codecs for a large Cluster and a large RouteConfiguration, next to
// @grpc/proto-loader + protobufjs reflection (what @grpc/grpc-js-xds uses),
// on the same bytes; plus our canonical JSON.
//
//   npx tsc -b packages/benchmarks && node packages/benchmarks/dist/codec.js
//
// Knobs (environment): BENCH_MS (time per figure, default 1200, split into
// 4 interleaved rounds of which the best counts),
// CLUSTER_LOCALITIES (10) x CLUSTER_ENDPOINTS (200 per locality),
// ROUTE_HOSTS (300) x ROUTE_ROUTES (10 per virtual host).

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fromJsonString, type MessageType, toJsonString, typeNameOf, typeUrlOf } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { largeCluster, largeRouteConfiguration } from "./codec/fixtures.js";
import { opsPerSecond, table } from "./codec/measure.js";

const env = (name: string, fallback: number) => {
  const raw = process.env[name];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
};
const MS = env("BENCH_MS", 1200);
const ROUNDS = 4;

// ---- protobufjs reflection, loaded exactly as @grpc/grpc-js-xds loads it ----
const require = createRequire(import.meta.url);
const xdsDir = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
// Loading proto-loader's entry registers descriptor.proto with protobufjs;
// then its util module, not a public API but the one grpc-js-xds's
// resources.ts uses, loads the Envoy protos into a reflection Root.
require("@grpc/proto-loader");
const { loadProtosWithOptionsSync } = require("@grpc/proto-loader/build/src/util") as {
  loadProtosWithOptionsSync(files: string[], options: object): { lookupType(name: string): PbType };
};
interface PbMessage {
  readonly $type: PbType;
}
interface PbType {
  decode(bytes: Uint8Array): PbMessage;
  encode(message: PbMessage): { finish(): Uint8Array };
  toObject(message: PbMessage, options: object): Record<string, unknown>;
  fromObject(object: Record<string, unknown>): PbMessage;
}
const loadStarted = performance.now();
const root = loadProtosWithOptionsSync(
  [
    "envoy/config/cluster/v3/cluster.proto",
    "envoy/config/route/v3/route.proto",
    "envoy/extensions/transport_sockets/tls/v3/tls.proto",
    "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
  ],
  {
    keepCase: true,
    includeDirs: ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(xdsDir, "deps", d)),
  },
);
const loadMs = performance.now() - loadStarted;
/** grpc-js-xds's toObject options (resources.ts). */
const TO_OBJECT = { longs: String, enums: String, defaults: true, oneofs: true };

// ---- the runs -------------------------------------------------------------

interface Case {
  label: string;
  type: MessageType<any>;
  message: unknown;
}

const localities = env("CLUSTER_LOCALITIES", 10);
const perLocality = env("CLUSTER_ENDPOINTS", 200);
const hosts = env("ROUTE_HOSTS", 300);
const routes = env("ROUTE_ROUTES", 10);
const cases: Case[] = [
  { label: `Cluster (${localities * perLocality} endpoints)`, type: Cluster, message: largeCluster(localities, perLocality) },
  {
    label: `RouteConfiguration (${hosts} vhosts x ${routes} routes)`,
    type: RouteConfiguration,
    message: largeRouteConfiguration(hosts, routes),
  },
];

const rows: string[][] = [];
const mb = (ops: number, bytes: number) => ((ops * bytes) / 1e6).toFixed(1);
const row = (label: string, codec: string, op: string, ops: number, bytes: number) =>
  rows.push([label, codec, op, ops.toFixed(ops < 100 ? 1 : 0), mb(ops, bytes)]);

const started = performance.now();
for (const { label, type, message } of cases) {
  const bytes = type.encode(message).finish();
  const pb = root.lookupType(typeNameOf(typeUrlOf(type)));

  // Same bytes: protobufjs must read what we wrote, and we must read what it writes back.
  const pbMessage = pb.decode(bytes);
  const pbBytes = pb.encode(pbMessage).finish();
  const same = toJsonString(type, type.decode(pbBytes)) === toJsonString(type, message);
  if (!same || pbBytes.length !== bytes.length) throw new Error(`${label}: protobufjs and xdskit disagree on the bytes`);
  const plain = pb.toObject(pbMessage, TO_OBJECT);
  const json = toJsonString(type, message);

  console.log(`measuring ${label}: ${bytes.length} bytes, ${json.length} bytes of JSON ...`);
  const ops: [codec: string, op: string, size: number, run: () => unknown][] = [
    ["xdskit (ts-proto)", "encode", bytes.length, () => type.encode(message).finish()],
    ["xdskit (ts-proto)", "decode", bytes.length, () => type.decode(bytes)],
    ["protobufjs (proto-loader)", "encode", bytes.length, () => pb.encode(pbMessage).finish()],
    ["protobufjs (proto-loader)", "decode", bytes.length, () => pb.decode(bytes)],
    ["protobufjs (proto-loader)", "fromObject+encode", bytes.length, () => pb.encode(pb.fromObject(plain)).finish()],
    ["protobufjs (proto-loader)", "decode+toObject (grpc-js-xds)", bytes.length, () => pb.toObject(pb.decode(bytes), TO_OBJECT)],
    ["xdskit JSON", "toJsonString (MB/s of JSON)", json.length, () => toJsonString(type, message)],
    ["xdskit JSON", "fromJsonString (MB/s of JSON)", json.length, () => fromJsonString(type, json)],
  ];
  // Interleaved rounds, best round per operation: the machine is shared, and
  // load that comes and goes should not favour whichever ran first.
  const best = ops.map(() => 0);
  for (let round = 0; round < ROUNDS; round++) {
    ops.forEach(([, , , run], i) => {
      best[i] = Math.max(best[i] ?? 0, opsPerSecond(run, MS / ROUNDS, round === 0 ? 200 : 20));
    });
  }
  for (const [i, [codec, op, size]] of ops.entries()) row(label, codec, op, best[i] ?? 0, size);
  rows.push(["", "", "", "", ""]);
}
rows.pop();

console.log(
  `\nCodec throughput (node ${process.version}, ${MS} ms per figure, best of ${ROUNDS} interleaved rounds; protobufjs load of the Envoy protos: ${loadMs.toFixed(0)} ms)\n`,
);
console.log(table(["message", "codec", "operation", "msgs/s", "MB/s"], rows, 3));
for (const { label, type, message } of cases) {
  console.log(`${label}: ${type.encode(message).finish().length} bytes binary, ${toJsonString(type, message).length} bytes JSON`);
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
