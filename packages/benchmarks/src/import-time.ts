// How long `import "@xdskit/<package>"` takes in a fresh process, for each
// public entry point, and how many generated Envoy API modules it loads.
// Runs ROUNDS fresh processes per entry, interleaved with a baseline tree
// when one is given, pinned to one core where `taskset` exists, and prints
// median and minimum (the minimum is the least disturbed by other load).
//
//   node dist/import-time.js [--rounds 9] [--baseline <built tree directory>] [--installed <dir>]
//
// `--installed <dir>` adds the packages as published: a directory where their
// tarballs were installed with npm (`pnpm test:pack --keep-app <dir>`), whose
// entry points are bundles (scripts/bundle.mjs); the workspace trees are
// measured as tsc built them.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "9" }, baseline: { type: "string" }, installed: { type: "string" } },
});
const ROUNDS = Number(values.rounds);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const ENTRIES = ["envoy-api", "resources", "cache", "server"];
const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;

// Inside the child: time the import of the entry point given as argv[1].
const CHILD = `
  const started = performance.now();
  await import(process.argv[1]);
  const ms = performance.now() - started;
  globalThis.gc?.();
  console.log(JSON.stringify({ ms, rssMiB: process.memoryUsage().rss / 1048576 }));`;

/** The file `import "@xdskit/<entry>"` loads: a workspace tree's tsc output, or what npm installed. */
type Tree = (entry: string) => string;
const workspaceTree =
  (dir: string): Tree =>
  (entry) =>
    join(dir, "packages", entry, "dist", "index.js");
const installedTree =
  (dir: string): Tree =>
  (entry) =>
    createRequire(join(dir, "package.json")).resolve(`@xdskit/${entry}`);

function measure(tree: Tree, entry: string): { ms: number; rssMiB: number } {
  const target = tree(entry);
  const args = ["--expose-gc", "--input-type=module", "-e", CHILD, target];
  const run = hasTaskset
    ? spawnSync("taskset", ["-c", "0", process.execPath, ...args], { encoding: "utf8" })
    : spawnSync(process.execPath, args, { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`import of ${target} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").pop() as string) as { ms: number; rssMiB: number };
}

const trees: [string, Tree][] = [["current", workspaceTree(ROOT)]];
if (values.installed) {
  if (!existsSync(join(values.installed, "node_modules/@xdskit/server/package.json"))) {
    throw new Error(`--installed ${values.installed}: @xdskit/server is not installed there (pnpm test:pack --keep-app <dir>)`);
  }
  trees.push(["current, as published", installedTree(values.installed)]);
}
if (values.baseline) {
  if (!existsSync(join(values.baseline, "packages/server/dist/index.js"))) {
    throw new Error(`--baseline ${values.baseline}: not a built xdskit tree (no packages/server/dist/index.js)`);
  }
  trees.push([`baseline`, workspaceTree(values.baseline)]);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

console.log(
  `import time, fresh process, ${ROUNDS} rounds${hasTaskset ? ", pinned to CPU 0" : ""}; ms median (min), and RSS after the import and a GC (MiB, median)`,
);
// Ratios: the baseline's median over each current tree's.
const baselineIndex = values.baseline ? trees.length - 1 : -1;
const compared = baselineIndex < 0 ? [] : trees.slice(0, baselineIndex).map(([name], i) => ({ name, i }));
console.log(`| entry | ${trees.map(([n]) => n).join(" | ")} |${compared.map((c) => ` baseline ÷ ${c.name} (median) |`).join("")}`);
console.log(`|---|${trees.map(() => "---|").join("")}${compared.map(() => "---|").join("")}`);
for (const entry of ENTRIES) {
  const samples = trees.map(() => [] as number[]);
  const rss = trees.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, [, tree]] of trees.entries()) {
      const { ms, rssMiB } = measure(tree, entry);
      samples[i]?.push(ms);
      rss[i]?.push(rssMiB);
    }
  }
  const cells = samples.map(
    (s, i) => `${median(s).toFixed(0)} (${Math.min(...s).toFixed(0)}), ${median(rss[i] as number[]).toFixed(0)} MiB`,
  );
  const ratio = compared
    .map((c) => ` ${(median(samples[baselineIndex] as number[]) / median(samples[c.i] as number[])).toFixed(2)}× |`)
    .join("");
  console.log(`| @xdskit/${entry} | ${cells.join(" | ")} |${ratio}`);
}
