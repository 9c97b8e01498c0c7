// What a Node process's RSS is before any xdskit code: the floor under the fleet
// benchmark's "RSS when ready" (issue 13's target: half of ecded1f's).
//
//   node dist/rss-floor.js [--rounds 5]
//
// Three steps, each in fresh processes pinned to one core where `taskset` exists,
// RSS after a full GC, medians of --rounds:
//   bare        Node doing nothing
//   http2       a node:http2 server listening on a port (what `serveHttp2` starts)
//   optimized   the same, after one function was hot enough for V8's optimizing
//               compiler (TurboFan): its first compile pages in the compiler's code
//               from the node binary, which every server pays once anything is hot
//               (the fleet server before its first stream: building and encoding its
//               snapshot)
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const ROUNDS = Number(values.rounds);
const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;

const LISTEN = `
  const http2 = await import("node:http2");
  await new Promise((resolve) => http2.createServer().listen(0, "127.0.0.1", resolve));`;
// A loop hot enough that V8 optimizes `mix`, checked with %GetOptimizationStatus's "optimized"
// bit (16) under --allow-natives-syntax, the one diagnostic this script uses. On Node 20 that
// is TurboFan (Maglev, V8's middle tier, is off by default before Node 22).
const HOT = `
  function mix(a, b) { return (a * 31 + b) | 0; }
  let h = 0;
  for (let round = 0; round < 50 && (%GetOptimizationStatus(mix) & 16) === 0; round++) {
    for (let i = 0; i < 100000; i++) h = mix(h, i);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if ((%GetOptimizationStatus(mix) & 16) === 0) throw new Error("mix was not optimized");`;
const REPORT = `
  await new Promise((resolve) => setTimeout(resolve, 300));
  globalThis.gc();
  console.log(JSON.stringify({ rssMiB: process.memoryUsage().rss / 1048576 }));
  process.exit(0);`;
const STEPS: [string, string][] = [
  ["bare Node", ""],
  ["node:http2 listening", LISTEN],
  ["node:http2 listening, one function optimized", LISTEN + HOT],
];

function measure(body: string): number {
  const node = [process.execPath, "--expose-gc", "--allow-natives-syntax", "--input-type=module", "-e", body + REPORT];
  const [command, ...args] = hasTaskset ? ["taskset", "-c", "0", ...node] : node;
  const result = spawnSync(command!, args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`rss-floor: a child failed: ${result.stderr}`);
  return (JSON.parse(result.stdout.trim().split("\n").at(-1)!) as { rssMiB: number }).rssMiB;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const figures = STEPS.map((): number[] => []);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, [, body]] of STEPS.entries()) figures[i]!.push(measure(body));
}
console.log(`RSS floor, Node ${process.version}, ${ROUNDS} rounds, medians (min–max) after a full GC:\n`);
console.log("| step | RSS (MiB) |\n|---|---|");
STEPS.forEach(([name], i) => {
  const xs = figures[i]!;
  console.log(`| ${name} | ${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}) |`);
});
