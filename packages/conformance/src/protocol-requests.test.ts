// Conformance, docs/protocol.md request rules (stale nonces, superseding
// requests, re-subscription): the xdskit server against FakeEnvoy.
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { assignment, cluster } from "./support/envoy-resources.js";
import { VARIANTS } from "./support/variants.js";

const settle = () => new Promise((r) => setTimeout(r, 300));
const EDS = TypeUrl.ClusterLoadAssignment;

function snapshot(version: string, aPorts: number[] = [1]) {
  return { version, resources: { [TypeUrl.Cluster]: [cluster("a")], [EDS]: [assignment("a", ...aPorts), assignment("b", 2)] } };
}

describe.each(VARIANTS.filter((v) => v.protocol === "sotw"))("$name", (variant) => {
  const start = (plane: ControlPlane) =>
    FakeEnvoy.start({ address: plane.address, ads: variant.ads, node: { id: "n1" }, types: [], follow: false });

  it("stale-nonce: a request with an old nonce still changes the subscription", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", snapshot("1"));
    await using envoy = await start(plane);
    envoy.subscribe(EDS, ["a"]);
    await envoy.waitForEndpoints("a", 1);
    const stale = envoy.history.at(-1)!.nonce;
    plane.cache.setSnapshot("n1", snapshot("2", [1, 3]));
    await envoy.waitForEndpoints("a", 2);
    const after = envoy.seq;
    // The nonce of the first response, no longer the latest: its version is ignored, its names are not.
    envoy.sendRaw({ typeUrl: EDS, resourceNames: ["a", "b"], versionInfo: envoy.version(EDS), responseNonce: stale });
    await envoy.waitFor((e) => e.history.find((r) => r.seq > after && r.resourceNames.includes("b")), {
      description: "an EDS response holding b after the stale request",
    });
  });

  it("new-request-supersedes: the latest name list is the subscription", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", snapshot("1"));
    await using envoy = await start(plane);
    envoy.subscribe(EDS, ["a"]);
    await envoy.waitForEndpoints("a", 1);
    envoy.subscribe(EDS, ["b"]);
    envoy.unsubscribe(EDS, ["a"]);
    await envoy.waitForResource(EDS, "b");
    await settle();
    const after = envoy.seq;
    plane.cache.setSnapshot("n1", snapshot("2", [1, 3]));
    await settle();
    expect(envoy.history.filter((r) => r.seq > after).flatMap((r) => r.resourceNames)).not.toContain("a");
  });

  it("full-name-set: a name added again is sent again even if unchanged", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", snapshot("1"));
    await using envoy = await start(plane);
    envoy.subscribe(EDS, ["a", "b"]);
    await envoy.waitForResource(EDS, "b");
    envoy.unsubscribe(EDS, ["b"]);
    await envoy.waitForAbsent(EDS, "b");
    await settle();
    envoy.subscribe(EDS, ["b"]);
    await envoy.waitForResource(EDS, "b");
  });
});

describe.each(VARIANTS.filter((v) => v.protocol === "delta"))("$name", (variant) => {
  const start = (plane: ControlPlane) =>
    FakeEnvoy.start({ address: plane.address, protocol: "delta", ads: variant.ads, node: { id: "n1" }, types: [], follow: false });

  it("delta-resubscribe-resends: a name subscribed again is sent again", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", snapshot("1"));
    await using envoy = await start(plane);
    envoy.subscribe(EDS, ["a", "b"]);
    await envoy.waitForResource(EDS, "b");
    envoy.unsubscribe(EDS, ["b"]);
    await settle();
    envoy.subscribe(EDS, ["b"]);
    await envoy.waitForResource(EDS, "b");
  });

  it("delta-first-wildcard: the first wildcard request is answered even when there is nothing", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", snapshot("1"));
    await using envoy = await start(plane);
    envoy.subscribe(TypeUrl.Listener, "*");
    const ack = await envoy.waitForAck(TypeUrl.Listener);
    expect(ack.resourceNames).toEqual([]);
  });

  it("delta-versions-per-resource: every resource carries its name and version", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", snapshot("1"));
    await using envoy = await start(plane);
    envoy.subscribe(EDS, ["a", "b"]);
    await envoy.waitForResource(EDS, "b");
    await envoy.waitForResource(EDS, "a");
    for (const record of envoy.history) {
      for (const resource of (record.raw as { resources: { name: string; version: string }[] }).resources) {
        expect(resource.name).not.toBe("");
        expect(resource.version).not.toBe("");
      }
    }
    expect(envoy.resources(EDS).get("a")?.version).not.toBe(envoy.resources(EDS).get("b")?.version);
  });
});
