// Mistakes new users make with snapshots get errors that say what to write
// instead: a message filed under another type's URL, a version that is not a
// string, a short name where a type URL belongs.
import { ErrorCode, TypeUrl, XdskitError } from "@xdskit/envoy-api";
import { cluster, httpListener } from "@xdskit/resources";
import { describe, expect, it } from "vitest";
import type { InvalidSnapshotError } from "./snapshot.js";
import { SnapshotCache } from "./snapshot-cache.js";

function refusal(set: () => void): InvalidSnapshotError {
  try {
    set();
  } catch (error) {
    expect(XdskitError.is(error) && error.code).toBe(ErrorCode.INVALID_SNAPSHOT);
    return error as InvalidSnapshotError;
  }
  throw new Error("the snapshot was accepted");
}

describe("SnapshotCache errors that say what to do", () => {
  it("a Cluster filed under TypeUrl.Listener is named as such, with the key to use, not an internal TypeError", () => {
    const cache = new SnapshotCache();
    const error = refusal(() => cache.setSnapshot("n", { version: "1", resources: { [TypeUrl.Listener]: [cluster({ name: "web" })] } }));
    expect(error.message).not.toMatch(/is not iterable/);
    expect(error.violations).toEqual([
      {
        typeUrl: TypeUrl.Listener,
        name: "web",
        message: expect.stringMatching(
          /^resource "web" is not a Listener \(filed under .*Listener\): it has fields a Listener does not \(.+\); it looks like a Cluster: file it under TypeUrl\.Cluster$/,
        ),
      },
    ]);
  });

  it("a listener filed under TypeUrl.Cluster points at TypeUrl.Listener", () => {
    const cache = new SnapshotCache();
    const listener = httpListener({ name: "http", port: 10000, rds: { routeConfigName: "web" } });
    const error = refusal(() => cache.setSnapshot("n", { version: "1", resources: { [TypeUrl.Cluster]: [listener] } }));
    expect(error.message).toMatch(/file it under TypeUrl\.Listener/);
  });

  it("a number as version says a string is expected and how to write it", () => {
    const cache = new SnapshotCache();
    const error = refusal(() => cache.setSnapshot("n", { version: 1 as unknown as string, resources: {} }));
    expect(error.message).toBe(
      'snapshot: the snapshot version must be a string; got number 1: write version: "1"\n  - version: expected a non-empty string, got number 1',
    );
    expect(error.violations).toEqual([{ path: "version", message: "expected a non-empty string, got number 1" }]);
    expect(error.message).not.toMatch(/- : /);
  });

  it("an empty version says why it is refused", () => {
    const error = refusal(() => new SnapshotCache().setSnapshot("n", { version: "", resources: {} }));
    expect(error.message).toMatch(/must be a non-empty string; got "" \(a fresh client also sends an empty version/);
    expect(error.violations).toEqual([{ path: "version", message: 'expected a non-empty string, got ""' }]);
  });

  it.each([
    ["clusters", "TypeUrl.Cluster"],
    ["CDS", "TypeUrl.Cluster"],
    ["listener", "TypeUrl.Listener"],
    ["endpoints", "TypeUrl.ClusterLoadAssignment"],
    ["RouteConfiguration", "TypeUrl.RouteConfiguration"],
    ["secrets", "TypeUrl.Secret"],
  ])("the key %j gets a did-you-mean towards %s", (key, hint) => {
    const cache = new SnapshotCache();
    const error = refusal(() => cache.setSnapshot("n", { version: "1", resources: { [key]: [cluster({ name: "web" })] } }));
    expect(error.message).toContain(`did you mean ${hint}, i.e. "type.googleapis.com/`);
  });

  it("a key that resembles no type is told what a type URL looks like", () => {
    const error = refusal(() => new SnapshotCache().setSnapshot("n", { version: "1", resources: { stuff: [cluster({ name: "web" })] } }));
    expect(error.message).toContain(`a type URL was expected, such as TypeUrl.Cluster, i.e. "${TypeUrl.Cluster}"`);
  });
});
