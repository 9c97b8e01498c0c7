// Conformance, docs/protocol.md reconnect rules: the xdskit server against
// FakeEnvoy disconnecting and reconnecting, SotW and delta, ADS and per-type.
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { assignment, cluster } from "./support/envoy-resources.js";
import { VARIANTS } from "./support/variants.js";

const settle = () => new Promise((r) => setTimeout(r, 300));

describe.each(VARIANTS.filter((v) => v.protocol === "sotw"))("$name", (variant) => {
  it("reconnect-version: after a reconnect with the last version, later changes arrive", async () => {
    await using plane = await ControlPlane.start();
    const resources = { [TypeUrl.Cluster]: [cluster("a")], [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1)] };
    plane.cache.setSnapshot("n1", { version: "1", resources });
    await using envoy = await FakeEnvoy.start({ address: plane.address, ads: variant.ads, node: { id: "n1" } });
    await envoy.waitForEndpoints("a", 1);
    await envoy.reconnect();
    // Changed while connected again: delivered, and nothing is NACKed or lost.
    plane.cache.setSnapshot("n1", { version: "2", resources: { ...resources, [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1, 2)] } });
    await envoy.waitForEndpoints("a", 2);
    expect(envoy.clusters.has("a")).toBe(true);
    expect(envoy.nacks).toEqual([]);
  });

  it("reconnect-version: changes made while the client was away are sent on reconnect", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", {
      version: "1",
      resources: { [TypeUrl.Cluster]: [cluster("a")], [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1)] },
    });
    await using envoy = await FakeEnvoy.start({ address: plane.address, ads: variant.ads, node: { id: "n1" } });
    await envoy.waitForEndpoints("a", 1);
    envoy.disconnect();
    plane.cache.setSnapshot("n1", {
      version: "2",
      resources: { [TypeUrl.Cluster]: [cluster("b")], [TypeUrl.ClusterLoadAssignment]: [assignment("b", 5)] },
    });
    await envoy.reconnect();
    await envoy.waitForEndpoints("b", 1);
    await envoy.waitForAbsent(TypeUrl.Cluster, "a");
  });
});

describe.each(VARIANTS.filter((v) => v.protocol === "delta"))("$name", (variant) => {
  it("delta-initial-versions: only what differs is sent, and removed_resources for what is gone", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", {
      version: "1",
      resources: { [TypeUrl.Cluster]: [cluster("keep"), cluster("change"), cluster("drop")] },
    });
    await using envoy = await FakeEnvoy.start({
      address: plane.address,
      protocol: "delta",
      ads: variant.ads,
      node: { id: "n1" },
      follow: false,
      types: [TypeUrl.Cluster],
    });
    await envoy.waitFor((e) => e.clusters.size === 3, { description: "three clusters" });
    envoy.disconnect();
    plane.cache.setSnapshot("n1", {
      version: "2",
      resources: { [TypeUrl.Cluster]: [cluster("keep"), cluster("change", { connectTimeout: { seconds: 7 } })] },
    });
    const after = envoy.seq;
    await envoy.reconnect();
    await envoy.waitForAbsent(TypeUrl.Cluster, "drop");
    await envoy.waitFor((e) => e.clusters.get("change")?.connectTimeout?.seconds.toNumber() === 7, { description: "the changed cluster" });
    await settle();
    const since = envoy.history.filter((r) => r.seq > after);
    expect(since.flatMap((r) => r.resourceNames)).toEqual(["change"]);
    expect(since.flatMap((r) => r.removedNames)).toEqual(["drop"]);
  });

  it("delta-initial-versions: a reconnect with everything current sends nothing", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });
    await using envoy = await FakeEnvoy.start({
      address: plane.address,
      protocol: "delta",
      ads: variant.ads,
      node: { id: "n1" },
      follow: false,
      types: [TypeUrl.Cluster],
    });
    await envoy.waitFor((e) => e.clusters.size === 2, { description: "two clusters" });
    const after = envoy.seq;
    await envoy.reconnect();
    await settle();
    const since = envoy.history.filter((r) => r.seq > after);
    expect(since.flatMap((r) => [...r.resourceNames, ...r.removedNames])).toEqual([]);
  });
});
