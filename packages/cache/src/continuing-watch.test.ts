// CacheWatch.open with `continuing`: a SotW watch that keeps waiting after each answer, as the
// watch of a client that accepted it, on both caches (SnapshotCache, MuxCache of LinearCaches).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cla, delta, EDS, names, sotw } from "./internal/fixtures.test.js";
import { HARNESSES, type Harness } from "./internal/harness.test.js";
import { CacheWatch } from "./internal/watch.js";
import type { DeltaResponse, SotwResponse } from "./types.js";

function sink<R>() {
  const answers: R[] = [];
  const errors: unknown[] = [];
  return { answers, errors, next: (r: R) => void answers.push(r), error: (e: unknown) => void errors.push(e) };
}

describe.each(HARNESSES)("continuing SotW watch: $name", ({ make }) => {
  let h: Harness;
  beforeEach(() => {
    h = make();
    h.set(EDS, [cla("a"), cla("b")]);
  });
  afterEach(() => h.dispose());

  it("answers at once, stays registered, and answers each later change from what it answered", () => {
    const watch = h.cache.watchSotw(sotw(h.nodes[0]!, EDS, { names: ["a"] }));
    expect(watch).toBeInstanceOf(CacheWatch);
    expect((watch as CacheWatch<SotwResponse>).continues).toBe(true);
    const s = sink<SotwResponse>();
    const handle = (watch as CacheWatch<SotwResponse>).open(s, true);
    expect(s.answers.map(names)).toEqual([["a"]]);
    expect(h.openWatches()).toBe(1);
    // Only a change to what it names wakes it, and only once per change.
    h.set(EDS, [cla("a"), cla("b", 2)]);
    expect(s.answers.length).toBe(1);
    h.set(EDS, [cla("a", 3), cla("b", 2)]);
    expect(s.answers.length).toBe(2);
    expect(s.answers[1]!.version).not.toBe(s.answers[0]!.version);
    expect(h.openWatches()).toBe(1);
    // Back to the content it answered first: a change from the second answer, so answered again.
    h.set(EDS, [cla("a"), cla("b", 2)]);
    expect(s.answers.length).toBe(3);
    expect(names(s.answers[2]!)).toEqual(["a"]);
    handle.unsubscribe();
    expect(h.openWatches()).toBe(0);
    h.set(EDS, [cla("a", 4)]);
    expect(s.answers.length).toBe(3);
    expect(s.errors).toEqual([]);
  });

  it("a watch that holds at first continues the same way once it answers", () => {
    const first = sink<SotwResponse>();
    (h.cache.watchSotw(sotw(h.nodes[0]!, EDS, { names: ["a"] })) as CacheWatch<SotwResponse>).open(first);
    const current = first.answers[0]!.version;
    const s = sink<SotwResponse>();
    const handle = (h.cache.watchSotw(sotw(h.nodes[0]!, EDS, { names: ["a"], versionInfo: current })) as CacheWatch<SotwResponse>).open(
      s,
      true,
    );
    expect(s.answers).toEqual([]);
    h.set(EDS, [cla("a", 5), cla("b")]);
    h.set(EDS, [cla("a", 6), cla("b")]);
    expect(s.answers.map((r) => r.resources.length)).toEqual([1, 1]);
    expect(h.openWatches()).toBe(1);
    handle.unsubscribe();
  });

  it("a sink may cancel the watch from inside its answer; without `continuing` the watch ends with its answer", () => {
    const s = sink<SotwResponse>();
    let handle: { unsubscribe(): void } | undefined;
    const cancelling = {
      next: (r: SotwResponse) => {
        s.answers.push(r);
        handle?.unsubscribe();
      },
      error: s.error,
    };
    const watch = h.cache.watchSotw(sotw(h.nodes[0]!, EDS, { names: ["a"], versionInfo: "0" })) as CacheWatch<SotwResponse>;
    handle = watch.open({ next: (r) => s.answers.push(r), error: s.error }, true);
    handle.unsubscribe();
    expect(h.openWatches()).toBe(0);
    const held = h.cache.watchSotw(
      sotw(h.nodes[0]!, EDS, { names: ["a"], versionInfo: s.answers[0]!.version }),
    ) as CacheWatch<SotwResponse>;
    handle = held.open(cancelling, true);
    h.set(EDS, [cla("a", 7), cla("b")]);
    expect(s.answers.length).toBe(2);
    expect(h.openWatches()).toBe(0);
    const once = sink<SotwResponse>();
    (h.cache.watchSotw(sotw(h.nodes[0]!, EDS, { names: ["a"] })) as CacheWatch<SotwResponse>).open(once);
    expect(h.openWatches()).toBe(0);
  });

  it("delta watches do not continue: `continuing` is ignored", () => {
    const watch = h.cache.watchDelta(delta(h.nodes[0]!, EDS, { names: ["a"], forceNames: ["a"] })) as CacheWatch<DeltaResponse>;
    expect(watch.continues).toBe(false);
    const s = sink<DeltaResponse>();
    watch.open(s, true);
    expect(s.answers.length).toBe(1);
    expect(h.openWatches()).toBe(0);
  });
});
