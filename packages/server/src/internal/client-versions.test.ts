import { describe, expect, it } from "vitest";
import { ClientVersions, isSharedNames, NO_NAMES, namesDiffering, sharedNames } from "./client-versions.js";

const state = (entries: Record<string, string>): ReadonlyMap<string, string> => new Map(Object.entries(entries));
const sent = (versions: ReadonlyMap<string, string>) => [...versions].map(([name, version]) => ({ name, version }));

/** Every way of reading a ClientVersions, as a plain Map would answer it. */
function readBack(versions: ReadonlyMap<string, string>): unknown {
  const viaForEach: [string, string][] = [];
  versions.forEach((version, name) => {
    viaForEach.push([name, version]);
  });
  const sorted = (list: [string, string][]) => [...list].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    size: versions.size,
    entries: sorted([...versions.entries()]),
    iterated: sorted([...versions]),
    forEach: sorted(viaForEach),
    keys: [...versions.keys()].sort(),
    values: [...versions.values()].sort(),
  };
}

function expectSame(versions: ClientVersions, model: Map<string, string>, names: readonly string[]): void {
  expect(readBack(versions)).toEqual(readBack(model));
  for (const name of names) {
    expect(versions.get(name)).toBe(model.get(name));
    expect(versions.has(name)).toBe(model.has(name));
  }
}

describe("ClientVersions", () => {
  it("answers exactly what a Map given the same changes answers, whatever the sharing (random operations)", () => {
    // A deterministic generator: the same operations on every run.
    let seed = 13;
    const random = (n: number): number => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const names = Array.from({ length: 12 }, (_, i) => `r${i}`);
    // States as a cache makes them: each one a few changes (versions, additions, removals) after the last.
    const states: ReadonlyMap<string, string>[] = [];
    let entries: Record<string, string> = {};
    for (const name of names) if (random(4) !== 0) entries[name] = "v0";
    for (let s = 0; s < 6; s++) {
      entries = { ...entries };
      for (let change = random(3); change >= 0; change--) {
        const name = names[random(names.length)]!;
        if (random(3) === 0) delete entries[name];
        else entries[name] = `v${random(3)}`;
      }
      states.push(state(entries));
    }
    let shared = 0;
    for (let run = 0; run < 40; run++) {
      const versions = new ClientVersions();
      const model = new Map<string, string>();
      for (let step = 0; step < 60; step++) {
        const op = random(6);
        const name = names[random(names.length)]!;
        if (op === 0) {
          const version = states[random(states.length)]!.get(name) ?? `v${random(3)}`;
          versions.set(name, version);
          model.set(name, version);
        } else if (op === 1) {
          expect(versions.delete(name)).toBe(model.delete(name));
        } else if (op === 5) {
          // Moving onto any state, whatever is held, changes nothing the protocol sees.
          versions.share(states[random(states.length)]!);
        } else {
          // A response: part or all of a state, and some removals; then moving onto it.
          const target = states[random(states.length)]!;
          const all = sent(target);
          const resources = op === 2 ? all : all.filter(() => random(2) === 0);
          const removed = names.filter((n) => !target.has(n) && random(2) === 0 && !resources.some((e) => e.name === n));
          versions.sent(resources, removed, target);
          for (const e of resources) model.set(e.name, e.version);
          for (const n of removed) model.delete(n);
          if (random(2) === 0) versions.share(target);
        }
        if (versions.sharesAll) shared++;
        expectSame(versions, model, names);
        // Never more kept per stream than a Map of its own would hold.
        expect(versions.ownEntries).toBeLessThanOrEqual(Math.max(versions.size, 1) * 2);
      }
    }
    // The runs did exercise the shared case, not only the overlay.
    expect(shared).toBeGreaterThan(100);
  });

  it("a stream sent exactly a state's versions keeps the state's map, no map of its own", () => {
    const v1 = state({ a: "1", b: "1", c: "1" });
    const first = new ClientVersions();
    const second = new ClientVersions();
    first.sent(sent(v1), [], v1);
    second.sent(sent(v1), [], v1);
    for (const versions of [first, second]) {
      expect(versions.sharesAll).toBe(true);
      expect(versions.base).toBe(v1);
      expect(versions.ownEntries).toBe(0);
      expect(new Map(versions)).toEqual(v1);
    }
  });

  it("one changed resource moves a current stream onto the next state's map; a response split in parts collapses once complete", () => {
    const v1 = state({ a: "1", b: "1", c: "1" });
    const v2 = state({ a: "1", b: "2", c: "1" });
    const v3 = state({ a: "1", b: "2", d: "1" });
    const versions = new ClientVersions();
    versions.sent(sent(v1), [], v1);
    versions.sent([{ name: "b", version: "2" }], [], v2);
    expect(versions.base).toBe(v2);
    expect(versions.ownEntries).toBe(0);
    // A response in two parts (a large one split by maxResponseBytes): the first leaves a difference...
    versions.sent([{ name: "d", version: "1" }], [], v3);
    expect(versions.base).toBe(v2);
    expect(versions.ownEntries).toBe(1);
    versions.sent([], ["c"], v3);
    expect(versions.ownEntries).toBe(2);
    // ...and the stream moves onto the state once it holds it.
    versions.share(v3);
    expect(versions.base).toBe(v3);
    expect(versions.sharesAll).toBe(true);
    expect(new Map(versions)).toEqual(v3);
  });

  it("a difference collapses when the client is sent the base's version again", () => {
    const v1 = state({ a: "1", b: "1" });
    const versions = new ClientVersions();
    versions.sent(sent(v1), [], v1);
    versions.set("a", "7"); // e.g. a resource too large to send, recorded at its version
    expect(versions.ownEntries).toBe(1);
    expect(versions.get("a")).toBe("7");
    versions.set("a", "1");
    expect(versions.ownEntries).toBe(0);
    versions.delete("b");
    expect(versions.has("b")).toBe(false);
    expect(versions.size).toBe(1);
    versions.set("b", "1");
    expect(versions.sharesAll).toBe(true);
  });

  it("keeps a reconnecting client's initial versions only where they differ from the state it is brought to", () => {
    const current = state({ a: "1", b: "2", c: "3" });
    const versions = new ClientVersions();
    // initial_resource_versions: a current, b old, and x which no longer exists.
    for (const [name, version] of Object.entries({ a: "1", b: "1", x: "9" })) versions.set(name, version);
    versions.sent(
      [
        { name: "b", version: "2" },
        { name: "c", version: "3" },
      ],
      ["x"],
      current,
    );
    versions.share(current);
    expect(versions.sharesAll).toBe(true);
    expect(new Map(versions)).toEqual(current);
  });

  it("does not move onto a state that leaves more differences (a subscription to a few names of a large type)", () => {
    const names = Array.from({ length: 100 }, (_, i) => `r${i}`);
    const big = state(Object.fromEntries(names.map((n) => [n, "1"])));
    const versions = new ClientVersions();
    versions.sent(
      [
        { name: "r1", version: "1" },
        { name: "r2", version: "1" },
      ],
      [],
      big,
    );
    versions.share(big);
    expect(versions.base).not.toBe(big);
    expect(versions.ownEntries).toBe(2);
    expect(new Map(versions)).toEqual(state({ r1: "1", r2: "1" }));
  });

  it("moves onto a state it holds most of, keeping what it lacks as not held", () => {
    const target = state({ a: "1", b: "1", c: "1", d: "1", e: "1", f: "1", g: "1", h: "1" });
    const versions = new ClientVersions();
    for (const name of ["a", "b", "c", "d", "e", "f"]) versions.set(name, "1");
    versions.set("x", "5");
    versions.share(target);
    expect(versions.base).toBe(target);
    // g and h (not held) and x (held, not in the state) are this stream's differences.
    expect(versions.ownEntries).toBe(3);
    expect(versions.has("g")).toBe(false);
    expect(versions.get("h")).toBeUndefined();
    expect(versions.size).toBe(7);
    expect(new Map(versions)).toEqual(state({ a: "1", b: "1", c: "1", d: "1", e: "1", f: "1", x: "5" }));
  });

  it("forgetting most of the shared state (a wildcard unsubscribed) keeps only what is held, on no base", () => {
    const names = Array.from({ length: 10 }, (_, i) => `r${i}`);
    const all = state(Object.fromEntries(names.map((n) => [n, "1"])));
    const versions = new ClientVersions();
    versions.sent(sent(all), [], all);
    for (const name of names.slice(0, 8)) versions.delete(name);
    expect(versions.base).not.toBe(all);
    expect(versions.ownEntries).toBe(2);
    expect(new Map(versions)).toEqual(state({ r8: "1", r9: "1" }));
  });

  it("computes the names two states differ in once per pair", () => {
    const v1 = state({ a: "1", b: "1", c: "1" });
    const v2 = state({ a: "1", b: "2", d: "1" });
    const names = namesDiffering(v1, v2);
    expect([...names].sort()).toEqual(["b", "c", "d"]);
    expect(namesDiffering(v1, v2)).toBe(names);
  });

  it("shares one set of a state's names; the empty set is shared too", () => {
    const v1 = state({ a: "1", b: "1" });
    const names = sharedNames(v1);
    expect(names).toEqual(new Set(["a", "b"]));
    expect(sharedNames(v1)).toBe(names);
    expect(isSharedNames(names)).toBe(true);
    expect(isSharedNames(NO_NAMES)).toBe(true);
    expect(NO_NAMES.size).toBe(0);
    expect(isSharedNames(new Set(["a", "b"]))).toBe(false);
  });
});
