import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CDS, cluster, node, record, sotw } from "./internal/fixtures.test.js";
import { SnapshotCache } from "./snapshot-cache.js";

describe("debounce", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("coalesces a burst of changes into one push per watch, with the last state", () => {
    const cache = new SnapshotCache({ debounce: { windowMs: 20 } });
    cache.setSnapshot("n1", { version: "0", resources: { [CDS]: [cluster("a", 0)] } });
    const first = record(cache.watchSotw(sotw(node("n1"), CDS, { wildcard: true }))).one();
    const held = record(cache.watchSotw(sotw(node("n1"), CDS, { wildcard: true, versionInfo: first.version })));
    for (let i = 1; i <= 100; i++) cache.setSnapshot("n1", { version: String(i), resources: { [CDS]: [cluster("a", i)] } });
    expect(held.values).toEqual([]);
    vi.advanceTimersByTime(19);
    expect(held.values).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(held.values).toHaveLength(1);
    // The version names the snapshot served (the burst's last) and its content digest.
    expect(held.one().version).toBe(`100~${cache.getSnapshot("n1")!.resources[CDS]!.version}`);
    // A client that re-watches (its ACK) while a change is held back waits for it too.
    const acked = held.one().version;
    cache.setSnapshot("n1", { version: "101", resources: { [CDS]: [cluster("a", 101)] } });
    const again = record(cache.watchSotw(sotw(node("n1"), CDS, { wildcard: true, versionInfo: acked })));
    expect(again.values).toEqual([]);
    expect(cache.getSnapshot("n1")!.version).toBe("101"); // the newest, though not served yet
    vi.advanceTimersByTime(20);
    expect(again.one().version).toBe(`101~${cache.getSnapshot("n1")!.resources[CDS]!.version}`);
    cache.dispose();
  });

  it("pushes at maxDelayMs at the latest under a steady stream of changes", () => {
    const cache = new SnapshotCache({ debounce: { windowMs: 20, maxDelayMs: 50 } });
    cache.setSnapshot("n1", { version: "0", resources: { [CDS]: [cluster("a", 0)] } });
    const v0 = record(cache.watchSotw(sotw(node("n1"), CDS, { wildcard: true }))).one().version;
    const held = record(cache.watchSotw(sotw(node("n1"), CDS, { wildcard: true, versionInfo: v0 })));
    for (let i = 1; i <= 10; i++) {
      cache.setSnapshot("n1", { version: String(i), resources: { [CDS]: [cluster("a", i)] } });
      vi.advanceTimersByTime(10); // a change every 10 ms never leaves a 20 ms quiet window
      if (i < 5) expect(held.values, `after ${i * 10} ms`).toEqual([]);
    }
    expect(held.values).toHaveLength(1); // woken at 50 ms
    cache.dispose();
  });

  it("is off by default and refuses a bad window", () => {
    const cache = new SnapshotCache();
    expect(cache.options.debounce).toBeUndefined();
    expect(() => new SnapshotCache({ debounce: { windowMs: -1 } })).toThrow(/option "debounce.windowMs"/);
    expect(() => new SnapshotCache({ debounce: 5 as never })).toThrow(/option "debounce"/);
    cache.dispose();
  });
});
