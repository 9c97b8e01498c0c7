// The ConfigStore contract: what every store promises, run against each
// implementation (memory, state directory, etcd) by store-contract.test.ts.
// Revisions are compared relative to the store's revision at the start of a
// test, because an etcd store's revisions count every write to that etcd.
import { ErrorCode } from "@xdskit/envoy-api";
import type { ConfigStore } from "@xdskit/stores";
import { firstValueFrom, take, toArray } from "rxjs";
import { describe, expect, it } from "vitest";

/** One store implementation under test. */
export interface StoreSubject {
  /** A fresh, empty store (its own prefix or directory). */
  make(): Promise<ConfigStore>;
  /** Makes the store forget the changes up to `revision`, as etcd's compaction does (no-op for stores that keep a bounded log of 3). */
  forgetHistory(store: ConfigStore, revision: number): Promise<void>;
}

export function describeStoreContract(name: string, subject: StoreSubject, options: { skip?: boolean } = {}): void {
  describe.skipIf(options.skip ?? false)(`${name} (the ConfigStore contract)`, () => {
    it("numbers every write with the next store revision and keeps create/mod revisions per key", async () => {
      const store = await subject.make();
      const r0 = await store.revision();
      expect(await store.put("groups/a", { v: 1 })).toBe(r0 + 1);
      expect(await store.put("groups/b", { v: 1 })).toBe(r0 + 2);
      expect(await store.put("groups/a", { v: 2 })).toBe(r0 + 3);
      expect(await store.revision()).toBe(r0 + 3);
      expect(await store.get("groups/a")).toEqual({ key: "groups/a", value: { v: 2 }, createRevision: r0 + 1, modRevision: r0 + 3 });
      const listing = await store.list("groups/");
      expect(listing.revision).toBe(r0 + 3);
      expect(listing.entries.map((e) => e.key)).toEqual(["groups/a", "groups/b"]);
      expect((await store.list()).entries.map((e) => e.key)).toEqual(["groups/a", "groups/b"]);
      expect(await store.delete("groups/b")).toBe(r0 + 4);
      expect(await store.delete("groups/b")).toBeUndefined();
      expect(await store.get("groups/b")).toBeUndefined();
      await store.close();
    });

    it("compare-and-set: a write with a stale expectedRevision is refused and changes nothing", async () => {
      const store = await subject.make();
      const first = await store.put("k", "one", { expectedRevision: 0 });
      await expect(store.put("k", "again", { expectedRevision: 0 })).rejects.toMatchObject({ code: ErrorCode.STORE_CONFLICT, path: "k" });
      const second = await store.put("k", "two", { expectedRevision: first });
      await expect(store.put("k", "lost", { expectedRevision: first })).rejects.toThrow(
        `expected revision ${first} but the key is at revision ${second}`,
      );
      await expect(store.delete("k", { expectedRevision: first })).rejects.toMatchObject({ code: ErrorCode.STORE_CONFLICT });
      await expect(store.put("missing", 1, { expectedRevision: first })).rejects.toThrow(/does not exist/);
      expect((await store.get("k"))?.value).toBe("two");
      expect(await store.delete("k", { expectedRevision: second })).toBe(second + 1);
      await store.close();
    });

    it("concurrent compare-and-set writes from the same read: exactly one wins", async () => {
      const store = await subject.make();
      const base = await store.put("race", 0);
      const results = await Promise.allSettled([1, 2, 3, 4].map((i) => store.put("race", i, { expectedRevision: base })));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results) if (r.status === "rejected") expect(r.reason).toMatchObject({ code: ErrorCode.STORE_CONFLICT });
      await store.close();
    });

    it("stored values are copies, frozen: the caller's object can change afterwards", async () => {
      const store = await subject.make();
      const value = { list: [1] };
      await store.put("k", value);
      value.list.push(2);
      const entry = await store.get("k");
      expect(entry?.value).toEqual({ list: [1] });
      expect(Object.isFrozen(entry?.value)).toBe(true);
      await store.close();
    });

    it("watch resumes from a revision, filters by prefix, and errors once history no longer reaches back", async () => {
      const store = await subject.make();
      const r0 = await store.revision();
      await store.put("a/1", 1);
      await store.put("b/1", 1);
      const events = firstValueFrom(store.watch("a/", r0 + 1).pipe(take(2), toArray()));
      await store.put("a/2", 2);
      await store.delete("a/1");
      expect((await events).map((e) => [e.kind, e.revision])).toEqual([
        ["put", r0 + 3],
        ["delete", r0 + 4],
      ]);
      const put = (await firstValueFrom(store.watch("a/2", r0 + 2))) as { entry?: { key: string; value: unknown } };
      expect(put.entry).toMatchObject({ key: "a/2", value: 2 });
      await subject.forgetHistory(store, r0 + 3);
      await expect(firstValueFrom(store.watch("", r0))).rejects.toMatchObject({ code: ErrorCode.STORE_FAILED });
      await store.close();
    });

    it("refuses keys that cannot be stored and calls after close", async () => {
      const store = await subject.make();
      await expect(store.put("", 1)).rejects.toMatchObject({ code: ErrorCode.API_MISUSE });
      await store.close();
      await expect(store.put("k", 1)).rejects.toMatchObject({ code: ErrorCode.API_MISUSE });
      await store.close();
    });
  });
}
