// Protocol rules of delta (incremental) watches, for both caches and every
// node group. Each test name starts with its row id in docs/protocol.md.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CDS, cla, cluster, delta, EDS, names, record, SDS, secret, withoutLegacyWildcard } from "./internal/fixtures.test.js";
import { HARNESSES, type Harness } from "./internal/harness.test.js";
import { NO_PENDING_CHANGES } from "./internal/watch-index.js";
import type { DeltaResponse, DeltaWatchRequest, ResourceEntry } from "./types.js";

describe.each(HARNESSES)("delta rules: $name", ({ make }) => {
  let h: Harness;
  beforeEach(() => {
    h = make();
  });
  afterEach(() => h.dispose());

  const answer = (req: DeltaWatchRequest): DeltaResponse | undefined => {
    const r = record(h.cache.watchDelta(req));
    r.subscription.unsubscribe();
    return r.values[0];
  };
  const held = (response: DeltaResponse): [string, string][] => response.resources.map((e: ResourceEntry) => [e.name, e.version]);

  it("delta-versions-per-resource: each resource carries its own version; unchanged ones are not resent", () => {
    h.set(EDS, [cla("a"), cla("b")]);
    for (const n of h.nodes) {
      const first = answer(delta(n, EDS, { names: ["a", "b"], forceNames: ["a", "b"] }))!;
      expect(names(first)).toEqual(["a", "b"]);
      const w = record(h.cache.watchDelta(delta(n, EDS, { names: ["a", "b"], clientVersions: held(first) })));
      expect(w.values).toEqual([]);
      h.set(EDS, [cla("a"), cla("b", 9)]);
      expect(names(w.one())).toEqual(["b"]);
      expect(w.one().removed).toEqual([]);
      h.set(EDS, [cla("a"), cla("b")]);
    }
  });

  it("delta-pending-per-watch: watches waiting side by side each see only the changes that reach them (the shared empty record is never filled)", () => {
    h.set(EDS, [cla("a"), cla("b")]);
    const n = h.nodes[0]!;
    const first = answer(delta(n, EDS, { names: ["a", "b"], forceNames: ["a", "b"] }))!;
    const watchA = record(h.cache.watchDelta(delta(n, EDS, { names: ["a"], clientVersions: held(first) })));
    const watchB = record(h.cache.watchDelta(delta(n, EDS, { names: ["b"], clientVersions: held(first) })));
    const watchAB = record(h.cache.watchDelta(delta(n, EDS, { names: ["a", "b"], clientVersions: held(first) })));
    h.set(EDS, [cla("a", 7), cla("b")]);
    expect(names(watchA.one())).toEqual(["a"]);
    expect(watchB.values).toEqual([]);
    expect(names(watchAB.one())).toEqual(["a"]);
    h.set(EDS, [cla("a", 7), cla("b", 8)]);
    expect(names(watchB.one())).toEqual(["b"]);
    expect(NO_PENDING_CHANGES.batches).toEqual([]);
    expect(NO_PENDING_CHANGES.size).toBe(0);
    expect(Object.isFrozen(NO_PENDING_CHANGES) && Object.isFrozen(NO_PENDING_CHANGES.batches)).toBe(true);
  });

  it("delta-versions-follow-content: a change that leaves content the same sends nothing", () => {
    h.set(CDS, [cluster("a")]);
    for (const n of h.nodes) {
      const first = answer(delta(n, CDS, { wildcard: true, forceResponse: true }))!;
      const w = record(h.cache.watchDelta(delta(n, CDS, { wildcard: true, clientVersions: held(first) })));
      h.touch();
      h.set(CDS, [cluster("a")]);
      expect(w.values).toEqual([]);
      w.subscription.unsubscribe();
    }
  });

  it("delta-initial-versions: on reconnect unchanged resources are not resent, changed ones are, and gone ones are removed", () => {
    h.set(EDS, [cla("a"), cla("b")]);
    for (const n of h.nodes) {
      const first = answer(delta(n, EDS, { names: ["a", "b", "c"], forceNames: ["a", "b", "c"] }))!;
      expect(first.removed).toEqual(["c"]);
      const versions = new Map(held(first));
      versions.set("c", "whatever-the-client-had");
      h.set(EDS, [cla("a", 1)]); // b gone, a changed
      const again = answer(delta(n, EDS, { names: ["a", "b", "c"], clientVersions: versions }))!;
      expect(names(again)).toEqual(["a"]);
      expect([...again.removed].sort()).toEqual(["b", "c"]);
      h.set(EDS, [cla("a"), cla("b")]);
    }
  });

  it("delta-initial-versions-current: a reconnecting client that is current gets nothing", () => {
    h.set(CDS, [cluster("a"), cluster("b")]);
    for (const n of h.nodes) {
      const first = answer(delta(n, CDS, { wildcard: true, forceResponse: true }))!;
      expect(answer(delta(n, CDS, { wildcard: true, clientVersions: held(first) }))).toBeUndefined();
    }
  });

  it("delta-subscribe-unsubscribe: subscribing adds names, wildcard covers everything, unsubscribed names are not sent", () => {
    h.set(EDS, [cla("a"), cla("b")]);
    h.set(CDS, [cluster("x"), cluster("y")]);
    for (const n of h.nodes) {
      const a = answer(delta(n, EDS, { names: ["a"], forceNames: ["a"] }))!;
      expect(names(a)).toEqual(["a"]);
      const w = record(h.cache.watchDelta(delta(n, EDS, { names: ["a"], clientVersions: held(a) })));
      h.set(EDS, [cla("a"), cla("b", 3)]); // b is not subscribed
      expect(w.values).toEqual([]);
      w.subscription.unsubscribe();
      const star = answer(delta(n, CDS, { wildcard: true, forceResponse: true }))!;
      expect(names(star)).toEqual(["x", "y"]);
      h.set(EDS, [cla("a"), cla("b")]);
    }
  });

  it("delta-resubscribe-resends: a name subscribed again is sent even if the client is believed to hold it", () => {
    h.set(EDS, [cla("a")]);
    for (const n of h.nodes) {
      const first = answer(delta(n, EDS, { names: ["a"], forceNames: ["a"] }))!;
      const again = answer(delta(n, EDS, { names: ["a"], clientVersions: held(first), forceNames: ["a"] }))!;
      expect(names(again)).toEqual(["a"]);
    }
  });

  it("delta-removed: deleted resources and subscribed names that never existed come back in removed", () => {
    h.set(EDS, [cla("a"), cla("b")]);
    for (const n of h.nodes) {
      const first = answer(delta(n, EDS, { names: ["a", "b", "ghost"], forceNames: ["a", "b", "ghost"] }))!;
      expect(first.removed).toEqual(["ghost"]);
      const w = record(h.cache.watchDelta(delta(n, EDS, { names: ["a", "b", "ghost"], clientVersions: held(first) })));
      expect(w.values).toEqual([]); // "ghost" is not repeated
      h.remove(EDS, ["b"]);
      expect(w.one().removed).toEqual(["b"]);
      expect(w.one().resources).toEqual([]);
      h.set(EDS, [cla("a"), cla("b")]);
    }
  });

  it("delta-removed-wildcard: a wildcard client is told about deletions", () => {
    h.set(CDS, [cluster("a"), cluster("b")]);
    for (const n of h.nodes) {
      const first = answer(delta(n, CDS, { wildcard: true, forceResponse: true }))!;
      const w = record(h.cache.watchDelta(delta(n, CDS, { wildcard: true, clientVersions: held(first) })));
      h.remove(CDS, ["a"]);
      expect(w.one().removed).toEqual(["a"]);
      h.set(CDS, [cluster("a"), cluster("b")]);
    }
  });

  it("delta-first-wildcard: the first wildcard request is answered even when there is nothing", () => {
    h.set(CDS, []);
    for (const n of h.nodes) {
      const r = answer(delta(n, CDS, { wildcard: true, forceResponse: true }))!;
      expect(r.resources).toEqual([]);
      expect(r.removed).toEqual([]);
      expect(answer(delta(n, CDS, { wildcard: true }))).toBeUndefined();
    }
  });

  it("delta-missing-names-sent-when-they-appear: a held name is sent once it exists", () => {
    h.set(EDS, []);
    for (const n of h.nodes) {
      const first = answer(delta(n, EDS, { names: ["later"], forceNames: ["later"] }))!;
      expect(first.removed).toEqual(["later"]);
      const w = record(h.cache.watchDelta(delta(n, EDS, { names: ["later"] })));
      expect(w.values).toEqual([]);
      h.set(EDS, [cla("later")]);
      expect(names(w.one())).toEqual(["later"]);
      h.set(EDS, []);
    }
  });

  it("delta-warming: forceNames resends unchanged endpoints after a cluster changed", () => {
    h.set(EDS, [cla("a")]);
    for (const n of h.nodes) {
      const first = answer(delta(n, EDS, { names: ["a"], forceNames: ["a"] }))!;
      expect(answer(delta(n, EDS, { names: ["a"], clientVersions: held(first) }))).toBeUndefined();
      expect(names(answer(delta(n, EDS, { names: ["a"], clientVersions: held(first), forceNames: ["a"] }))!)).toEqual(["a"]);
    }
  });

  it("delta-system-version: system_version_info is set and is for debugging only", () => {
    h.set(CDS, [cluster("a")]);
    for (const n of h.nodes) {
      const r = answer(delta(n, CDS, { wildcard: true, forceResponse: true }))!;
      expect(typeof r.systemVersion).toBe("string");
      expect(r.systemVersion).not.toBe("");
    }
  });

  it("delta-legacy-wildcard-off: with the type descriptor's legacyWildcard set to never, a legacy wildcard subscribes to nothing", () => {
    h.dispose();
    h = make({ resourceTypes: withoutLegacyWildcard(CDS) });
    h.set(CDS, [cluster("a")]);
    for (const n of h.nodes) {
      expect(answer(delta(n, CDS, { wildcard: true, legacyWildcard: true }))).toBeUndefined();
      expect(names(answer(delta(n, CDS, { wildcard: true }))!)).toEqual(["a"]);
    }
  });

  it("delta-xdstp-names: xdstp:// names are subscribed, sent and removed like any other name", () => {
    const name = "xdstp://mesh.example/envoy.config.endpoint.v3.ClusterLoadAssignment/web";
    h.set(EDS, [cla(name)]);
    for (const n of h.nodes) {
      const first = answer(delta(n, EDS, { names: [name], forceNames: [name] }))!;
      expect(names(first)).toEqual([name]);
      const w = record(h.cache.watchDelta(delta(n, EDS, { names: [name], clientVersions: held(first) })));
      h.remove(EDS, [name]);
      expect(w.one().removed).toEqual([name]);
      h.set(EDS, [cla(name)]);
    }
  });

  it("delta-wildcard-switch: adding * to a named subscription sends the rest; dropping it sends nothing new", () => {
    h.set(CDS, [cluster("a"), cluster("b")]);
    for (const n of h.nodes) {
      const named = answer(delta(n, CDS, { names: ["a"], forceNames: ["a"] }))!;
      const wide = answer(delta(n, CDS, { wildcard: true, names: ["a"], clientVersions: held(named), forceResponse: true }))!;
      expect(names(wide)).toEqual(["b"]);
      const holding = [...held(named), ...held(wide)];
      expect(answer(delta(n, CDS, { names: ["a"], clientVersions: holding.filter(([k]) => k === "a") }))).toBeUndefined();
    }
  });

  it("delta-no-duplicate-names: a name that is both subscribed and covered by the wildcard is sent once", () => {
    h.set(CDS, [cluster("a"), cluster("b")]);
    for (const n of h.nodes) {
      const r = answer(delta(n, CDS, { wildcard: true, names: ["a"], forceNames: ["a", "ghost"], clientVersions: [["gone", "1"]] }))!;
      expect(r.resources.map((e) => e.name).sort()).toEqual(["a", "b"]);
      expect([...r.removed].sort()).toEqual(["ghost", "gone"]);
      const first = held(r);
      const w = record(h.cache.watchDelta(delta(n, CDS, { wildcard: true, names: ["a"], clientVersions: first })));
      h.set(CDS, [cluster("a", 1), cluster("b")]);
      expect(w.one().resources.map((e) => e.name)).toEqual(["a"]);
      h.set(CDS, [cluster("a"), cluster("b")]);
    }
  });

  it("delta-ttl-heartbeat: a client holding current TTL resources gets heartbeats", () => {
    vi.useFakeTimers();
    try {
      h.dispose();
      h = make({ heartbeatIntervalMs: 500 });
      const ttl = h.store.entry(SDS, secret("s1"), { ttlMs: 2000 });
      h.set(SDS, [ttl, secret("plain")]);
      for (const n of h.nodes) {
        const first = answer(delta(n, SDS, { names: ["s1", "plain"], forceNames: ["s1", "plain"] }))!;
        const w = record(h.cache.watchDelta(delta(n, SDS, { names: ["s1", "plain"], clientVersions: held(first) })));
        expect(w.values).toEqual([]);
        vi.advanceTimersByTime(500);
        expect(w.one().heartbeat).toBe(true);
        expect(names(w.one())).toEqual(["s1"]);
        expect(w.one().resources[0]!.ttlMs).toBe(2000);
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
