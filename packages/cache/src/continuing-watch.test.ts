// CacheWatch.open with `continuing`: a watch that keeps waiting after each answer, as the watch
// of a client that accepted it, on both caches (SnapshotCache, MuxCache of LinearCaches).
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

describe.each(HARNESSES)("continuing watch: $name", ({ make }) => {
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

  it("a named subscription's state, shared by the watches with the same set, follows the set and the content", () => {
    const subscribed = new Set(["a"]);
    const answer = () => {
      const s = sink<SotwResponse>();
      const request = { ...sotw(h.nodes[0]!, EDS), names: subscribed };
      (h.cache.watchSotw(request) as CacheWatch<SotwResponse>).open(s);
      return s.answers[0]!;
    };
    const first = answer();
    expect(names(first)).toEqual(["a"]);
    // The same set and content: the same list of entries (shared, and encoded once by a server).
    expect(answer().resources).toBe(first.resources);
    // The set changed in place (a server's own set): answered for what it holds now.
    subscribed.delete("a");
    subscribed.add("b");
    expect(names(answer())).toEqual(["b"]);
    // The content changed: the new entries.
    h.set(EDS, [cla("a"), cla("b", 11)]);
    const changed = answer();
    expect(changed.version).not.toBe(first.version);
    expect(changed.resources[0]!.version).not.toBe(first.resources[0]!.version);
  });

  it("a continuing delta watch answers what changed since its last answer, its forced names spent", () => {
    const request = delta(h.nodes[0]!, EDS, { names: ["a", "b"], forceNames: ["a", "b"] });
    const watch = h.cache.watchDelta(request) as CacheWatch<DeltaResponse>;
    expect(watch.continues).toBe(true);
    // The server keeps what the client holds (the request's live clientVersions) as it sends.
    const live = request.clientVersions as Map<string, string>;
    const s = sink<DeltaResponse>();
    const handle = watch.open(
      {
        next: (r) => {
          s.answers.push(r);
          for (const e of r.resources) live.set(e.name, e.version);
        },
        error: s.error,
      },
      true,
    );
    expect(s.answers.map(names)).toEqual([["a", "b"]]);
    expect(h.openWatches()).toBe(1);
    h.set(EDS, [cla("a"), cla("b", 9)]);
    expect(s.answers.map(names)).toEqual([["a", "b"], ["b"]]);
    // A name it does not subscribe to wakes nothing; the forced names are not sent again.
    h.set(EDS, [cla("a"), cla("b", 9), cla("c")]);
    expect(s.answers.length).toBe(2);
    expect(h.openWatches()).toBe(1);
    handle.unsubscribe();
    expect(h.openWatches()).toBe(0);
    expect(s.errors).toEqual([]);
  });
});
