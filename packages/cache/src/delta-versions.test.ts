// DeltaResponse.versions: the shared name -> version map of the state a delta
// answer came from (what lets a server share what its streams hold; see
// docs/cache.md and docs/server.md#memory-per-delta-stream).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cla, delta, EDS, record } from "./internal/fixtures.test.js";
import { type Harness, linearHarness, snapshotHarness } from "./internal/harness.test.js";
import type { DeltaResponse } from "./types.js";

describe("DeltaResponse.versions", () => {
  let h: Harness;
  afterEach(() => h.dispose());

  describe("SnapshotCache", () => {
    beforeEach(() => {
      h = snapshotHarness();
      h.set(EDS, [cla("a"), cla("b"), cla("c")]);
    });

    it("answers clients that hold nothing with one shared list per state and subscription (a fleet's first requests), with what each would get alone", () => {
      const [n, m] = h.nodes;
      const wildcard = [n!, n!].map((node) => record(h.cache.watchDelta(delta(node, EDS, { wildcard: true }))).one() as DeltaResponse);
      expect(wildcard[1]!.resources).toBe(wildcard[0]!.resources);
      expect(wildcard[0]!.resources.map((e) => e.name)).toEqual(["a", "b", "c"]);
      // A first named request forces what it subscribes (the same set, as the server passes it):
      // a name that does not exist is said removed.
      const names = new Set(["c", "a", "zz"]);
      const first = [0, 1].map(() => record(h.cache.watchDelta({ ...delta(n!, EDS), names, forceNames: names })).one() as DeltaResponse);
      expect(first[1]!.resources).toBe(first[0]!.resources);
      expect(first[0]!.resources.map((e) => e.name)).toEqual(["c", "a"]);
      expect(first[0]!.removed).toEqual(["zz"]);
      // Nothing forced: no "removed" for a name that never existed.
      const quiet = record(h.cache.watchDelta({ ...delta(n!, EDS), names })).one() as DeltaResponse;
      expect(quiet.resources.map((e) => e.name)).toEqual(["c", "a"]);
      expect(quiet.removed).toEqual([]);
      // The same set changed between watches (a server's own sets do): answered for what it holds now.
      const own = new Set(["a", "zz"]);
      const before = record(h.cache.watchDelta({ ...delta(n!, EDS), names: own, forceNames: own })).one() as DeltaResponse;
      expect(before.resources.map((e) => e.name)).toEqual(["a"]);
      own.delete("zz");
      own.add("b");
      const changedSet = record(h.cache.watchDelta({ ...delta(n!, EDS), names: own, forceNames: own })).one() as DeltaResponse;
      expect(changedSet.resources.map((e) => e.name)).toEqual(["a", "b"]);
      expect(changedSet.removed).toEqual([]);
      // A new state answers anew.
      h.set(EDS, [cla("a", 7070), cla("c")]);
      const after = record(h.cache.watchDelta({ ...delta(m ?? n!, EDS), names, forceNames: names })).one() as DeltaResponse;
      expect(after.resources).not.toBe(first[0]!.resources);
      expect(after.resources.map((e) => e.name)).toEqual(["c", "a"]);
    });

    it("is one map per served state, shared by every answer from it, naming every resource in the version sent", () => {
      const [n] = h.nodes;
      const wildcard = record(h.cache.watchDelta(delta(n!, EDS, { wildcard: true }))).one() as DeltaResponse;
      const named = record(h.cache.watchDelta(delta(n!, EDS, { names: ["a"] }))).one() as DeltaResponse;
      const versions = wildcard.versions!;
      expect(named.versions).toBe(versions);
      expect(new Map(versions)).toEqual(new Map(wildcard.resources.map((e) => [e.name, e.version])));
      expect(versions.get("a")).toBe(named.resources[0]!.version);
      // Another group serves its own state.
      const other = record(h.cache.watchDelta(delta(h.nodes[1]!, EDS, { wildcard: true }))).one() as DeltaResponse;
      expect(new Map(other.versions!)).toEqual(new Map(other.resources.map((e) => [e.name, e.version])));

      // A change makes a new map; the old one is left as it was.
      const before = new Map(versions);
      const held = wildcard.resources.map((e) => [e.name, e.version] as [string, string]);
      const watch = record(h.cache.watchDelta(delta(n!, EDS, { wildcard: true, clientVersions: held })));
      h.set(EDS, [cla("a"), cla("b", 9090), cla("c")]);
      const change = watch.one() as DeltaResponse;
      expect(change.resources.map((e) => e.name)).toEqual(["b"]);
      expect(change.versions).not.toBe(versions);
      expect(change.versions!.get("b")).toBe(change.resources[0]!.version);
      expect(change.versions!.get("a")).toBe(versions.get("a"));
      expect(new Map(versions)).toEqual(before);
    });

    it("accepts clientVersions that are a ReadonlyMap but not a Map (the server's shared bookkeeping)", () => {
      const [n] = h.nodes;
      const first = record(h.cache.watchDelta(delta(n!, EDS, { wildcard: true }))).one() as DeltaResponse;
      const map = new Map(first.resources.map((e) => [e.name, e.version] as [string, string]));
      map.delete("c");
      const readonly: ReadonlyMap<string, string> = {
        get: (name) => map.get(name),
        has: (name) => map.has(name),
        get size() {
          return map.size;
        },
        keys: () => map.keys(),
        values: () => map.values(),
        entries: () => map.entries(),
        forEach: (callback) => map.forEach(callback),
        [Symbol.iterator]: () => map.entries(),
      };
      const answer = record(h.cache.watchDelta({ ...delta(n!, EDS, { wildcard: true }), clientVersions: readonly }));
      expect(answer.error).toBeUndefined();
      expect((answer.one() as DeltaResponse).resources.map((e) => e.name)).toEqual(["c"]);
    });
  });

  it("LinearCache gives none (it would cost a pass over every resource per change)", () => {
    h = linearHarness();
    h.set(EDS, [cla("a"), cla("b")]);
    const answer = record(h.cache.watchDelta(delta(h.nodes[0]!, EDS, { wildcard: true }))).one() as DeltaResponse;
    expect(answer.resources).toHaveLength(2);
    expect(answer.versions).toBeUndefined();
  });
});
