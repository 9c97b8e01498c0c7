/**
 * Summarises a V8 heap snapshot (`BENCH_HEAP_SNAPSHOT` of the fleet server) by constructor:
 * count and self size of each kind of object, largest first, and per stream when `--streams N`
 * is given. What one idle stream retains shows up as kinds whose count is a multiple of N.
 *
 * `node packages/benchmarks/dist/fleet/heap-summary.js <file.heapsnapshot> [--streams N] [--top 40]`
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a));
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
if (file === undefined) {
  console.error("usage: heap-summary <file.heapsnapshot> [--streams N] [--top 40]");
  process.exit(2);
}
const streams = option("--streams", 0);
const top = option("--top", 40);
const heap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
const fields = heap.snapshot.meta.node_fields;
const types = heap.snapshot.meta.node_types[0];
const width = fields.length;
const typeAt = fields.indexOf("type");
const nameAt = fields.indexOf("name");
const sizeAt = fields.indexOf("self_size");
const kinds = new Map<string, { count: number; size: number }>();
let total = 0;
for (let i = 0; i < heap.nodes.length; i += width) {
  const type = types[heap.nodes[i + typeAt]!]!;
  const size = heap.nodes[i + sizeAt]!;
  total += size;
  // Objects by constructor; everything else (strings, arrays, code, closures) by V8 type.
  const name = type === "object" || type === "closure" ? `${type}:${heap.strings[heap.nodes[i + nameAt]!]}` : type;
  const kind = kinds.get(name) ?? { count: 0, size: 0 };
  kind.count++;
  kind.size += size;
  kinds.set(name, kind);
}
const rows = [...kinds].sort((a, b) => b[1].size - a[1].size).slice(0, top);
console.log(`total self size ${(total / 1048576).toFixed(1)} MiB${streams ? `, ${(total / streams / 1024).toFixed(1)} KiB a stream` : ""}`);
for (const [name, { count, size }] of rows) {
  const per = streams ? `  ${(count / streams).toFixed(2).padStart(7)}/stream ${(size / streams).toFixed(0).padStart(6)} B/stream` : "";
  console.log(`${(size / 1024).toFixed(0).padStart(9)} KiB ${String(count).padStart(9)}${per}  ${name.slice(0, 90)}`);
}
