import { ErrorCode, XdskitError } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { CDS, cla, cluster, EDS, LDS, names, node, record, sotw } from "./internal/fixtures.test.js";
import { LinearCache } from "./linear-cache.js";
import { MuxCache } from "./mux-cache.js";
import { SnapshotCache } from "./snapshot-cache.js";

describe("MuxCache", () => {
  it("routes each type URL to its cache, with a fallback", async () => {
    const endpoints = new LinearCache({ typeUrl: EDS, resources: [cla("a")] });
    const snapshots = new SnapshotCache();
    snapshots.setSnapshot("n", { version: "1", resources: { [CDS]: [cluster("a")] } });
    const mux = new MuxCache({ caches: { [EDS]: endpoints }, fallback: snapshots });
    expect(mux.cacheFor(EDS)).toBe(endpoints);
    expect(mux.cacheFor(CDS)).toBe(snapshots);
    expect(names(record(mux.watchSotw(sotw(node("n"), EDS, { names: ["a"] }))).one())).toEqual(["a"]);
    expect(names(record(mux.watchSotw(sotw(node("n"), CDS, { wildcard: true }))).one())).toEqual(["a"]);
    expect(names((await mux.fetch({ node: node("n"), typeUrl: EDS, names: new Set(["a"]), versionInfo: "" }))!)).toEqual(["a"]);
    endpoints.dispose();
    snapshots.dispose();
  });

  it("an unserved type errors the watch (and rejects the fetch) naming the served types", async () => {
    const endpoints = new LinearCache({ typeUrl: EDS });
    const mux = new MuxCache({ caches: { [EDS]: endpoints } });
    const r = record(mux.watchSotw(sotw(node("n"), LDS, { wildcard: true })));
    expect((r.error as XdskitError).code).toBe(ErrorCode.API_MISUSE);
    expect(String(r.error)).toMatch(/no cache serves .*Listener; served: .*ClusterLoadAssignment/);
    await expect(mux.fetch({ node: node("n"), typeUrl: LDS, names: new Set(), versionInfo: "" })).rejects.toSatisfy(XdskitError.is);
    endpoints.dispose();
  });

  it("rejects bad options", () => {
    expect(() => new MuxCache({ caches: { [EDS]: {} as never } })).toThrow(/caches\[".*ClusterLoadAssignment"\]" must be a cache/);
    expect(() => new MuxCache({} as never)).toThrow(/option "caches"/);
  });
});
