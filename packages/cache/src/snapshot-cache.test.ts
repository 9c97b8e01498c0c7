import { ErrorCode, XdskitError } from "@xdskit/envoy-api";
import { Cluster, Cluster_DiscoveryType } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { createSnapshotValidator, type SnapshotValidator } from "@xdskit/resources";
import { afterEach, describe, expect, it } from "vitest";
import { EntryStore } from "./entry-store.js";
import { CDS, cla, cluster, EDS, LDS, listener, node, RDS, record, route, SDS, secret, sotw } from "./internal/fixtures.test.js";
import type { CacheWatch } from "./internal/watch.js";
import { groupByIdPrefix, groupByNodeCluster } from "./node-group.js";
import { InvalidSnapshotError, type SnapshotViolation } from "./snapshot.js";
import { SnapshotCache } from "./snapshot-cache.js";
import type { EntriesByType } from "./snapshot-cache-options.js";
import type { SotwResponse } from "./types.js";

const caches: SnapshotCache[] = [];
function make(options: ConstructorParameters<typeof SnapshotCache>[0] = {}): SnapshotCache {
  const cache = new SnapshotCache(options);
  caches.push(cache);
  return cache;
}
afterEach(() => {
  for (const c of caches.splice(0)) c.dispose();
});

function refused(fn: () => unknown): InvalidSnapshotError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSnapshotError);
    expect(XdskitError.is(error)).toBe(true);
    expect((error as XdskitError).code).toBe(ErrorCode.INVALID_SNAPSHOT);
    return error as InvalidSnapshotError;
  }
  throw new Error("expected the snapshot to be refused");
}

describe("SnapshotCache.setSnapshot", () => {
  it("refuse-empty-version: refuses an empty snapshot version with a clear error and keeps the previous snapshot", () => {
    const cache = make();
    cache.setSnapshot("g", { version: "1", resources: { [CDS]: [cluster("a")] } });
    const error = refused(() => cache.setSnapshot("g", { version: "", resources: { [CDS]: [] } }));
    expect(error.message).toMatch(/non-empty/);
    expect(error.message).toMatch(/fresh client also sends an empty version/);
    expect(cache.getSnapshot("g")!.version).toBe("1");
    refused(() => cache.updateResources("g", { version: "" }));
  });

  it("refuse-duplicate-names: refuses two resources of one type under one name, listing each", () => {
    const cache = make();
    const error = refused(() =>
      cache.setSnapshot("g", {
        version: "1",
        resources: { [CDS]: [cluster("a"), cluster("a", 1), cluster("b"), cluster("b")], [EDS]: [cla("x"), cla("x")] },
      }),
    );
    expect(error.violations.map((v) => `${v.typeUrl}|${v.name}`).sort()).toEqual([`${CDS}|a`, `${CDS}|b`, `${EDS}|x`]);
    expect(error.message).toMatch(/clients NACK duplicates/);
    expect(cache.getSnapshot("g")).toBeUndefined();
  });

  it("refuse-unnamed: a resource without a name is listed as a violation", () => {
    const cache = make();
    const error = refused(() => cache.setSnapshot("g", { version: "1", resources: { [CDS]: [cluster("")] } }));
    expect(error.violations[0]!.message).toMatch(/has no name/);
  });

  it("validator-refuse: an invalid snapshot is refused with the full list and the last good snapshot keeps serving", () => {
    const validator = (resources: Record<string, readonly { name: string }[]>): SnapshotViolation[] =>
      (resources[CDS] ?? []).filter((e) => e.name.startsWith("bad")).map((e) => ({ typeUrl: CDS, name: e.name, message: "bad name" }));
    const cache = make({ validator });
    const n = node("g");
    cache.setSnapshot("g", { version: "1", resources: { [CDS]: [cluster("ok")] } });
    const first = record(cache.watchSotw(sotw(n, CDS, { wildcard: true }))).one();
    const w = record(cache.watchSotw(sotw(n, CDS, { wildcard: true, versionInfo: first.version })));
    const error = refused(() => cache.setSnapshot("g", { version: "2", resources: { [CDS]: [cluster("bad1"), cluster("bad2")] } }));
    expect(error.violations).toHaveLength(2);
    expect(error.message).toMatch(/bad1/);
    expect(error.message).toMatch(/bad2/);
    expect(cache.getSnapshot("g")!.version).toBe("1");
    expect(w.values).toEqual([]);
  });

  it("validator-resources: the @xdskit/resources snapshot validator plugs in and refuses a snapshot with a missing EDS reference under strictReferences", () => {
    const cache = make({ validator: createSnapshotValidator({ strictReferences: true }) });
    cache.setSnapshot("g", { version: "1", resources: { [CDS]: [cluster("a")], [EDS]: [cla("a")] } });
    const error = refused(() =>
      cache.setSnapshot("g", { version: "2", resources: { [CDS]: [cluster("a"), cluster("b")], [EDS]: [cla("a")] } }),
    );
    expect(error.violations.some((v) => v.name === "b" && /b/.test(v.message + (v.path ?? "")))).toBe(true);
    expect(cache.getSnapshot("g")!.version).toBe("1");
  });

  it("validator-dangling-warns: by default a cluster whose endpoints are not in the snapshot is served, and the change and the log carry a warning", () => {
    const lines: string[] = [];
    const logger = { debug() {}, info() {}, warn: (_: object, message: string) => lines.push(message), error() {} };
    const cache = make({ validator: createSnapshotValidator(), logger });
    const change = cache.setSnapshot("g", { version: "2", resources: { [CDS]: [cluster("a"), cluster("b")], [EDS]: [cla("a")] } });
    expect(cache.getSnapshot("g")!.version).toBe("2");
    expect(change.violations).toEqual([
      expect.objectContaining({ typeUrl: CDS, name: "b", rule: "reference.missing", severity: "warning" }),
    ]);
    expect(lines.join("\n")).toMatch(
      /snapshot "2" for group "g" is served with 1 warning \(clients wait for what is missing\): .*"b".*not in the snapshot/,
    );
  });

  it("validator-dangling-warns: structural violations stay errors and still refuse, with the warnings left out of the refusal", () => {
    const cache = make({ validator: createSnapshotValidator({ profile: "grpc" }) });
    const bad = Cluster.fromPartial({ name: "s", type: Cluster_DiscoveryType.STATIC, connectTimeout: { seconds: 1 } });
    const error = refused(() => cache.setSnapshot("g", { version: "1", resources: { [CDS]: [bad, cluster("b")] } }));
    expect(error.violations.length).toBeGreaterThan(0);
    expect(error.violations.every((v) => v.severity !== "warning")).toBe(true);
    expect(error.violations.some((v) => v.name === "s")).toBe(true);
  });

  it("validator-report: in report mode the snapshot is set and the violations are returned", () => {
    const cache = make({ validator: () => [{ message: "meh" }], validation: "report" });
    const change = cache.setSnapshot("g", { version: "1", resources: { [CDS]: [cluster("a")] } });
    expect(change.violations).toEqual([{ message: "meh" }]);
    expect(cache.getSnapshot("g")).toBeDefined();
  });

  it("validator-once-per-snapshot: one snapshot set on many groups is validated once", () => {
    let calls = 0;
    const cache = make({
      validator: () => {
        calls++;
        return [];
      },
    });
    const snapshot = cache.createSnapshot({ version: "1", resources: { [CDS]: [cluster("a")] } });
    for (let i = 0; i < 50; i++) cache.setSnapshot(`g${i}`, snapshot);
    expect(calls).toBe(1);
  });

  it("validator-per-group: each node group is checked with the validator its key picks", () => {
    // An EDS cluster without its endpoints: fine for the lenient validator, refused by the strict one.
    const seen: string[] = [];
    const strict: SnapshotValidator<SnapshotViolation, EntriesByType> = (resources) => {
      seen.push("strict");
      // The cache passes a plain object of entry lists by type URL.
      return ((resources as Record<string, readonly unknown[]>)[EDS] ?? []).length === 0
        ? [{ typeUrl: CDS, name: "a", message: "no endpoints" }]
        : [];
    };
    const lenient: SnapshotValidator<SnapshotViolation, EntriesByType> = () => {
      seen.push("lenient");
      return [];
    };
    const cache = make({ validatorForGroup: (group) => (group.startsWith("grpc-") ? strict : group === "raw" ? undefined : lenient) });
    const snapshot = cache.createSnapshot({ version: "1", resources: { [CDS]: [cluster("a")] } });
    cache.setSnapshot("envoy-1", snapshot);
    cache.setSnapshot("envoy-2", snapshot);
    cache.setSnapshot("raw", snapshot);
    const error = refused(() => cache.setSnapshot("grpc-1", snapshot));
    expect(error.violations).toEqual([{ typeUrl: CDS, name: "a", message: "no endpoints" }]);
    expect(cache.getSnapshot("grpc-1")).toBeUndefined();
    expect(cache.getSnapshot("envoy-2")?.version).toBe("1");
    // Once per distinct validator, however many groups share the snapshot.
    expect(seen).toEqual(["lenient", "strict"]);
    expect(() => make({ validator: lenient, validatorForGroup: () => strict })).toThrow(/validatorForGroup.*without validator/);
  });

  it("diff-by-content: the change reports only types whose content changed", () => {
    const cache = make();
    cache.setSnapshot("g", { version: "1", resources: { [CDS]: [cluster("a")], [EDS]: [cla("a")] } });
    const change = cache.setSnapshot("g", { version: "2", resources: { [CDS]: [cluster("a")], [EDS]: [cla("a", 1)] } });
    expect(change.changedTypes).toEqual([EDS]);
    const before = cache.getSnapshot("g")!;
    const same = cache.setSnapshot("g", { version: "3", resources: { [CDS]: [cluster("a")], [EDS]: [cla("a", 1)] } });
    expect(same.changedTypes).toEqual([]);
    expect(same.snapshot.resources[CDS]).toBe(before.resources[CDS]); // structural sharing
  });

  it("snapshot-frozen: snapshots, their types and entries are frozen", () => {
    const cache = make();
    const { snapshot } = cache.setSnapshot("g", { version: "1", resources: { [CDS]: [cluster("a")] } });
    expect(Object.isFrozen(snapshot)).toBe(true);
    expect(Object.isFrozen(snapshot.resources)).toBe(true);
    expect(Object.isFrozen(snapshot.resources[CDS])).toBe(true);
    expect(Object.isFrozen(snapshot.resources[CDS]!.entries)).toBe(true);
    expect(Object.isFrozen(snapshot.resources[CDS]!.entries.a)).toBe(true);
  });
});

describe("SnapshotCache.updateResources", () => {
  it("keeps unchanged entries and types (immer) and wakes only the changed names", () => {
    const cache = make();
    const n = node("g");
    cache.setSnapshot("g", { version: "1", resources: { [CDS]: [cluster("a")], [EDS]: [cla("a"), cla("b")] } });
    const before = cache.getSnapshot("g")!;
    const va = record(cache.watchSotw(sotw(n, EDS, { names: ["a"] }))).one().version;
    const vb = record(cache.watchSotw(sotw(n, EDS, { names: ["b"] }))).one().version;
    const wa = record(cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: va })));
    const wb = record(cache.watchSotw(sotw(n, EDS, { names: ["b"], versionInfo: vb })));
    const change = cache.updateResources("g", { version: "2", upsert: { [EDS]: [cla("b", 1)] } });
    expect(change.changedTypes).toEqual([EDS]);
    const after = cache.getSnapshot("g")!;
    expect(after.version).toBe("2");
    expect(after.resources[CDS]).toBe(before.resources[CDS]);
    expect(after.resources[EDS]!.entries.a).toBe(before.resources[EDS]!.entries.a);
    expect(Object.isFrozen(after.resources[EDS]!.entries)).toBe(true);
    expect(wa.values).toEqual([]);
    expect(wb.one().resources[0]!.name).toBe("b");
  });

  it("computes the same type version as a full snapshot with the same content", () => {
    const cache = make();
    cache.setSnapshot("g", { version: "1", resources: { [EDS]: [cla("a"), cla("b")] } });
    cache.updateResources("g", { version: "2", upsert: { [EDS]: [cla("c")] }, remove: { [EDS]: ["a"] } });
    cache.setSnapshot("h", { version: "1", resources: { [EDS]: [cla("c"), cla("b")] } });
    expect(cache.getSnapshot("g")!.resources[EDS]!.version).toBe(cache.getSnapshot("h")!.resources[EDS]!.version);
    expect(Object.keys(cache.getSnapshot("g")!.resources[EDS]!.entries).sort()).toEqual(["b", "c"]);
  });

  it("starts from an empty snapshot for a new group and refuses duplicates in one update", () => {
    const cache = make();
    cache.updateResources("new", { version: "1", upsert: { [CDS]: [cluster("a")] } });
    expect(Object.keys(cache.getSnapshot("new")!.resources[CDS]!.entries)).toEqual(["a"]);
    refused(() => cache.updateResources("new", { version: "2", upsert: { [CDS]: [cluster("b"), cluster("b", 1)] } }));
    expect(cache.getSnapshot("new")!.version).toBe("1");
  });
});

describe("SnapshotCache groups", () => {
  it("node-grouping: the key function decides the group (id, cluster, id prefix, custom)", () => {
    const byPrefix = make({ nodeGroup: groupByIdPrefix });
    expect(byPrefix.groupOf(node("front-7f9c"))).toBe("front");
    expect(byPrefix.groupOf(node("solo"))).toBe("solo");
    const byCluster = make({ nodeGroup: groupByNodeCluster });
    expect(byCluster.groupOf(node("x", "svc"))).toBe("svc");
    const byId = make();
    expect(byId.groupOf(node("x", "svc"))).toBe("x");
    const custom = make({ nodeGroup: (n) => (n.id.endsWith("canary") ? "canary" : "stable") });
    expect(custom.groupOf(node("a-canary"))).toBe("canary");
  });

  it("group-isolation: a change to one group wakes only that group's watches", () => {
    const cache = make({ nodeGroup: groupByIdPrefix });
    for (const g of ["g1", "g2"]) cache.setSnapshot(g, { version: "1", resources: { [CDS]: [cluster("a")] } });
    const w = ["g1", "g2"].map((g) => {
      const n = node(`${g}-x`);
      const v = record(cache.watchSotw(sotw(n, CDS, { wildcard: true }))).one().version;
      return record(cache.watchSotw(sotw(n, CDS, { wildcard: true, versionInfo: v })));
    });
    cache.setSnapshot("g1", { version: "2", resources: { [CDS]: [cluster("a", 1)] } });
    expect(w[0]!.values).toHaveLength(1);
    expect(w[1]!.values).toEqual([]);
  });

  it("group-once-per-watch: nodeGroup runs once for a watch opened where it is made (CacheWatch.open), again at each subscription, and its throw still errors the watch", () => {
    let calls = 0;
    let fail = false;
    const cache = make({
      nodeGroup: (n) => {
        calls += 1;
        if (fail) throw new Error("no group for you");
        return n.id;
      },
    });
    cache.setSnapshot("a", { version: "1", resources: { [CDS]: [cluster("a")] } });
    const opened: SotwResponse[] = [];
    (cache.watchSotw(sotw(node("a"), CDS, { wildcard: true })) as CacheWatch<SotwResponse>).open({
      next: (r) => opened.push(r),
      error: () => {},
    });
    expect(opened).toHaveLength(1);
    expect(calls).toBe(1);
    // A subscription (which may come any time after the watch was made) places the watch afresh.
    const cold = cache.watchSotw(sotw(node("a"), CDS, { wildcard: true }));
    expect(calls).toBe(2);
    expect(record(cold).values).toHaveLength(1);
    expect(record(cold).values).toHaveLength(1);
    expect(calls).toBe(4);
    fail = true;
    const failed = record(cache.watchSotw(sotw(node("a"), CDS, { wildcard: true })));
    expect(failed.values).toEqual([]);
    expect((failed.error as Error).message).toMatch(/no group for you/);
  });

  it("index-reuse: watches answered at once keep the group's index; a watch waiting there is still woken, and cancelled watches leave none open", () => {
    const cache = make();
    cache.setSnapshot("n", { version: "1", resources: { [CDS]: [cluster("a")] } });
    const n = node("n");
    // Answered at once (never waits in the index), over and over.
    let version = "";
    for (let i = 0; i < 3; i++) version = record(cache.watchSotw(sotw(n, CDS, { wildcard: true }))).one().version;
    const waiting = record(cache.watchSotw(sotw(n, CDS, { wildcard: true, versionInfo: version })));
    const cancelled = record(cache.watchSotw(sotw(n, CDS, { wildcard: true, versionInfo: version })));
    expect(cache.openWatches).toBe(2);
    cancelled.subscription.unsubscribe();
    expect(cache.openWatches).toBe(1);
    cache.setSnapshot("n", { version: "2", resources: { [CDS]: [cluster("a", 1)] } });
    expect(waiting.values).toHaveLength(1);
    expect(cache.openWatches).toBe(0);
    // A group without a snapshot: its watch waits, and cancelling it leaves nothing open.
    const lone = record(cache.watchSotw(sotw(node("lone"), CDS, { wildcard: true })));
    expect(cache.openWatches).toBe(1);
    lone.subscription.unsubscribe();
    expect(cache.openWatches).toBe(0);
  });

  it("groups-share-entries: groups built from the same objects hold the very same entry objects", () => {
    const cache = make();
    const resources = { [CDS]: [cluster("a")], [EDS]: [cla("a")] };
    for (let i = 0; i < 10; i++) cache.setSnapshot(`g${i}`, { version: "1", resources });
    const e0 = cache.getSnapshot("g0")!.resources[CDS]!.entries.a;
    for (let i = 1; i < 10; i++) expect(cache.getSnapshot(`g${i}`)!.resources[CDS]!.entries.a).toBe(e0);
    // Equal content from different objects is interned too.
    cache.setSnapshot("other", { version: "1", resources: { [CDS]: [cluster("a")] } });
    expect(cache.getSnapshot("other")!.resources[CDS]!.entries.a).toBe(e0);
  });

  it("encode-count: encodes follow resources, not watchers or node groups", () => {
    let encodes = 0;
    const entries = new EntryStore({ onEncode: () => encodes++ });
    const cache = make({ entries, nodeGroup: groupByIdPrefix });
    const clusters = Array.from({ length: 20 }, (_, i) => cluster(`c${i}`));
    const endpoints = Array.from({ length: 20 }, (_, i) => cla(`c${i}`));
    const snapshot = cache.createSnapshot({ version: "1", resources: { [CDS]: clusters, [EDS]: endpoints } });
    expect(encodes).toBe(40);
    for (let g = 0; g < 100; g++) cache.setSnapshot(`g${g}`, snapshot);
    for (let g = 0; g < 100; g++) cache.setSnapshot(`h${g}`, { version: "1", resources: { [CDS]: clusters, [EDS]: endpoints } });
    const watches = [];
    for (let g = 0; g < 100; g++) {
      for (let k = 0; k < 3; k++) {
        watches.push(record(cache.watchSotw(sotw(node(`g${g}-${k}`), CDS, { wildcard: true }))));
        watches.push(record(cache.watchSotw(sotw(node(`h${g}-${k}`), EDS, { names: ["c1", "c2"] }))));
      }
    }
    expect(watches.every((w) => w.values.length === 1)).toBe(true);
    expect(encodes).toBe(40);
    expect(entries.encodeCount).toBe(40);
    // One changed resource: one more encode, whatever the number of groups.
    const changed = cluster("c3", 1);
    for (let g = 0; g < 100; g++) cache.updateResources(`g${g}`, { version: "2", upsert: { [CDS]: [changed] } });
    expect(encodes).toBe(41);
  });

  it("wake-order: one change wakes clusters, then endpoints, then listeners, then routes (make before break)", () => {
    const cache = make();
    const n = node("g");
    const order: string[] = [];
    cache.setSnapshot("g", {
      version: "1",
      resources: { [CDS]: [cluster("a")], [EDS]: [cla("a")], [LDS]: [listener("l", "r")], [RDS]: [route("r")] },
    });
    const watchType = (typeUrl: string, sub: { wildcard?: boolean; names?: string[] }): void => {
      const v = record(cache.watchSotw(sotw(n, typeUrl, sub))).one().version;
      cache.watchSotw(sotw(n, typeUrl, { ...sub, versionInfo: v })).subscribe(() => order.push(typeUrl));
    };
    watchType(RDS, { names: ["r"] });
    watchType(LDS, { wildcard: true });
    watchType(EDS, { names: ["a"] });
    watchType(CDS, { wildcard: true });
    cache.setSnapshot("g", {
      version: "2",
      resources: { [RDS]: [route("r", "b")], [LDS]: [listener("l", "r", 1)], [EDS]: [cla("a", 1)], [CDS]: [cluster("a", 1)] },
    });
    expect(order).toEqual([CDS, EDS, LDS, RDS]);
  });

  it("clearSnapshot: open watches stay held and are answered by the next snapshot", () => {
    const cache = make();
    const n = node("g");
    cache.setSnapshot("g", { version: "1", resources: { [CDS]: [cluster("a")] } });
    expect(cache.clearSnapshot("g")).toBe(true);
    expect(cache.clearSnapshot("g")).toBe(false);
    const w = record(cache.watchSotw(sotw(n, CDS, { wildcard: true })));
    expect(w.values).toEqual([]);
    expect(cache.groups()).toEqual([]);
    cache.setSnapshot("g", { version: "2", resources: { [CDS]: [cluster("b")] } });
    expect(w.one().resources[0]!.name).toBe("b");
  });

  it("absent-types: each type a snapshot lacks is answered under its own type URL", () => {
    // Regression: the views of absent types shared one cache slot, so the
    // second absent type was answered under the first one's type URL.
    const cache = make();
    const n = node("g");
    cache.setSnapshot("g", { version: "1", resources: { [CDS]: [cluster("a")] } });
    const listeners = record(cache.watchSotw(sotw(n, LDS, { wildcard: true })));
    expect(listeners.one().typeUrl).toBe(LDS);
    const routes = record(
      cache.watchDelta({ ...sotw(n, RDS, { names: ["r"] }), clientVersions: new Map(), forceNames: new Set(["r"]), forceResponse: false }),
    );
    expect(routes.one().typeUrl).toBe(RDS);
    expect(routes.one().removed).toEqual(["r"]);
  });

  it("no-snapshot-held: watches of a group without a snapshot wait, for SotW and delta", () => {
    const cache = make();
    const n = node("later");
    const s = record(cache.watchSotw(sotw(n, CDS, { wildcard: true })));
    const d = record(
      cache.watchDelta({ ...sotw(n, CDS, { wildcard: true }), clientVersions: new Map(), forceNames: new Set(), forceResponse: true }),
    );
    expect(s.values).toEqual([]);
    expect(d.values).toEqual([]);
    cache.setSnapshot("later", { version: "1", resources: { [CDS]: [cluster("a")] } });
    expect(s.values).toHaveLength(1);
    expect(d.values).toHaveLength(1);
  });
});

describe("SnapshotCache.validateReferences", () => {
  it("lists every missing EDS, RDS and SDS reference, per group", () => {
    const cache = make();
    cache.setSnapshot("g1", {
      version: "1",
      resources: {
        [CDS]: [cluster("a"), cluster("b", 0, { eds: "b-eds", secret: "tls" })],
        [EDS]: [cla("a")],
        [LDS]: [listener("l", "r1")],
        [RDS]: [],
        [SDS]: [],
      },
    });
    cache.setSnapshot("g2", {
      version: "1",
      resources: {
        [CDS]: [cluster("a")],
        [EDS]: [cla("a")],
        [LDS]: [listener("l", "r1")],
        [RDS]: [route("r1", "a")],
        [SDS]: [secret("x")],
      },
    });
    const missing = cache.validateReferences();
    expect(missing.map((m) => `${m.group} ${m.name} -> ${m.referenceName}`).sort()).toEqual(["g1 b -> b-eds", "g1 b -> tls", "g1 l -> r1"]);
    const eds = missing.find((m) => m.referenceName === "b-eds")!;
    expect(eds.referenceTypeUrl).toBe(EDS);
    expect(eds.path).toBe("eds_cluster_config.service_name");
    expect(missing.find((m) => m.referenceName === "tls")!.referenceTypeUrl).toBe(SDS);
    expect(missing.find((m) => m.referenceName === "r1")!.referenceTypeUrl).toBe(RDS);
    expect(cache.validateReferences("g2")).toEqual([]);
  });
});

describe("SnapshotCache options", () => {
  it("rejects bad options naming the option, what was expected and what arrived", () => {
    expect(() => new SnapshotCache({ validation: "strict" as never })).toThrow(
      /option "validation" must be "refuse" or "report"; got "strict"/,
    );
    expect(() => new SnapshotCache({ heartbeatIntervalMs: -1 })).toThrow(
      /option "heartbeatIntervalMs" must be a number of milliseconds >= 0; got -1/,
    );
    expect(() => new SnapshotCache({ nodeGroup: "id" as never })).toThrow(/option "nodeGroup" must be a function; got "id"/);
    expect(() => new SnapshotCache({ legacyWildcard: false } as never)).toThrow(/option "legacyWildcard" must be one of the known options/);
    expect(() => new SnapshotCache({ heartbeat: 5 } as never)).toThrow(/option "heartbeat"/);
    try {
      new SnapshotCache({ adsConsistency: 1 as never });
    } catch (error) {
      expect((error as XdskitError).code).toBe(ErrorCode.INVALID_OPTION);
    }
  });

  it("exposes the resolved options with defaults", () => {
    const cache = make();
    expect(cache.options.validation).toBe("refuse");
    expect(cache.options.adsConsistency).toBe(false);
    expect(Object.isFrozen(cache.options)).toBe(true);
  });
});

describe("versions labelled per group", () => {
  it("groups served the same snapshot share its labelled entries; a group with another history keeps its own labels", () => {
    const cache = new SnapshotCache();
    const one = cache.createSnapshot({ version: "r1", resources: { [CDS]: [cluster("a")] } });
    const watch = (group: string) => {
      let version = "";
      let entry: unknown;
      cache
        .watchSotw({
          streamId: 1,
          node: { id: group } as never,
          typeUrl: CDS,
          ads: true,
          wildcard: true,
          names: new Set(),
          versionInfo: "",
          forceResponse: false,
        })
        .subscribe((r) => {
          version = r.version;
          entry = r.resources[0];
        });
      return { version, entry };
    };
    cache.setSnapshot("g1", one);
    cache.setSnapshot("g2", one);
    const a = watch("g1");
    const b = watch("g2");
    expect(a.version).toMatch(/^r1~/);
    expect(b.entry).toBe(a.entry); // one labelled entry object for both groups
    cache.setSnapshot("g3", { version: "r0", resources: {} });
    cache.setSnapshot("g3", one);
    expect(watch("g3").version).toMatch(/^r1~/);
    cache.dispose();
  });
});
