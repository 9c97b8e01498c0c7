// Versions in the user's words and rollout tracking (docs/cache.md "Versions",
// docs/operations.md "Rollouts"): what proxies ACK carries the snapshot label,
// and xds.waitForAck / xds.rollout say when every proxy of a group runs a
// version, or which one rejected it and why. FakeEnvoys over real gRPC,
// SotW and delta, scripted to ACK and NACK.
import { digestOf, labelOf } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { firstValueFrom, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { assignment, cluster, listener, routes } from "./support/envoy-resources.js";
import { VARIANTS } from "./support/variants.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;

const config = (endpointPort: number, clusters = ["a", "b"]) => ({
  [CDS]: clusters.map((c) => cluster(c)),
  [EDS]: clusters.map((c) => assignment(c, endpointPort)),
  [LDS]: [listener("web", 8080, "web-routes")],
  [RDS]: [routes("web-routes", "a")],
});

describe.each(VARIANTS)("$name", (variant) => {
  const start = (address: string, id: string, extra: Partial<Parameters<typeof FakeEnvoy.start>[0]> = {}) =>
    FakeEnvoy.start({ address, protocol: variant.protocol, ads: variant.ads, node: { id, cluster: "edge" }, ...extra });

  it("versions name the snapshot in which the content last changed; waitForAck resolves when every node of the group ACKed", async () => {
    await using plane = await ControlPlane.start({ cache: { nodeGroup: (n) => n.cluster } });
    plane.cache.setSnapshot("edge", { version: "release-41", resources: config(1) });
    await using one = await start(plane.address, "one");
    await using two = await start(plane.address, "two");
    const first = await plane.xds.waitForAck({ group: "edge", version: "release-41", timeoutMs: 5_000 });
    expect(first).toMatchObject({ outcome: "acked" });
    expect([...first.acked].sort()).toEqual(["one", "two"]);

    // release-42 changes only the endpoints: clusters keep their release-41 label and are not re-sent.
    const clustersBefore = one.history.filter((r) => r.typeUrl === CDS).length;
    plane.cache.setSnapshot("edge", { version: "release-42", resources: config(2) });
    const second = await plane.xds.waitForAck({ group: "edge", version: "release-42", timeoutMs: 5_000 });
    expect(second).toMatchObject({ outcome: "acked", servedVersion: "release-42", nacked: [], pending: [] });
    expect(one.history.filter((r) => r.typeUrl === CDS).length).toBe(clustersBefore);
    for (const [id, envoy] of [
      ["one", one],
      ["two", two],
    ] as const) {
      const status = plane.status.nodeStatus(id)!;
      // SotW ACKs carry version_info (`<label>~<digest>`); delta ACKs the system_version_info, the label itself.
      const label = (v: string) => (variant.protocol === "sotw" ? labelOf(v) : v);
      expect(label(status.types[EDS]!.lastAck!.version)).toBe("release-42");
      expect(label(status.types[CDS]!.lastAck!.version)).toBe("release-41");
      const endpoint = envoy.resources(EDS).get("a")!;
      if (variant.protocol === "delta") expect(labelOf(endpoint.version)).toBe("release-42");
      else expect(labelOf(envoy.version(EDS))).toBe("release-42");
      // SotW: the digest part is the content digest of the type the cache computed.
      if (variant.protocol === "sotw")
        expect(digestOf(status.types[CDS]!.lastAck!.version)).toBe(plane.cache.getSnapshot("edge")!.resources[CDS]!.version);
    }
  });

  it("waitForAck reports a NACK with the node, the type and the client's detail, and a fixed version completes", async () => {
    await using plane = await ControlPlane.start({ cache: { nodeGroup: (n) => n.cluster } });
    plane.cache.setSnapshot("edge", { version: "v1", resources: config(1, ["a"]) });
    await using good = await start(plane.address, "good");
    await using picky = await start(plane.address, "picky", {
      nackRules: [{ typeUrl: CDS, name: "b", message: "cluster b: unsupported" }],
    });
    expect((await plane.xds.waitForAck({ group: "edge", version: "v1", timeoutMs: 5_000 })).outcome).toBe("acked");

    const progress = firstValueFrom(plane.xds.rollout({ group: "edge", version: "v2" }).pipe(toArray()));
    plane.cache.setSnapshot("edge", { version: "v2", resources: config(1, ["a", "b"]) });
    const result = await plane.xds.waitForAck({ group: "edge", version: "v2", timeoutMs: 5_000 });
    expect(result.outcome).toBe("nacked");
    expect(result.nacked).toEqual([
      expect.objectContaining({ nodeId: "picky", typeUrl: CDS, message: expect.stringContaining("cluster b: unsupported") }),
    ]);
    const rejected = result.nacked[0]!.rejectedVersion;
    expect(variant.protocol === "sotw" ? labelOf(rejected) : rejected).toBe("v2");
    const seen = await progress;
    expect(seen.at(-1)!.nacked.map((n) => n.nodeId)).toEqual(["picky"]);

    // Roll back: v3 holds v1's content; both nodes run it, the NACK no longer counts.
    plane.cache.setSnapshot("edge", { version: "v3", resources: config(1, ["a"]) });
    const rolledBack = await plane.xds.waitForAck({ group: "edge", version: "v3", timeoutMs: 5_000 });
    expect(rolledBack.outcome).toBe("acked");
    expect([...rolledBack.acked].sort()).toEqual(["good", "picky"]);
    void good;
    void picky;
  });

  it("waitForAck by node, a timeout with who is pending, and clear errors for bad targets", async () => {
    await using plane = await ControlPlane.start({ cache: { nodeGroup: (n) => n.cluster } });
    plane.cache.setSnapshot("edge", { version: "v1", resources: config(1) });
    await using envoy = await start(plane.address, "solo");
    expect((await plane.xds.waitForAck({ node: "solo", version: "v1", timeoutMs: 5_000 })).outcome).toBe("acked");
    // A version never set: the group serves v1, so the node stays pending until the timeout.
    const late = await plane.xds.waitForAck({ node: "solo", version: "v9", timeoutMs: 200 });
    expect(late).toMatchObject({ outcome: "timeout", servedVersion: "v1", pending: ["solo"], complete: false });
    expect(() => plane.xds.waitForAck({ version: "v1" } as never)).toThrow(/exactly one of group or node/);
    expect(() => plane.xds.waitForAck({ group: "edge", version: "" })).toThrow(/version/);
    void envoy;
  });
});

it("a restarted control plane with new labels and the same content sends nothing new to a proxy that reconnects", async () => {
  await using before = await ControlPlane.start();
  before.cache.setSnapshot("n1", { version: "build-1", resources: config(1) });
  await using envoy = await FakeEnvoy.start({ address: before.address, node: { id: "n1" } });
  await envoy.waitForEndpoints("b", 1);
  const held = envoy.version(CDS);
  expect(labelOf(held)).toBe("build-1");
  await using after = await ControlPlane.start();
  after.cache.setSnapshot("n1", { version: "build-2", resources: config(1) });
  const fetched = await after.cache.fetch({ node: { id: "n1" } as never, typeUrl: CDS, names: new Set(), versionInfo: held });
  expect(fetched).toBeUndefined(); // same content: the client is current whatever the label
});
