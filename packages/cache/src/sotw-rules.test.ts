// Protocol rules of state-of-the-world watches, for both caches and every
// node group. Each test name starts with its row id in docs/protocol.md.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  CDS,
  cla,
  cluster,
  EDS,
  LDS,
  listener,
  names,
  record,
  SDS,
  secret,
  sotw,
  withoutLegacyWildcard,
} from "./internal/fixtures.test.js";
import { HARNESSES, type Harness } from "./internal/harness.test.js";
import { digestOf } from "./internal/labels.js";
import type { SotwResponse } from "./types.js";

describe.each(HARNESSES)("SotW rules: $name", ({ make }) => {
  let h: Harness;
  beforeEach(() => {
    h = make();
  });
  afterEach(() => h.dispose());

  /** Subscribes and returns the immediate answer (or undefined when held). */
  const answer = (req: Parameters<Harness["cache"]["watchSotw"]>[0]): SotwResponse | undefined => {
    const r = record(h.cache.watchSotw(req));
    r.subscription.unsubscribe();
    return r.values[0];
  };

  it("versions-per-type: an unchanged type sends nothing when another type or the snapshot version changes", () => {
    for (const n of h.nodes) {
      h.set(CDS, [cluster("a")]);
      h.set(EDS, [cla("a")]);
      const first = answer(sotw(n, CDS, { wildcard: true }))!;
      const held = record(h.cache.watchSotw(sotw(n, CDS, { wildcard: true, versionInfo: first.version })));
      h.touch();
      h.set(EDS, [cla("a", 9)]);
      h.set(CDS, [cluster("a")]); // same content again, new objects
      expect(held.values).toEqual([]);
      h.set(CDS, [cluster("a", 1)]);
      expect(held.one().version).not.toBe(first.version);
    }
  });

  it("versions-follow-content: equal content gives equal versions in every group and cache", () => {
    h.set(CDS, [cluster("a"), cluster("b")]);
    // The digest part follows content; the label part names each group's snapshot.
    const versions = h.nodes.map((n) => digestOf(answer(sotw(n, CDS, { wildcard: true }))!.version));
    expect(new Set(versions).size).toBe(1);
    const other = make();
    other.set(CDS, [cluster("b"), cluster("a")]);
    expect(digestOf(answer.call(null, sotw(h.nodes[0]!, CDS, { wildcard: true }))!.version)).toBe(versions[0]);
    const r = record(other.cache.watchSotw(sotw(other.nodes[0]!, CDS, { wildcard: true })));
    expect(digestOf(r.one().version)).toBe(versions[0]);
    other.dispose();
  });

  it("sotw-answer-when-version-differs: a current client is held, a stale or fresh one is answered", () => {
    h.set(CDS, [cluster("a")]);
    for (const n of h.nodes) {
      const fresh = answer(sotw(n, CDS, { wildcard: true }))!;
      expect(names(fresh)).toEqual(["a"]);
      expect(answer(sotw(n, CDS, { wildcard: true, versionInfo: fresh.version }))).toBeUndefined();
      expect(answer(sotw(n, CDS, { wildcard: true, versionInfo: "old" }))!.version).toBe(fresh.version);
    }
  });

  it("sotw-named-wake: a change to one name wakes only the watches naming it (and wildcard ones)", () => {
    h.set(EDS, [cla("a"), cla("b")]);
    for (const n of h.nodes) {
      const va = answer(sotw(n, EDS, { names: ["a"] }))!.version;
      const vb = answer(sotw(n, EDS, { names: ["b"] }))!.version;
      const wa = record(h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: va })));
      const wb = record(h.cache.watchSotw(sotw(n, EDS, { names: ["b"], versionInfo: vb })));
      h.set(EDS, [cla("a"), cla("b", 9)]);
      expect(wa.values).toEqual([]);
      expect(names(wb.one())).toEqual(["b"]);
      wa.subscription.unsubscribe();
      h.set(EDS, [cla("a"), cla("b")]);
    }
  });

  it("wildcard-forms: legacy empty list, explicit *, and * plus names all get every resource", () => {
    h.set(CDS, [cluster("a"), cluster("b")]);
    for (const n of h.nodes) {
      expect(names(answer(sotw(n, CDS, { wildcard: true, legacyWildcard: true }))!)).toEqual(["a", "b"]);
      expect(names(answer(sotw(n, CDS, { wildcard: true }))!)).toEqual(["a", "b"]);
      expect(names(answer(sotw(n, CDS, { wildcard: true, names: ["a", "zz"] }))!)).toEqual(["a", "b"]);
    }
  });

  it("wildcard-switch: switching between wildcard and named subscriptions answers the new set", () => {
    h.set(CDS, [cluster("a"), cluster("b")]);
    for (const n of h.nodes) {
      const all = answer(sotw(n, CDS, { wildcard: true }))!;
      const lastSent = { version: all.version, names: new Set(["a", "b"]), nacked: false };
      const named = answer(sotw(n, CDS, { names: ["a"], versionInfo: all.version, lastSent }))!;
      expect(names(named)).toEqual(["a"]);
      const back = answer(sotw(n, CDS, { wildcard: true, versionInfo: named.version }))!;
      expect(names(back)).toEqual(["a", "b"]);
    }
  });

  it("legacy-wildcard-off: with the type descriptor's legacyWildcard set to never, an empty first request subscribes to nothing", () => {
    h.dispose();
    h = make({ resourceTypes: withoutLegacyWildcard(CDS) });
    h.set(CDS, [cluster("a")]);
    h.set(LDS, [listener("l", "r")]);
    for (const n of h.nodes) {
      expect(answer(sotw(n, CDS, { wildcard: true, legacyWildcard: true }))).toBeUndefined();
      expect(names(answer(sotw(n, CDS, { wildcard: true }))!)).toEqual(["a"]); // explicit * still works
      expect(names(answer(sotw(n, LDS, { wildcard: true, legacyWildcard: true }))!)).toEqual(["l"]);
    }
  });

  it("legacy-wildcard-named-types: a legacy wildcard on a type that does not allow wildcard subscribes to nothing", () => {
    h.set(EDS, [cla("a")]);
    for (const n of h.nodes) expect(answer(sotw(n, EDS, { wildcard: true, legacyWildcard: true }))).toBeUndefined();
  });

  it("named-only-requested: named types return only the requested names", () => {
    h.set(EDS, [cla("a"), cla("b"), cla("c")]);
    for (const n of h.nodes) expect(names(answer(sotw(n, EDS, { names: ["a", "c"] }))!)).toEqual(["a", "c"]);
  });

  it("missing-names-held: a requested name that does not exist is held, never answered empty, and sent when it appears", () => {
    h.set(EDS, [cla("a")]);
    for (const n of h.nodes) {
      const held = record(h.cache.watchSotw(sotw(n, EDS, { names: ["later"] })));
      expect(held.values).toEqual([]);
      h.set(EDS, [cla("a"), cla("later")]);
      expect(names(held.one())).toEqual(["later"]);
      h.set(EDS, [cla("a")]);
    }
  });

  it("missing-names-partial: existing names are answered while a missing one stays pending", () => {
    h.set(EDS, [cla("a")]);
    for (const n of h.nodes) {
      const first = answer(sotw(n, EDS, { names: ["a", "later"] }))!;
      expect(names(first)).toEqual(["a"]);
      const held = record(h.cache.watchSotw(sotw(n, EDS, { names: ["a", "later"], versionInfo: first.version })));
      expect(held.values).toEqual([]);
      h.set(EDS, [cla("a"), cla("later")]);
      expect(names(held.one())).toEqual(["a", "later"]);
      h.set(EDS, [cla("a")]);
    }
  });

  it("full-state: listeners and clusters carry every resource, and a deletion sends the smaller set", () => {
    h.set(CDS, [cluster("a"), cluster("b")]);
    for (const n of h.nodes) {
      const first = answer(sotw(n, CDS, { wildcard: true }))!;
      const w = record(h.cache.watchSotw(sotw(n, CDS, { wildcard: true, versionInfo: first.version })));
      h.set(CDS, [cluster("a"), cluster("b", 1)]);
      expect(names(w.one())).toEqual(["a", "b"]); // the unchanged "a" too
      const w2 = record(h.cache.watchSotw(sotw(n, CDS, { wildcard: true, versionInfo: w.one().version })));
      h.remove(CDS, ["b"]);
      expect(names(w2.one())).toEqual(["a"]);
      h.set(CDS, [cluster("a"), cluster("b")]);
    }
  });

  it("full-state-named-delete: a named full-state subscription whose resources are all deleted gets an empty answer", () => {
    h.set(CDS, [cluster("a")]);
    for (const n of h.nodes) {
      const first = answer(sotw(n, CDS, { names: ["a"] }))!;
      const lastSent = { version: first.version, names: new Set(["a"]), nacked: false };
      const w = record(h.cache.watchSotw(sotw(n, CDS, { names: ["a"], versionInfo: first.version, lastSent })));
      h.remove(CDS, ["a"]);
      expect(w.one().resources).toEqual([]);
      h.set(CDS, [cluster("a")]);
    }
  });

  it("resubscribe-resends: names added back after unsubscribing are sent again even if unchanged", () => {
    h.set(EDS, [cla("a"), cla("b")]);
    for (const n of h.nodes) {
      const ab = answer(sotw(n, EDS, { names: ["a", "b"] }))!;
      const onlyA = answer(
        sotw(n, EDS, {
          names: ["a"],
          versionInfo: ab.version,
          lastSent: { version: ab.version, names: new Set(["a", "b"]), nacked: false },
        }),
      )!;
      expect(names(onlyA)).toEqual(["a"]);
      const again = answer(
        sotw(n, EDS, {
          names: ["a", "b"],
          versionInfo: onlyA.version,
          lastSent: { version: onlyA.version, names: new Set(["a"]), nacked: false },
        }),
      )!;
      expect(names(again)).toEqual(["a", "b"]);
      // Even when the client's version already matches (server flags added names with forceResponse).
      expect(names(answer(sotw(n, EDS, { names: ["a", "b"], versionInfo: ab.version, forceResponse: true }))!)).toEqual(["a", "b"]);
    }
  });

  it("nack-no-resend: a NACKed version is not resent; the next different content is", () => {
    h.set(CDS, [cluster("a")]);
    for (const n of h.nodes) {
      const good = answer(sotw(n, CDS, { wildcard: true }))!;
      h.set(CDS, [cluster("a", 5)]);
      const bad = answer(sotw(n, CDS, { wildcard: true, versionInfo: good.version }))!;
      // The client NACKs `bad`: it keeps `good`, the server reports lastSent as nacked.
      const nacked = { version: bad.version, names: new Set(["a"]), nacked: true };
      const w = record(h.cache.watchSotw(sotw(n, CDS, { wildcard: true, versionInfo: good.version, lastSent: nacked })));
      expect(w.values).toEqual([]);
      expect(answer(sotw(n, CDS, { wildcard: true, versionInfo: good.version, lastSent: nacked, forceResponse: true }))).toBeUndefined();
      h.set(CDS, [cluster("a", 6)]);
      expect(w.one().version).not.toBe(bad.version);
      h.set(CDS, [cluster("a")]);
    }
  });

  it("warming: with forceResponse (after a cluster or listener was sent) unchanged endpoints are answered again", () => {
    h.set(EDS, [cla("a")]);
    for (const n of h.nodes) {
      const first = answer(sotw(n, EDS, { names: ["a"] }))!;
      expect(answer(sotw(n, EDS, { names: ["a"], versionInfo: first.version }))).toBeUndefined();
      const again = answer(sotw(n, EDS, { names: ["a"], versionInfo: first.version, forceResponse: true }))!;
      expect(again.version).toBe(first.version);
      expect(names(again)).toEqual(["a"]);
    }
  });

  it("no-duplicate-names: a response never holds the same name twice", () => {
    h.set(CDS, [cluster("a"), cluster("b")]);
    for (const n of h.nodes) {
      const r = answer(sotw(n, CDS, { wildcard: true, names: ["a", "a", "b"] }))!;
      expect(r.resources.map((e) => e.name)).toHaveLength(new Set(r.resources.map((e) => e.name)).size);
    }
  });

  it("ads-consistency-off: by default endpoints over ADS are answered with what is named", () => {
    h.set(EDS, [cla("a"), cla("b")]);
    for (const n of h.nodes) expect(names(answer(sotw(n, EDS, { ads: true, names: ["a"] }))!)).toEqual(["a"]);
  });

  it("ads-consistency-on: endpoints over ADS are held until the request names all of them", () => {
    h.dispose();
    h = make({ adsConsistency: true });
    h.set(EDS, [cla("a"), cla("b")]);
    for (const n of h.nodes) {
      expect(answer(sotw(n, EDS, { ads: true, names: ["a"] }))).toBeUndefined();
      expect(names(answer(sotw(n, EDS, { ads: false, names: ["a"] }))!)).toEqual(["a"]);
      expect(names(answer(sotw(n, EDS, { ads: true, names: ["a", "b"] }))!)).toEqual(["a", "b"]);
    }
  });

  it("ttl-heartbeat: a current client holding TTL resources gets heartbeats with the same version", () => {
    vi.useFakeTimers();
    try {
      h.dispose();
      h = make({ heartbeatIntervalMs: 1000 });
      const ttl = h.store.entry(SDS, secret("s1"), { ttlMs: 5000 });
      h.set(SDS, [ttl, secret("plain")]);
      for (const n of h.nodes) {
        const first = answer(sotw(n, SDS, { names: ["s1", "plain"] }))!;
        expect(first.resources.find((e) => e.name === "s1")!.ttlMs).toBe(5000);
        const sent = { version: first.version, names: new Set(["s1", "plain"]), nacked: false };
        const w = record(h.cache.watchSotw(sotw(n, SDS, { names: ["s1", "plain"], versionInfo: first.version, lastSent: sent })));
        expect(w.values).toEqual([]);
        vi.advanceTimersByTime(1000);
        const beat = w.one();
        expect(beat.heartbeat).toBe(true);
        expect(beat.version).toBe(first.version);
        expect(names(beat)).toEqual(["s1"]);
        // No TTL held: no heartbeat.
        const plain = answer(sotw(n, SDS, { names: ["plain"] }))!;
        const w2 = record(h.cache.watchSotw(sotw(n, SDS, { names: ["plain"], versionInfo: plain.version })));
        vi.advanceTimersByTime(3000);
        expect(w2.values).toEqual([]);
        w2.subscription.unsubscribe();
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it("ttl-reconnect: a client's first request on a new stream gets TTL resources again, even with the current version", () => {
    const ttl = h.store.entry(SDS, secret("s1"), { ttlMs: 5000 });
    h.set(SDS, [ttl, secret("plain")]);
    for (const n of h.nodes) {
      const first = answer(sotw(n, SDS, { names: ["s1", "plain"] }))!;
      // Reconnected after the TTL ran out: the client dropped "s1" but still sends the version.
      const again = answer(sotw(n, SDS, { names: ["s1", "plain"], versionInfo: first.version }))!;
      expect(again.version).toBe(first.version);
      expect(names(again).sort()).toEqual(["plain", "s1"]);
      // Without TTL resources, the current version is enough.
      const plain = answer(sotw(n, SDS, { names: ["plain"] }))!;
      expect(answer(sotw(n, SDS, { names: ["plain"], versionInfo: plain.version }))).toBeUndefined();
    }
  });

  it("xdstp-names: xdstp:// resource names are served like any other name", () => {
    const name = "xdstp://mesh.example/envoy.config.endpoint.v3.ClusterLoadAssignment/web?shard=1";
    h.set(EDS, [cla(name)]);
    for (const n of h.nodes) expect(names(answer(sotw(n, EDS, { names: [name] }))!)).toEqual([name]);
  });

  it("fetch: a one-shot fetch answers like a watch, undefined when current", async () => {
    h.set(CDS, [cluster("a")]);
    for (const n of h.nodes) {
      const r = (await h.cache.fetch({ node: n, typeUrl: CDS, names: new Set(), versionInfo: "" }))!;
      expect(names(r)).toEqual(["a"]);
      expect(await h.cache.fetch({ node: n, typeUrl: CDS, names: new Set(), versionInfo: r.version })).toBeUndefined();
    }
  });
});
