// Conformance, docs/protocol.md "Subscriptions" and "Responses": the xdskit
// server against FakeEnvoy, SotW and delta, ADS and per-type.
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { assignment, cluster } from "./support/envoy-resources.js";
import { VARIANTS } from "./support/variants.js";

const settle = () => new Promise((r) => setTimeout(r, 300));

describe.each(VARIANTS)("$name", (variant) => {
  const options = (plane: ControlPlane) => ({ address: plane.address, protocol: variant.protocol, ads: variant.ads, node: { id: "n1" } });

  it.each(["legacy", "explicit"] as const)("wildcard-forms: %s wildcard gets every cluster", async (wildcard) => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });
    await using envoy = await FakeEnvoy.start({ ...options(plane), wildcard, follow: false });
    await envoy.waitFor((e) => e.clusters.size === 2, { description: "both clusters" });
  });

  it("named-only-requested: endpoints not subscribed are never sent", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", {
      version: "1",
      resources: { [TypeUrl.Cluster]: [cluster("a")], [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1), assignment("other", 2)] },
    });
    await using envoy = await FakeEnvoy.start(options(plane));
    await envoy.waitForEndpoints("a", 1);
    await settle();
    const eds = envoy.history.filter((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment);
    expect(eds.flatMap((r) => r.resourceNames)).not.toContain("other");
  });

  it("missing-names-held: endpoints that appear later are sent", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
    await using envoy = await FakeEnvoy.start(options(plane));
    await envoy.waitForResource(TypeUrl.Cluster, "a");
    await settle();
    plane.cache.setSnapshot("n1", {
      version: "2",
      resources: { [TypeUrl.Cluster]: [cluster("a")], [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1)] },
    });
    await envoy.waitForEndpoints("a", 1);
  });

  it("full-state: a deleted cluster is absent from the full set (SotW) or removed (delta)", async () => {
    await using plane = await ControlPlane.start({ server: { makeBeforeBreak: false } }); // the deletion in the same response
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });
    await using envoy = await FakeEnvoy.start({ ...options(plane), follow: false, types: [TypeUrl.Cluster] });
    await envoy.waitFor((e) => e.clusters.size === 2, { description: "both clusters" });
    const after = envoy.seq;
    plane.cache.setSnapshot("n1", { version: "2", resources: { [TypeUrl.Cluster]: [cluster("b", { connectTimeout: { seconds: 2 } })] } });
    await envoy.waitForAbsent(TypeUrl.Cluster, "a");
    const record = envoy.history.find((r) => r.seq > after)!;
    if (variant.protocol === "sotw") expect(record.resourceNames).toEqual(["b"]);
    else expect(envoy.history.filter((r) => r.seq > after).flatMap((r) => r.removedNames)).toContain("a");
    expect(envoy.clusters.get("b")?.connectTimeout?.seconds.toNumber()).toBe(2);
  });

  it("no-duplicate-names: no response names a resource twice", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", {
      version: "1",
      resources: {
        [TypeUrl.Cluster]: [cluster("a"), cluster("b")],
        [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1), assignment("b", 2)],
      },
    });
    await using envoy = await FakeEnvoy.start(options(plane));
    await envoy.waitForEndpoints("b", 1);
    // FakeEnvoy NACKs a response naming a resource twice.
    expect(envoy.nacks).toEqual([]);
    for (const r of envoy.history) expect(new Set(r.resourceNames).size).toBe(r.resourceNames.length);
  });
});

describe("SotW", () => {
  it("wildcard-switch: once names were sent, an empty EDS list gets nothing", async () => {
    await using plane = await ControlPlane.start();
    const endpoints = [assignment("a", 1), assignment("b", 2)];
    plane.cache.setSnapshot("n1", {
      version: "1",
      resources: { [TypeUrl.Cluster]: [cluster("a")], [TypeUrl.ClusterLoadAssignment]: endpoints },
    });
    await using envoy = await FakeEnvoy.start({ address: plane.address, node: { id: "n1" } });
    await envoy.waitForEndpoints("a", 1);
    // No more EDS clusters: FakeEnvoy sends an EDS request with no names.
    plane.cache.setSnapshot("n1", { version: "2", resources: { [TypeUrl.ClusterLoadAssignment]: endpoints } });
    await envoy.waitForAbsent(TypeUrl.Cluster, "a");
    await settle();
    expect(envoy.subscription(TypeUrl.ClusterLoadAssignment).names.size).toBe(0);
    // Endpoints change: a client subscribed to nothing gets nothing (an empty list is not a wildcard).
    const after = envoy.seq;
    plane.cache.setSnapshot("n1", {
      version: "3",
      resources: { [TypeUrl.ClusterLoadAssignment]: [assignment("a", 7), assignment("b", 8)] },
    });
    await settle();
    const later = envoy.history.filter((r) => r.seq > after && r.typeUrl === TypeUrl.ClusterLoadAssignment);
    expect(later.flatMap((r) => r.resourceNames)).toEqual([]);
  });
});

describe("delta", () => {
  it.each([true, false])("delta-unsubscribe: unsubscribing an unknown name is harmless (ads: %s)", async (ads) => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", {
      version: "1",
      resources: { [TypeUrl.Cluster]: [cluster("a")], [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1)] },
    });
    await using envoy = await FakeEnvoy.start({ address: plane.address, protocol: "delta", ads, node: { id: "n1" } });
    await envoy.waitForEndpoints("a", 1);
    envoy.sendRaw({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesUnsubscribe: ["never-subscribed"] });
    plane.cache.setSnapshot("n1", {
      version: "2",
      resources: { [TypeUrl.Cluster]: [cluster("a")], [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1, 2)] },
    });
    await envoy.waitForEndpoints("a", 2);
    expect(envoy.streamEnds).toEqual([]);
  });

  it("delta-removed: a subscribed name that does not exist comes back in removed_resources", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
    await using envoy = await FakeEnvoy.start({ address: plane.address, protocol: "delta", node: { id: "n1" } });
    await envoy.waitFor((e) => e.history.find((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment && r.removedNames.includes("a")), {
      description: "an EDS response removing the missing 'a'",
    });
  });
});
