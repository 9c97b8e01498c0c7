import { ErrorCode, XdskitError } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { EntryStore } from "./entry-store.js";
import { CDS, cla, delta, EDS, names, node, record, sotw } from "./internal/fixtures.test.js";
import { LinearCache } from "./linear-cache.js";

const caches: LinearCache[] = [];
function make(options: Omit<ConstructorParameters<typeof LinearCache>[0], "typeUrl"> & { typeUrl?: string } = {}): LinearCache {
  const cache = new LinearCache({ typeUrl: EDS, ...options });
  caches.push(cache);
  return cache;
}
afterEach(() => {
  for (const c of caches.splice(0)) c.dispose();
});

describe("LinearCache", () => {
  it("upsert/delete: per-resource versions follow content; deleting and re-adding restores the type version", () => {
    const cache = make();
    const empty = cache.version;
    const a = cache.upsert(cla("a"));
    expect(cache.get("a")).toBe(a);
    expect(a.version).toMatch(/^[0-9a-f]{32}$/);
    const withA = cache.version;
    expect(withA).not.toBe(empty);
    expect(cache.upsert(cla("a")).version).toBe(a.version); // same content, same version
    expect(cache.version).toBe(withA);
    expect(cache.delete("a")).toBe(true);
    expect(cache.delete("a")).toBe(false);
    expect(cache.version).toBe(empty);
  });

  it("batches: upsertMany/deleteMany/update apply as one change and wake each watch once", () => {
    const cache = make({ resources: [cla("a"), cla("b"), cla("c")] });
    const n = node("n");
    const first = record(cache.watchSotw(sotw(n, EDS, { names: ["a", "b", "c"] }))).one();
    const w = record(cache.watchSotw(sotw(n, EDS, { names: ["a", "b", "c"], versionInfo: first.version })));
    cache.update({ upsert: [cla("a", 1), cla("b", 1)], delete: ["c"] });
    expect(names(w.one())).toEqual(["a", "b"]);
    expect(cache.size).toBe(2);
    expect(cache.deleteMany(["a", "zz"])).toBe(1);
    expect(() => cache.update({ upsert: [cla("x"), cla("x", 2)] })).toThrow(/"x" appears twice/);
    expect(cache.get("x")).toBeUndefined();
  });

  it("replaceAll: deletes what is not listed and wakes only what changed", () => {
    const cache = make({ resources: [cla("a"), cla("b")] });
    const n = node("n");
    const va = record(cache.watchSotw(sotw(n, EDS, { names: ["a"] }))).one().version;
    const wa = record(cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: va })));
    cache.replaceAll([cla("a"), cla("c")]);
    expect(wa.values).toEqual([]);
    expect([...cache.all()].map((e) => e.name).sort()).toEqual(["a", "c"]);
  });

  it("serves one type: a watch of another type errors clearly", () => {
    const cache = make();
    const r = record(cache.watchSotw(sotw(node("n"), CDS, { wildcard: true })));
    expect(XdskitError.is(r.error)).toBe(true);
    expect((r.error as XdskitError).code).toBe(ErrorCode.PROTOCOL_VIOLATION);
    expect(String(r.error)).toMatch(/serves type\.googleapis\.com\/envoy\.config\.endpoint\.v3\.ClusterLoadAssignment, not .*Cluster/);
  });

  it("rejects bad options naming the option", () => {
    expect(() => new LinearCache({} as never)).toThrow(/option "typeUrl" must be a type URL/);
    expect(() => new LinearCache({ typeUrl: EDS, legacyWildcard: "yes" as never })).toThrow(
      /option "legacyWildcard" must be a boolean; got "yes"/,
    );
    expect(() => new LinearCache({ typeUrl: EDS, entries: {} as never })).toThrow(/option "entries" must be an EntryStore/);
  });

  it("scale: one change among 100,000 resources wakes only its watchers and costs little", () => {
    let encodes = 0;
    const entries = new EntryStore({ onEncode: () => encodes++ });
    const cache = make({ entries });
    const all = Array.from({ length: 100_000 }, (_, i) => cla(`r${i}`, 1000 + (i % 1000)));
    cache.upsertMany(all);
    expect(cache.size).toBe(100_000);
    // 1,000 named SotW watches and 1,000 named delta watches on distinct names, one wildcard delta watch.
    const sotwWatches = [];
    const deltaWatches = [];
    for (let i = 0; i < 1000; i++) {
      const name = `r${i}`;
      const v = cache.get(name)!;
      const current = record(cache.watchSotw(sotw(node(`s${i}`), EDS, { names: [name] }))).one().version;
      sotwWatches.push(record(cache.watchSotw(sotw(node(`s${i}`), EDS, { names: [name], versionInfo: current }))));
      deltaWatches.push(record(cache.watchDelta(delta(node(`d${i}`), EDS, { names: [name], clientVersions: [[name, v.version]] }))));
    }
    const wildcardVersions = new Map(cache.all().map((e) => [e.name, e.version] as [string, string]));
    const wild = record(cache.watchDelta(delta(node("w"), EDS, { wildcard: true, clientVersions: wildcardVersions })));
    expect(wild.values).toEqual([]);
    const before = encodes;
    const started = performance.now();
    cache.upsert(cla("r7", 9999));
    const elapsed = performance.now() - started;
    expect(encodes - before).toBe(1);
    expect(sotwWatches.filter((w) => w.values.length > 0)).toHaveLength(1);
    expect(deltaWatches.filter((w) => w.values.length > 0)).toHaveLength(1);
    expect(names(wild.one())).toEqual(["r7"]);
    expect(elapsed).toBeLessThan(50); // a full scan of 100,000 would show; typical is well under 5 ms
  });
});
