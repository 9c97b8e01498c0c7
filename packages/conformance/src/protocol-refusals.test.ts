// Conformance, docs/protocol.md refused snapshots: a snapshot the cache
// refuses never reaches a client, which keeps running the last good config.
// The xdskit server against FakeEnvoy, SotW and delta, ADS and per-type.
import { InvalidSnapshotError, LinearCache } from "@xdskit/cache";
import { ErrorCode, TypeUrl } from "@xdskit/envoy-api";
import { createSnapshotValidator } from "@xdskit/resources";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane, ServedCache } from "./support/control-plane.js";
import { assignment, cluster } from "./support/envoy-resources.js";
import { VARIANTS } from "./support/variants.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const settle = () => new Promise((r) => setTimeout(r, 300));
const good = () => ({ [CDS]: [cluster("a")], [EDS]: [assignment("a", 1)] });

/** Runs `write`, expecting an InvalidSnapshotError; returns it. */
function refused(write: () => unknown): InvalidSnapshotError {
  try {
    write();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSnapshotError);
    expect((error as InvalidSnapshotError).code).toBe(ErrorCode.INVALID_SNAPSHOT);
    return error as InvalidSnapshotError;
  }
  throw new Error("expected the write to be refused");
}

describe.each(VARIANTS)("$name", (variant) => {
  const options = (address: string) => ({ address, protocol: variant.protocol, ads: variant.ads, node: { id: "n1" } });

  /** A FakeEnvoy running the good config, with nothing more in flight. */
  async function running(plane: ControlPlane): Promise<FakeEnvoy> {
    const envoy = await FakeEnvoy.start(options(plane.address));
    await envoy.waitForEndpoints("a", 1);
    await settle();
    return envoy;
  }

  /** The refused write sent nothing: the client runs the good config, and a fresh client gets it too. */
  async function keptOut(plane: ControlPlane, envoy: FakeEnvoy, after: number): Promise<void> {
    await settle();
    expect(envoy.history.filter((r) => r.seq > after)).toEqual([]);
    expect([...envoy.clusters.keys()]).toEqual(["a"]);
    expect(envoy.endpointAddresses("a")).toEqual(["10.1.0.1:1"]);
    await using fresh = await FakeEnvoy.start(options(plane.address));
    await fresh.waitForEndpoints("a", 1);
    expect([...fresh.clusters.keys()]).toEqual(["a"]);
    // The streams still work: the next valid snapshot reaches the client.
    plane.cache.setSnapshot("n1", {
      version: "3",
      resources: { [CDS]: [cluster("a"), cluster("c")], [EDS]: [assignment("a", 1), assignment("c", 3)] },
    });
    await envoy.waitForResource(CDS, "c");
    expect(envoy.nacks).toEqual([]);
  }

  it("refuse-empty-version: a snapshot or update with an empty version is refused and never reaches the client", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources: good() });
    await using envoy = await running(plane);
    const after = envoy.seq;
    const error = refused(() => plane.cache.setSnapshot("n1", { version: "", resources: { [CDS]: [cluster("b")] } }));
    expect(error.message).toMatch(/fresh client also sends an empty version/);
    refused(() => plane.cache.updateResources("n1", { version: "", upsert: { [CDS]: [cluster("b")] } }));
    expect(plane.cache.getSnapshot("n1")!.version).toBe("1");
    await keptOut(plane, envoy, after);
  });

  it("refuse-duplicate-names: a snapshot naming one resource twice is refused and never reaches the client", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources: good() });
    await using envoy = await running(plane);
    const after = envoy.seq;
    const error = refused(() =>
      plane.cache.setSnapshot("n1", {
        version: "2",
        resources: { [CDS]: [cluster("a"), cluster("b"), cluster("b", { connectTimeout: { seconds: 5 } })], [EDS]: [assignment("a", 1)] },
      }),
    );
    expect(error.violations.map((v) => [v.typeUrl, v.name])).toEqual([[CDS, "b"]]);
    expect(plane.cache.getSnapshot("n1")!.version).toBe("1");
    await keptOut(plane, envoy, after);
  });

  it("refuse-duplicate-names: a LinearCache batch naming one resource twice is refused and never reaches the client", async () => {
    const clusters = new LinearCache({ typeUrl: CDS, resources: [cluster("a")] });
    try {
      await using served = await ServedCache.start(clusters);
      await using envoy = await FakeEnvoy.start({ ...options(served.address), follow: false, types: [CDS] });
      await envoy.waitForResource(CDS, "a");
      await settle();
      const after = envoy.seq;
      expect(() => clusters.update({ upsert: [cluster("b"), cluster("b", { connectTimeout: { seconds: 5 } })] })).toThrow(
        /"b" appears twice/,
      );
      await settle();
      expect(envoy.history.filter((r) => r.seq > after)).toEqual([]);
      expect([...envoy.clusters.keys()]).toEqual(["a"]);
      clusters.upsert(cluster("c"));
      await envoy.waitForResource(CDS, "c");
      expect(envoy.clusters.has("b")).toBe(false);
    } finally {
      clusters.dispose();
    }
  });

  it("invalid-snapshot-kept-out: a snapshot the validator refuses lists every violation and never reaches the client", async () => {
    await using plane = await ControlPlane.start({ cache: { validator: createSnapshotValidator({ strictReferences: true }) } });
    plane.cache.setSnapshot("n1", { version: "1", resources: good() });
    await using envoy = await running(plane);
    const after = envoy.seq;
    const error = refused(() =>
      plane.cache.setSnapshot("n1", {
        version: "2",
        resources: {
          // b: an EDS cluster without endpoints; c: a connect timeout Envoy rejects.
          [CDS]: [cluster("a"), cluster("b"), cluster("c", { connectTimeout: { seconds: -1 } })],
          [EDS]: [assignment("a", 1), assignment("c", 2)],
        },
      }),
    );
    const named = new Set(error.violations.map((v) => v.name));
    expect(named).toEqual(new Set(["b", "c"]));
    expect(error.message).toMatch(/"b"/);
    expect(error.message).toMatch(/"c"/);
    expect(plane.cache.getSnapshot("n1")!.version).toBe("1");
    await keptOut(plane, envoy, after);
  });
});
