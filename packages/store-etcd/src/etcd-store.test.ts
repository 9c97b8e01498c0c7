// What the etcd store does when etcd goes away and comes back, against a real
// etcd server. The contract every store keeps is tested in
// packages/conformance/src/store-contract.test.ts.
import { ErrorCode } from "@xdskit/envoy-api";
import type { StoreEvent } from "@xdskit/stores";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdConfigStore } from "./etcd-store.js";
import { EtcdTestServer, findEtcdBinary, freePort } from "./testing/etcd-server.js";

const skip = process.env.XDSKIT_SKIP_TOOLS === "1" && findEtcdBinary() === undefined;
let etcd: EtcdTestServer;
beforeAll(async () => {
  if (!skip) etcd = await EtcdTestServer.start();
}, 30_000);
afterAll(async () => {
  await etcd?.destroy();
});

describe.skipIf(skip)("EtcdConfigStore with a real etcd", () => {
  it("refuses bad options with the option's name", () => {
    expect(() => EtcdConfigStore.create({ endpoints: [] })).toThrow(/option "endpoints" must be a non-empty list of etcd client URLs/);
    expect(() => EtcdConfigStore.create({ endpoints: ["127.0.0.1:2379"] })).toThrow(/endpoints/);
    expect(() => EtcdConfigStore.create({ endpoints: [etcd.endpoint], prefix: "" })).toThrow(/option "prefix"/);
  });

  it("connect to an etcd that is not there fails with XDSKIT_STORE_FAILED naming the endpoint", async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const failure = EtcdConfigStore.connect({ endpoints: [endpoint], dialTimeoutMs: 500, callTimeoutMs: 500 });
    await expect(failure).rejects.toMatchObject({ code: ErrorCode.STORE_FAILED });
    await expect(failure).rejects.toThrow(endpoint);
  });

  it("keys of two prefixes do not see each other", async () => {
    const a = await EtcdConfigStore.connect({ endpoints: [etcd.endpoint], prefix: "/iso-a/" });
    const b = await EtcdConfigStore.connect({ endpoints: [etcd.endpoint], prefix: "/iso-b/" });
    await a.put("groups/x", 1);
    expect(await b.get("groups/x")).toBeUndefined();
    expect((await b.list()).entries).toEqual([]);
    expect(a.description).toBe(`etcd:${etcd.endpoint}/iso-a/`);
    await Promise.all([a.close(), b.close()]);
  });

  it("a value that is not JSON (written by another tool) is reported with its key", async () => {
    const store = await EtcdConfigStore.connect({ endpoints: [etcd.endpoint], prefix: "/foreign/" });
    await store.client.put("/foreign/groups/x").value("not json");
    await expect(store.get("groups/x")).rejects.toThrow(/etcd key groups\/x does not hold JSON/);
    await store.close();
  });

  it("while etcd is down calls fail fast with XDSKIT_STORE_FAILED; a watch resumes when it returns and misses nothing", async () => {
    const store = await EtcdConfigStore.connect({ endpoints: [etcd.endpoint], prefix: "/outage/", callTimeoutMs: 1000 });
    const from = await store.put("groups/a", { v: 1 });
    const seen: StoreEvent[] = [];
    const errors: unknown[] = [];
    const subscription = store.watch("groups/", from).subscribe({ next: (e) => seen.push(e), error: (e) => errors.push(e) });
    const reachability: boolean[] = [];
    store.reachable.subscribe((r) => reachability.push(r));
    await store.put("groups/a", { v: 2 });
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(1);

    await etcd.stop();
    const started = Date.now();
    await expect(store.put("groups/a", { v: 3 })).rejects.toMatchObject({ code: ErrorCode.STORE_FAILED });
    await expect(store.get("groups/a")).rejects.toThrow(/is etcd at .* reachable/);
    expect(Date.now() - started).toBeLessThan(15_000);

    expect(store.isReachable).toBe(false);
    expect(await store.ping()).toBe(false);

    await etcd.resume();
    // No circuit breaker holds calls back after the outage: the first write goes through.
    await store.put("groups/b", { v: 1 });
    expect(store.isReachable).toBe(true);
    await expect.poll(() => seen.length, { timeout: 20_000 }).toBe(2);
    expect(seen.map((e) => (e.kind === "put" ? e.entry.key : e.key))).toEqual(["groups/a", "groups/b"]);
    expect(errors).toEqual([]);
    expect(reachability).toEqual([true, false, true]);
    // The acknowledged write before the outage is there; the failed one is not.
    expect((await store.get("groups/a"))?.value).toEqual({ v: 2 });
    subscription.unsubscribe();
    await store.close();
  }, 60_000);
});
