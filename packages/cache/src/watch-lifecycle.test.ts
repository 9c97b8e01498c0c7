// The Observable checklist for watches, on both caches: cold, teardown once,
// no emission after unsubscribe, a throwing subscriber is contained, and
// reentrancy (changing the cache from inside next()) is safe.
import { config, firstValueFrom } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cla, delta, EDS, names, record, sotw } from "./internal/fixtures.test.js";
import { HARNESSES, type Harness } from "./internal/harness.test.js";
import { digestOf } from "./internal/labels.js";
import { CacheWatch } from "./internal/watch.js";
import type { SotwResponse } from "./types.js";

describe.each(HARNESSES)("watch lifecycle: $name", ({ make }) => {
  let h: Harness;
  beforeEach(() => {
    h = make();
    h.set(EDS, [cla("a"), cla("b")]);
  });
  afterEach(() => h.dispose());

  const open = (_id: string): number => h.openWatches();
  const versionOf = (nodeIndex: number, watched: string[]): string => {
    const r = record(h.cache.watchSotw(sotw(h.nodes[nodeIndex]!, EDS, { names: watched })));
    return r.one().version;
  };

  it("watch-cold: nothing is registered until subscribed, and each subscription is its own watch", () => {
    const n = h.nodes[0]!;
    const watch = h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: versionOf(0, ["a"]) }));
    expect(open(n.id)).toBe(0);
    const one = record(watch);
    const two = record(watch);
    expect(open(n.id)).toBe(2);
    h.set(EDS, [cla("a", 1), cla("b")]);
    expect(names(one.one())).toEqual(["a"]);
    expect(names(two.one())).toEqual(["a"]);
    expect(one.completed && two.completed).toBe(true);
  });

  it("watch-teardown-once: answered, completed and unsubscribed watches are counted closed exactly once", () => {
    const n = h.nodes[1]!;
    const v = versionOf(1, ["a"]);
    const a = record(h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: v })));
    const b = record(h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: v })));
    expect(open(n.id)).toBe(2);
    b.subscription.unsubscribe();
    b.subscription.unsubscribe();
    expect(open(n.id)).toBe(1);
    h.set(EDS, [cla("a", 2), cla("b")]);
    expect(a.completed).toBe(true);
    a.subscription.unsubscribe();
    expect(open(n.id)).toBe(0);
  });

  it("watch-no-emission-after-unsubscribe: a watch cancelled by another subscriber during the same change never emits", () => {
    const n = h.nodes[2]!;
    const v = versionOf(2, ["a"]);
    const second = { values: [] as SotwResponse[], sub: undefined as undefined | { unsubscribe(): void } };
    const first = h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: v })).subscribe(() => second.sub?.unsubscribe());
    second.sub = h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: v })).subscribe((r) => second.values.push(r));
    h.set(EDS, [cla("a", 3), cla("b")]);
    expect(second.values).toEqual([]);
    first.unsubscribe();
    expect(open(n.id)).toBe(0);
    // And a plain unsubscribe before the change:
    const w = record(h.cache.watchSotw(sotw(n, EDS, { names: ["b"], versionInfo: versionOf(2, ["b"]) })));
    w.subscription.unsubscribe();
    h.set(EDS, [cla("a"), cla("b", 4)]);
    expect(w.values).toEqual([]);
  });

  it("watch-reentrancy: a subscriber that changes the cache inside next() leaves every other watch answered once with the newest state", () => {
    const watches = h.nodes.map((n) => record(h.cache.watchDelta(delta(n, EDS, { names: ["a"], clientVersions: [["a", "x"]] }))));
    // All three answered at once (version differs); now re-watch and change from inside next().
    for (const w of watches) expect(names(w.one())).toEqual(["a"]);
    const held = h.nodes.map((n) => {
      const current = record(h.cache.watchDelta(delta(n, EDS, { names: ["a", "b"], forceNames: ["a", "b"] }))).one();
      return current.resources.map((e) => [e.name, e.version] as [string, string]);
    });
    let nested = 0;
    const results = h.nodes.map((n, i) => {
      const values: string[][] = [];
      h.cache.watchDelta(delta(n, EDS, { names: ["a", "b"], clientVersions: held[i] })).subscribe((r) => {
        values.push(r.resources.map((e) => `${e.name}:${digestOf(e.version)}`));
        if (nested++ === 0) h.set(EDS, [cla("a", 7), cla("b", 7)]);
      });
      return values;
    });
    h.set(EDS, [cla("a", 6), cla("b")]);
    for (const values of results) expect(values).toHaveLength(1);
    // The first watch saw the first change; the others were answered after the nested one and hold both changes.
    const newest = record(h.cache.watchSotw(sotw(h.nodes[0]!, EDS, { names: ["a", "b"] }))).one();
    const newestA = digestOf(newest.resources.find((e) => e.name === "a")!.version);
    if (h.nodes.length > 1) expect(results[results.length - 1]![0]!.some((s) => s === `a:${newestA}`)).toBe(true);
  });

  it("watch-throwing-subscriber: an exception in next() is reported, and other watches and the cache carry on", async () => {
    const reported: unknown[] = [];
    const previous = config.onUnhandledError;
    config.onUnhandledError = (e) => reported.push(e);
    try {
      const v = versionOf(0, ["a"]);
      h.cache.watchSotw(sotw(h.nodes[0]!, EDS, { names: ["a"], versionInfo: v })).subscribe(() => {
        throw new Error("subscriber bug");
      });
      const other = record(h.cache.watchSotw(sotw(h.nodes[1]!, EDS, { names: ["a"], versionInfo: v })));
      h.set(EDS, [cla("a", 8), cla("b")]);
      expect(names(other.one())).toEqual(["a"]);
      await new Promise((r) => setTimeout(r, 5));
      expect(reported).toHaveLength(1);
      expect(await firstValueFrom(h.cache.watchSotw(sotw(h.nodes[2]!, EDS, { names: ["a"] })))).toBeDefined();
    } finally {
      config.onUnhandledError = previous;
    }
  });

  it("watch-open: open(sink) answers as subscribe does, without rxjs; its handle cancels; a sink that throws hears of it and nobody else does", () => {
    const n = h.nodes[0]!;
    const v = versionOf(0, ["a"]);
    const sink = () => {
      const got = { values: [] as SotwResponse[], errors: [] as unknown[] };
      return { got, next: (r: SotwResponse) => got.values.push(r), error: (e: unknown) => got.errors.push(e) };
    };
    const now = sink();
    const fresh = h.cache.watchSotw(sotw(n, EDS, { names: ["a"] }));
    expect(fresh).toBeInstanceOf(CacheWatch);
    const answered = (fresh as CacheWatch<SotwResponse>).open(now);
    expect(names(now.got.values[0]!)).toEqual(["a"]);
    expect(open(n.id)).toBe(0);
    // Answered while opening: nothing waits, and its handle has nothing to cancel.
    answered.unsubscribe();
    expect(now.got.values).toHaveLength(1);
    const throwsAtOnce = {
      errors: [] as unknown[],
      next: () => {
        throw new Error("sink bug at once");
      },
      error: (e: unknown) => throwsAtOnce.errors.push(e),
    };
    (h.cache.watchSotw(sotw(n, EDS, { names: ["a"] })) as CacheWatch<SotwResponse>).open(throwsAtOnce);
    expect(String(throwsAtOnce.errors[0])).toMatch(/sink bug at once/);
    expect(open(n.id)).toBe(0);

    const waiting = sink();
    const cancelled = sink();
    const throwing = {
      got: { errors: [] as unknown[] },
      next: () => {
        throw new Error("sink bug");
      },
      error: (e: unknown) => throwing.got.errors.push(e),
    };
    (h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: v })) as CacheWatch<SotwResponse>).open(throwing);
    (h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: v })) as CacheWatch<SotwResponse>).open(waiting);
    const handle = (h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: v })) as CacheWatch<SotwResponse>).open(cancelled);
    expect(open(n.id)).toBe(3);
    handle.unsubscribe();
    handle.unsubscribe();
    expect(open(n.id)).toBe(2);
    h.set(EDS, [cla("a", 9), cla("b")]);
    expect(String(throwing.got.errors[0])).toMatch(/sink bug/);
    expect(names(waiting.got.values[0]!)).toEqual(["a"]);
    expect(waiting.got.values).toHaveLength(1);
    expect(cancelled.got.values).toEqual([]);
    expect(open(n.id)).toBe(0);
  });

  it("watch-names-reused: a server reusing and changing its names Set after watching does not corrupt the index", () => {
    const n = h.nodes[0]!;
    const subscribed = new Set(["a"]);
    const v = versionOf(0, ["a"]);
    const w = record(h.cache.watchSotw({ ...sotw(n, EDS, { versionInfo: v }), names: subscribed }));
    subscribed.delete("a");
    subscribed.add("b");
    w.subscription.unsubscribe();
    expect(open(n.id)).toBe(0);
    // The watch was filed under "a" and removed from there: a change to "a" wakes only the new watch.
    const fresh = record(h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: v })));
    h.set(EDS, [cla("a", 5), cla("b", 5)]);
    expect(w.values).toEqual([]);
    expect(names(fresh.one())).toEqual(["a"]);
  });

  it("watch-bad-request: a malformed request errors the Observable with a clear message instead of throwing", () => {
    const r = record(h.cache.watchSotw({ ...sotw(h.nodes[0]!, EDS), names: ["a"] as unknown as Set<string> }));
    expect(String(r.error)).toMatch(/names must be a Set/);
    const d = record(h.cache.watchDelta({ ...delta(h.nodes[0]!, EDS), clientVersions: {} as Map<string, string> }));
    expect(String(d.error)).toMatch(/clientVersions must be a Map/);
  });
});
