import { createHash } from "node:crypto";
import { ErrorCode, TypeUrl, XdskitError } from "@xdskit/envoy-api";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { describe, expect, it } from "vitest";
import { EntryStore } from "./entry-store.js";
import { CDS, cla, cluster, EDS } from "./internal/fixtures.test.js";

describe("EntryStore.entry", () => {
  it("entry-immutable: an entry is frozen and carries name, type URL, encoding and a SHA-256 content version", () => {
    const store = new EntryStore();
    const message = cla("web");
    const entry = store.entry(EDS, message);
    expect(Object.isFrozen(entry)).toBe(true);
    expect(entry.name).toBe("web");
    expect(entry.typeUrl).toBe(EDS);
    expect(ClusterLoadAssignment.decode(entry.bytes)).toEqual(message);
    expect(entry.version).toBe(createHash("sha256").update(entry.bytes).digest("hex").slice(0, 32));
  });

  it("entry-stable-version: equal content gives equal versions across stores (processes, replicas)", () => {
    expect(new EntryStore().entry(CDS, cluster("a")).version).toBe(new EntryStore().entry(CDS, cluster("a")).version);
    expect(new EntryStore().entry(CDS, cluster("a")).version).not.toBe(new EntryStore().entry(CDS, cluster("a", 1)).version);
  });

  it("entry-encoded-once: the same object is encoded once; equal content is interned to one entry", () => {
    const counted: string[] = [];
    const store = new EntryStore({ onEncode: (_t, name) => counted.push(name) });
    const message = cluster("a");
    const first = store.entry(CDS, message);
    for (let i = 0; i < 100; i++) expect(store.entry(CDS, message)).toBe(first);
    expect(counted).toEqual(["a"]);
    expect(store.entry(CDS, cluster("a"))).toBe(first); // another object, same content: encoded, same entry
    expect(store.encodeCount).toBe(2);
    expect(store.entry(CDS, first)).toBe(first); // an entry passes through
  });

  it("entry-inputs: bytes with or without a name, TTL entries are distinct from plain ones", () => {
    const store = new EntryStore();
    const plain = store.entry(EDS, cla("a"));
    expect(store.entry(EDS, plain.bytes)).toBe(plain); // name decoded with the type's nameOf
    expect(store.entry(EDS, plain.bytes, { name: "alias" }).name).toBe("alias");
    const ttl = store.entry(EDS, cla("a"), { ttlMs: 1000 });
    expect(ttl).not.toBe(plain);
    expect(ttl.ttlMs).toBe(1000);
    expect(ttl.version).toBe(plain.version);
  });

  it("entry-errors: unnamed, wrong-type and bad TTL inputs fail with XDSKIT_INVALID_RESOURCE naming the problem", () => {
    const store = new EntryStore();
    const expectInvalid = (fn: () => unknown, pattern: RegExp): void => {
      try {
        fn();
        throw new Error("expected a failure");
      } catch (error) {
        expect(XdskitError.is(error)).toBe(true);
        expect((error as XdskitError).code).toBe(ErrorCode.INVALID_RESOURCE);
        expect(String(error)).toMatch(pattern);
      }
    };
    expectInvalid(() => store.entry(CDS, cluster("")), /has no name/);
    expectInvalid(
      () => store.entry(EDS, store.entry(CDS, cluster("a"))),
      /is an entry of .*Cluster but was given as .*ClusterLoadAssignment/,
    );
    expectInvalid(() => store.entry(CDS, cluster("a"), { ttlMs: -5 }), /ttlMs must be a positive number/);
    expectInvalid(() => store.entry(CDS, 42 as never), /must be a message object/);
    expectInvalid(() => store.entry(TypeUrl.LbEndpoint, new Uint8Array()), /has no name/);
    expect(() => store.entry("type.googleapis.com/nope.Nope", {})).toThrow(/nope\.Nope/);
  });

  it("rejects bad options", () => {
    expect(() => new EntryStore({ onEncode: 1 as never })).toThrow(/option "onEncode" must be a function/);
  });
});
