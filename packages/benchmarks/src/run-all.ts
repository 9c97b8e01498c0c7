// Runs every benchmark, one child process each (so one's heap does not skew
// the next), and prints their figures. `pnpm bench` from the repository root.
// Knobs: BENCH=codec,cache runs a subset.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const all = ["codec", "cache", "validation", "server", "fleet"];
const chosen = process.env.BENCH ? process.env.BENCH.split(",").map((s) => s.trim()) : all;
let failed = 0;
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`unknown benchmark "${name}"; choose from ${all.join(", ")}`);
    process.exit(2);
  }
  console.log(`\n=== ${name} ===`);
  const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  const run = spawnSync(process.execPath, ["--expose-gc", script], { stdio: "inherit" });
  if (run.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
