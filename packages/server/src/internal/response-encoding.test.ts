import type { DeltaResponse, ResourceEntry } from "@xdskit/cache";
import { DeltaDiscoveryResponse, DiscoveryResponse, Resource, TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { entry } from "../../test-support/fake-watcher.js";
import { chunkNames, encodeDelta, encodeSotw, namesOf, SHARED_MESSAGES_PER_LIST, sameNames, splitDelta } from "./response-encoding.js";

const CDS = TypeUrl.Cluster;

describe("encodeSotw", () => {
  it("puts each stored encoding into an Any as is, with the stream's version, type URL and nonce", () => {
    const resources = [entry(CDS, "a", "1"), entry(CDS, "b", "1", 100)];
    const first = DiscoveryResponse.decode(encodeSotw({ typeUrl: CDS, version: "v1", resources }, "1"));
    const second = DiscoveryResponse.decode(encodeSotw({ typeUrl: CDS, version: "v1", resources }, "2"));
    expect(first).toMatchObject({ versionInfo: "v1", typeUrl: CDS, nonce: "1" });
    expect(second.nonce).toBe("2");
    expect(first.resources.map((r) => r.typeUrl)).toEqual([CDS, CDS]);
    expect([...first.resources[1]!.value]).toEqual([...resources[1]!.bytes]);
    expect(second.resources).toEqual(first.resources);
  });

  it("gives streams that agree on version, type URL and nonce the same buffer, encoded once per shared list", () => {
    const resources = [entry(CDS, "a", "1"), entry(CDS, "b", "1", 100)];
    const first = encodeSotw({ typeUrl: CDS, version: "v1", resources }, "3");
    expect(encodeSotw({ typeUrl: CDS, version: "v1", resources }, "3")).toBe(first);
    const otherNonce = encodeSotw({ typeUrl: CDS, version: "v1", resources }, "4");
    expect(otherNonce).not.toBe(first);
    expect(DiscoveryResponse.decode(otherNonce)).toMatchObject({ versionInfo: "v1", typeUrl: CDS, nonce: "4" });
    // An equal list that is another array is encoded apart (the cache shares lists by identity).
    expect(encodeSotw({ typeUrl: CDS, version: "v1", resources: [...resources] }, "3")).not.toBe(first);
    // The kept messages are bounded per list: the oldest goes first.
    for (let n = 10; n < 10 + SHARED_MESSAGES_PER_LIST; n++) encodeSotw({ typeUrl: CDS, version: "v1", resources }, String(n));
    const again = encodeSotw({ typeUrl: CDS, version: "v1", resources }, "3");
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });

  it("frames an empty response and an empty nonce like the generated codec", () => {
    const bytes = encodeSotw({ typeUrl: CDS, version: "", resources: [] }, "");
    expect([...bytes]).toEqual([...DiscoveryResponse.encode(DiscoveryResponse.fromPartial({ typeUrl: CDS })).finish()]);
    const long = "v".repeat(300);
    expect(DiscoveryResponse.decode(encodeSotw({ typeUrl: CDS, version: long, resources: [entry(CDS, "a", "1")] }, "ñ")).versionInfo).toBe(
      long,
    );
  });

  it("shares the names of a list between streams", () => {
    const resources = [entry(CDS, "a", "1"), entry(CDS, "b", "1")];
    const names = namesOf(resources);
    expect(namesOf(resources)).toBe(names);
    expect([...names.set]).toEqual(["a", "b"]);
    expect(names.list).toEqual(["a", "b"]);
    expect(Object.isFrozen(names.list)).toBe(true);
    expect(sameNames(names.set, new Set(["b", "a"]))).toBe(true);
    expect(sameNames(names.set, new Set(["a"]))).toBe(false);
    expect(sameNames(names.set, new Set(["a", "c"]))).toBe(false);
  });

  it("wraps TTL resources and heartbeats (without body) in Resource", () => {
    const resources = [entry(CDS, "a", "7", 0, 2500)];
    const normal = DiscoveryResponse.decode(encodeSotw({ typeUrl: CDS, version: "v", resources }, "1"));
    const wrapped = Resource.decode(normal.resources[0]!.value);
    expect(wrapped).toMatchObject({ name: "a", version: "7", resource: { typeUrl: CDS } });
    expect(wrapped.ttl!.seconds.toNumber()).toBe(2);
    expect(wrapped.ttl!.nanos).toBe(500_000_000);
    const heartbeat = DiscoveryResponse.decode(encodeSotw({ typeUrl: CDS, version: "v", resources, heartbeat: true }, "2"));
    expect(Resource.decode(heartbeat.resources[0]!.value).resource).toBeUndefined();
  });
});

// What the generated codec gives for a delta message built field by field.
function generated(response: DeltaResponse, resources: readonly ResourceEntry[], removed: readonly string[], nonce: string): Uint8Array {
  const heartbeat = response.heartbeat === true;
  return DeltaDiscoveryResponse.encode(
    DeltaDiscoveryResponse.fromPartial({
      systemVersionInfo: response.systemVersion,
      typeUrl: response.typeUrl,
      nonce,
      removedResources: [...removed],
      resources: resources.map((e) => ({
        name: e.name,
        version: e.version,
        ...(heartbeat ? {} : { resource: { typeUrl: e.typeUrl, value: e.bytes } }),
        ...(e.ttlMs !== undefined ? { ttl: { seconds: Math.floor(e.ttlMs / 1000), nanos: (e.ttlMs % 1000) * 1_000_000 } } : {}),
      })),
    }),
  ).finish();
}

describe("encodeDelta", () => {
  const entries = [entry(CDS, "a", "1"), entry(CDS, "b", "2", 300), entry(CDS, "c", "3", 0, 2500), entry(CDS, "d", "4", 200, 60_000)];

  it("gives streams sent the same entries with the same version, type URL and nonce the same buffer", () => {
    const response: DeltaResponse = { typeUrl: CDS, systemVersion: "s9", resources: entries, removed: [] };
    const first = encodeDelta(response, { resources: [...entries], removed: ["gone"] }, "2");
    // Another stream's chunk: another array holding the same entries.
    expect(encodeDelta(response, { resources: [...entries], removed: ["gone"] }, "2")).toBe(first);
    expect(encodeDelta(response, { resources: [...entries], removed: ["other"] }, "2")).not.toBe(first);
    expect(encodeDelta(response, { resources: entries.slice(0, 3), removed: ["gone"] }, "2")).not.toBe(first);
    expect(encodeDelta(response, { resources: [...entries], removed: ["gone"] }, "3")).not.toBe(first);
    expect(encodeDelta({ ...response, systemVersion: "s10" }, { resources: [...entries], removed: ["gone"] }, "2")).not.toBe(first);
    // A heartbeat carries no bodies: never confused with a full send.
    const heartbeat = encodeDelta({ ...response, heartbeat: true }, { resources: [...entries], removed: ["gone"] }, "2");
    expect(heartbeat).not.toBe(first);
    expect([...heartbeat]).toEqual([...generated({ ...response, heartbeat: true }, entries, ["gone"], "2")]);
    expect([...first]).toEqual([...generated(response, entries, ["gone"], "2")]);
  });

  it("gives the same bytes as DeltaDiscoveryResponse.encode for entries, TTLs, removed names and empty messages", () => {
    const cases: Array<[DeltaResponse, readonly ResourceEntry[], readonly string[]]> = [
      [{ typeUrl: CDS, systemVersion: "s1", resources: entries, removed: [] }, entries, []],
      [{ typeUrl: CDS, systemVersion: "s2", resources: entries, removed: ["x", "y"] }, entries.slice(1, 3), ["x", "y"]],
      [{ typeUrl: CDS, systemVersion: "", resources: [], removed: ["gone"] }, [], ["gone"]],
      [{ typeUrl: CDS, systemVersion: "", resources: [], removed: [] }, [], []],
      // Lengths past one varint byte and multi-byte UTF-8; an empty removed name is written too.
      [
        { typeUrl: CDS, systemVersion: "s".repeat(200), resources: entries, removed: ["é".repeat(100), ""] },
        entries,
        ["é".repeat(100), ""],
      ],
    ];
    for (const [response, resources, removed] of cases) {
      for (const nonce of ["7", ""]) {
        // Twice: the second call reuses each entry's precomputed field.
        for (let i = 0; i < 2; i++)
          expect([...encodeDelta(response, { resources, removed }, nonce)]).toEqual([...generated(response, resources, removed, nonce)]);
      }
    }
  });

  it("frames heartbeats apart from full sends: without a body, even for an entry sent in full before", () => {
    const full: DeltaResponse = { typeUrl: CDS, systemVersion: "s", resources: entries, removed: [] };
    const beat: DeltaResponse = { ...full, heartbeat: true };
    const chunk = { resources: entries, removed: [] };
    const sent = encodeDelta(full, chunk, "1");
    const beats = encodeDelta(beat, chunk, "2");
    expect([...beats]).toEqual([...generated(beat, entries, [], "2")]);
    expect(DeltaDiscoveryResponse.decode(beats).resources.every((r) => r.resource === undefined)).toBe(true);
    expect([...encodeDelta(full, chunk, "1")]).toEqual([...sent]);
    expect(DeltaDiscoveryResponse.decode(sent).resources.map((r) => r.resource?.value.length)).toEqual(entries.map((e) => e.bytes.length));
  });
});

describe("splitDelta", () => {
  it("keeps one message when it fits, and splits by size otherwise with removals last", () => {
    const resources = Array.from({ length: 6 }, (_, i) => entry(CDS, `r${i}`, "1", 1000));
    const response = { typeUrl: CDS, systemVersion: "s", resources, removed: ["x", "y"] };
    expect(splitDelta(response, 1_000_000)).toHaveLength(1);
    const chunks = splitDelta(response, 2500);
    expect(Array.isArray(chunks)).toBe(true);
    const list = chunks as Exclude<typeof chunks, { tooLarge: true }>;
    expect(list.length).toBeGreaterThanOrEqual(3);
    expect(list.flatMap((c) => c.resources.map((e) => e.name))).toEqual(resources.map((e) => e.name));
    expect(list.at(-1)!.removed).toEqual(["x", "y"]);
    for (const [i, chunk] of list.entries()) {
      const bytes = encodeDelta(response, chunk, String(i));
      expect(bytes.length).toBeLessThanOrEqual(2500);
      expect(DeltaDiscoveryResponse.decode(bytes).systemVersionInfo).toBe("s");
    }
  });

  it("names a single resource that cannot fit", () => {
    const result = splitDelta({ typeUrl: CDS, systemVersion: "s", resources: [entry(CDS, "huge", "1", 5000)], removed: [] }, 2048);
    expect(result).toMatchObject({ tooLarge: true, resourceName: "huge" });
  });
});

describe("chunkNames", () => {
  it("gives streams sent the same entries (each in its own array) one frozen list of their names, in order", () => {
    const a = entry(CDS, "a", "1");
    const b = entry(CDS, "b", "1");
    const first = chunkNames([a, b]);
    expect(first).toEqual(["a", "b"]);
    expect(Object.isFrozen(first)).toBe(true);
    expect(chunkNames([a, b])).toBe(first);
    // Other entries (another version of b), another order or length: a list of their own.
    const b2 = entry(CDS, "b", "2");
    expect(chunkNames([a, b2])).not.toBe(first);
    expect(chunkNames([a, b2])).toEqual(["a", "b"]);
    expect(chunkNames([b, a])).toEqual(["b", "a"]);
    expect(chunkNames([a])).toEqual(["a"]);
    expect(chunkNames([])).toEqual([]);
  });

  it("keeps at most SHARED_MESSAGES_PER_LIST lists per first entry, dropping the oldest", () => {
    const a = entry(CDS, "a", "1");
    const others = Array.from({ length: SHARED_MESSAGES_PER_LIST + 1 }, (_, i) => entry(CDS, `n${i}`, "1"));
    const oldest = chunkNames([a, others[0]!]);
    for (const other of others.slice(1)) chunkNames([a, other]);
    expect(chunkNames([a, others[0]!])).not.toBe(oldest);
    expect(chunkNames([a, others.at(-1)!])).toEqual(["a", `n${SHARED_MESSAGES_PER_LIST}`]);
  });
});
