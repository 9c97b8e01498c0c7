// Timing for the benchmarks: run an operation repeatedly for a fixed time
// after a warm-up, report operations per second.

/** Operations per second of `op`, measured for about `ms` milliseconds after `warmupMs`. */
export function opsPerSecond(op: () => unknown, ms: number, warmupMs = Math.min(300, ms / 4)): number {
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) op();
  let count = 0;
  let batch = 1;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) op();
    count += batch;
    now = performance.now();
    if (now - start < ms / 20) batch *= 2;
  }
  return (count * 1000) / (now - start);
}

/** A table for the console: the first `textColumns` columns left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][], textColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
