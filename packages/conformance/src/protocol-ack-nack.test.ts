// Conformance, docs/protocol.md "ACK / NACK / versions": the xdskit server
// against FakeEnvoy, SotW and delta, ADS and per-type.
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { assignment, cluster } from "./support/envoy-resources.js";
import { VARIANTS } from "./support/variants.js";

const settle = () => new Promise((r) => setTimeout(r, 300));

describe.each(VARIANTS)("$name", (variant) => {
  const start = (plane: ControlPlane, extra: Parameters<typeof FakeEnvoy.start>[0] extends infer O ? Partial<O> : never = {}) =>
    FakeEnvoy.start({ address: plane.address, protocol: variant.protocol, ads: variant.ads, node: { id: "n1" }, ...extra });

  it("ack-detection: the ACK (nonce, version, no error_detail) shows in node status", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
    await using envoy = await start(plane);
    const ack = await envoy.waitForAck(TypeUrl.Cluster);
    const status = await until("the ACK in node status", () => plane.status.nodeStatus("n1")?.types[TypeUrl.Cluster]?.lastAck);
    expect(status.nonce).toBe(ack.nonce);
    if (variant.protocol === "sotw") expect(status.version).toBe(ack.version);
    expect(plane.status.nodeStatus("n1")?.types[TypeUrl.Cluster]?.lastNack).toBeUndefined();
  });

  it("nack-detection: the NACK (error_detail, kept and rejected versions) shows in node status", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
    await using envoy = await start(plane, { nackRules: [{ name: "b", message: "b rejected" }] });
    await envoy.waitForResource(TypeUrl.Cluster, "a");
    const accepted = await until("the first ACK", () => plane.status.nodeStatus("n1")?.types[TypeUrl.Cluster]?.lastAck);
    plane.cache.setSnapshot("n1", { version: "2", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });
    const nack = await envoy.waitForNack({ resourceName: "b" });
    const status = await until("the NACK in node status", () => plane.status.nodeStatus("n1")?.types[TypeUrl.Cluster]?.lastNack);
    expect(status.nonce).toBe(nack.nonce);
    expect(status.error).toEqual({ code: 3, message: "Error adding/updating cluster(s) b: b: b rejected" });
    if (variant.protocol === "sotw") {
      expect(status.keptVersion).toBe(accepted.version);
      expect(status.rejectedVersion).toBe(nack.version);
    }
  });

  it("nack-no-resend: a NACKed version is not resent; the next different content is", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
    await using envoy = await start(plane, { follow: false, types: [TypeUrl.Cluster], nackRules: [{ name: "b" }] });
    await envoy.waitForResource(TypeUrl.Cluster, "a");
    plane.cache.setSnapshot("n1", { version: "2", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });
    await envoy.waitForNack({ resourceName: "b" });
    await settle();
    expect(envoy.history.filter((r) => r.typeUrl === TypeUrl.Cluster)).toHaveLength(2);
    // New content is sent (and accepted once the rule no longer matches).
    plane.cache.setSnapshot("n1", { version: "3", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("c")] } });
    await envoy.waitForResource(TypeUrl.Cluster, "c");
  });

  it("sotw-answer-when-version-differs: no answer to an ACK, none for changes to names not subscribed", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", {
      version: "1",
      resources: { [TypeUrl.Cluster]: [cluster("a")], [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1), assignment("unrelated", 2)] },
    });
    await using envoy = await start(plane);
    await envoy.waitForEndpoints("a", 1);
    await settle();
    const before = envoy.history.length;
    // A change to a resource this client did not subscribe to sends nothing.
    plane.cache.setSnapshot("n1", {
      version: "2",
      resources: { [TypeUrl.Cluster]: [cluster("a")], [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1), assignment("unrelated", 3)] },
    });
    await settle();
    expect(envoy.history.slice(before).filter((r) => r.resourceNames.length > 0 || r.removedNames.length > 0)).toEqual([]);
  });

  it("versions-per-type: an endpoint change does not resend clusters or change their version", async () => {
    await using plane = await ControlPlane.start();
    const resources = { [TypeUrl.Cluster]: [cluster("a")], [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1)] };
    plane.cache.setSnapshot("n1", { version: "1", resources });
    await using envoy = await start(plane);
    await envoy.waitForEndpoints("a", 1);
    await settle();
    const clusterVersion = envoy.resources(TypeUrl.Cluster).get("a")!.version;
    const cdsResponses = envoy.history.filter((r) => r.typeUrl === TypeUrl.Cluster).length;
    plane.cache.setSnapshot("n1", { version: "2", resources: { ...resources, [TypeUrl.ClusterLoadAssignment]: [assignment("a", 1, 2)] } });
    await envoy.waitForEndpoints("a", 2);
    await settle();
    // Only endpoints changed: clusters are not resent and keep their version.
    expect(envoy.history.filter((r) => r.typeUrl === TypeUrl.Cluster)).toHaveLength(cdsResponses);
    expect(envoy.resources(TypeUrl.Cluster).get("a")!.version).toBe(clusterVersion);
  });
});
