import { ErrorCode, XdskitError } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { EntryStore } from "./entry-store.js";
import { CDS, cla, cluster, delta, EDS, names, node, record, sotw } from "./internal/fixtures.test.js";
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

/** Ways to load an empty cache with nothing (hold-until-loaded-empty). */
const EMPTY_LOADS: [string, (c: LinearCache) => void][] = [
  ["markLoaded()", (c) => c.markLoaded()],
  ["replaceAll([])", (c) => void c.replaceAll([])],
];

/** Every write method, each of which loads the cache (hold-until-loaded-writes). */
const WRITES: [string, (c: LinearCache) => void][] = [
  ["upsert", (c) => void c.upsert(cluster("a"))],
  ["upsertMany([])", (c) => void c.upsertMany([])],
  ["update({})", (c) => void c.update({})],
  ["delete of an unknown name", (c) => void c.delete("nothing")],
  ["deleteMany([])", (c) => void c.deleteMany([])],
  ["replaceAll", (c) => void c.replaceAll([cluster("a")])],
];

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
    expect((r.error as XdskitError).code).toBe(ErrorCode.API_MISUSE);
    expect(String(r.error)).toMatch(/serves type\.googleapis\.com\/envoy\.config\.endpoint\.v3\.ClusterLoadAssignment, not .*Cluster/);
  });

  it("rejects bad options naming the option", () => {
    expect(() => new LinearCache({} as never)).toThrow(/option "typeUrl" must be a type URL/);
    expect(() => new LinearCache({ typeUrl: EDS, legacyWildcard: "yes" } as never)).toThrow(
      /option "legacyWildcard" must be one of the known options/,
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

  it("hold-until-loaded: a fresh empty cache holds SotW and delta watches, and the first load answers them", () => {
    const cache = make({ typeUrl: CDS });
    expect(cache.loaded).toBe(false);
    const n = node("n");
    // A new Envoy, and a reconnecting one that holds clusters from the control plane's previous run.
    const fresh = record(cache.watchSotw(sotw(n, CDS, { wildcard: true })));
    const back = record(cache.watchSotw(sotw(n, CDS, { wildcard: true, versionInfo: "before-restart" })));
    const named = record(cache.watchSotw(sotw(n, CDS, { names: ["a", "gone"], versionInfo: "before-restart" })));
    const d = record(cache.watchDelta(delta(n, CDS, { wildcard: true, forceResponse: true, clientVersions: [["gone", "v0"]] })));
    const dNamed = record(cache.watchDelta(delta(n, CDS, { names: ["gone"], forceNames: ["gone"] })));
    for (const w of [fresh, back, named, d, dNamed]) {
      expect(w.values).toEqual([]);
      expect(w.completed).toBe(false);
    }
    cache.replaceAll([cluster("a"), cluster("b")]);
    expect(cache.loaded).toBe(true);
    expect(names(fresh.one())).toEqual(["a", "b"]);
    expect(names(back.one())).toEqual(["a", "b"]);
    expect(names(named.one())).toEqual(["a"]);
    expect(names(d.one())).toEqual(["a", "b"]);
    expect(d.one().removed).toEqual(["gone"]);
    expect(dNamed.one()).toMatchObject({ resources: [], removed: ["gone"] });
    for (const w of [fresh, back, named, d, dNamed]) expect(w.completed).toBe(true);
  });

  it("hold-until-loaded-fetch: fetch resolves undefined until the cache is loaded", async () => {
    const cache = make({ typeUrl: CDS });
    const request = { node: node("n"), typeUrl: CDS, names: new Set<string>(), versionInfo: "before-restart" };
    expect(await cache.fetch(request)).toBeUndefined();
    cache.upsert(cluster("a"));
    expect(names((await cache.fetch(request))!)).toEqual(["a"]);
  });

  it.each(EMPTY_LOADS)("hold-until-loaded-empty: %s releases held watches with the empty state", async (_, load) => {
    const cache = make({ typeUrl: CDS });
    const n = node("n");
    const s = record(cache.watchSotw(sotw(n, CDS, { wildcard: true, versionInfo: "before-restart" })));
    const named = record(cache.watchSotw(sotw(n, CDS, { names: ["a"], versionInfo: "before-restart" })));
    const d = record(cache.watchDelta(delta(n, CDS, { wildcard: true, forceResponse: true, clientVersions: [["a", "v0"]] })));
    const dFirst = record(cache.watchDelta(delta(n, CDS, { wildcard: true, forceResponse: true })));
    load(cache);
    expect(cache.loaded).toBe(true);
    expect(cache.size).toBe(0);
    // The operator's truth is "no clusters": the full-state answers are empty, so Envoy removes what it holds.
    expect(s.one()).toMatchObject({ typeUrl: CDS, version: cache.version, resources: [] });
    expect(named.one().resources).toEqual([]);
    expect(d.one()).toMatchObject({ resources: [], removed: ["a"] });
    expect(dFirst.one()).toMatchObject({ resources: [], removed: [] });
    const fetched = await cache.fetch({ node: n, typeUrl: CDS, names: new Set(), versionInfo: "before-restart" });
    expect(fetched).toMatchObject({ resources: [], version: cache.version });
    // Loading again changes nothing and answers nobody who is current.
    const current = record(cache.watchSotw(sotw(n, CDS, { wildcard: true, versionInfo: s.one().version })));
    cache.markLoaded();
    expect(current.values).toEqual([]);
  });

  it.each(WRITES)("hold-until-loaded-writes: %s loads the cache, even when it changes nothing", (_, write) => {
    const cache = make({ typeUrl: CDS });
    const w = record(cache.watchSotw(sotw(node("n"), CDS, { wildcard: true })));
    expect(w.values).toEqual([]);
    write(cache);
    expect(cache.loaded).toBe(true);
    expect(w.one().resources.length).toBe(cache.size);
  });

  it("hold-until-loaded-refused: a refused batch does not load the cache", () => {
    const cache = make({ typeUrl: CDS });
    const w = record(cache.watchSotw(sotw(node("n"), CDS, { wildcard: true })));
    expect(() => cache.update({ upsert: [cluster("x"), cluster("x", 1)] })).toThrow(/"x" appears twice/);
    expect(() => cache.upsert({} as never)).toThrow();
    expect(cache.loaded).toBe(false);
    expect(w.values).toEqual([]);
  });

  it("hold-until-loaded-constructor: `resources` given to the constructor, even empty, load the cache", () => {
    const n = node("n");
    const empty = make({ typeUrl: CDS, resources: [] });
    expect(empty.loaded).toBe(true);
    expect(record(empty.watchSotw(sotw(n, CDS, { wildcard: true }))).one().resources).toEqual([]);
    const some = make({ typeUrl: CDS, resources: [cluster("a")] });
    expect(names(record(some.watchSotw(sotw(n, CDS, { wildcard: true }))).one())).toEqual(["a"]);
    expect(make({ typeUrl: CDS }).loaded).toBe(false);
  });
});
