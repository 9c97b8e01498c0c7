// Conformance, docs/protocol.md "Ordering and warming": the xdskit server
// against FakeEnvoy.
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { assignment, cluster, listener, routes } from "./support/envoy-resources.js";
import { VARIANTS } from "./support/variants.js";

describe("SotW over ADS", () => {
  it("make-before-break: a new cluster comes before the route that names it", async () => {
    await using plane = await ControlPlane.start();
    const v1 = {
      [TypeUrl.Cluster]: [cluster("old")],
      [TypeUrl.ClusterLoadAssignment]: [assignment("old", 1)],
      [TypeUrl.Listener]: [listener("ingress", 8080, "r")],
      [TypeUrl.RouteConfiguration]: [routes("r", "old")],
    };
    plane.cache.setSnapshot("n1", { version: "1", resources: v1 });
    await using envoy = await FakeEnvoy.start({ address: plane.address, node: { id: "n1" } });
    await envoy.waitForResource(TypeUrl.RouteConfiguration, "r");
    await envoy.waitForEndpoints("old", 1);
    const after = envoy.seq;
    // Move the route to a new cluster in one snapshot.
    plane.cache.setSnapshot("n1", {
      version: "2",
      resources: {
        [TypeUrl.Cluster]: [cluster("old"), cluster("new")],
        [TypeUrl.ClusterLoadAssignment]: [assignment("old", 1), assignment("new", 2)],
        [TypeUrl.Listener]: v1[TypeUrl.Listener],
        [TypeUrl.RouteConfiguration]: [routes("r", "new")],
      },
    });
    await envoy.waitFor((e) => e.routeConfigurations.get("r")?.virtualHosts[0]?.routes[0]?.route?.cluster === "new", {
      description: "the route to the new cluster",
    });
    await envoy.waitForEndpoints("new", 1);
    // The route naming "new" comes after the cluster (routes are not warmed);
    // the endpoints of "new" can only follow the client's EDS request, which
    // it sends after accepting the cluster.
    const since = envoy.history.filter((r) => r.seq > after);
    const cds = since.findIndex((r) => r.typeUrl === TypeUrl.Cluster && r.resourceNames.includes("new"));
    const eds = since.findIndex((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment && r.resourceNames.includes("new"));
    const rds = since.findIndex((r) => r.typeUrl === TypeUrl.RouteConfiguration);
    expect(cds).toBeGreaterThanOrEqual(0);
    expect(eds).toBeGreaterThan(cds);
    expect(rds).toBeGreaterThan(cds);
  });
});

// On ADS: per-type streams are independent, and the EDS stream does not see the CDS change.
describe.each(VARIANTS.filter((v) => v.protocol === "sotw" && v.ads))("$name", (variant) => {
  it("warming: a changed cluster gets a fresh EDS response", async () => {
    await using plane = await ControlPlane.start();
    const endpoints = [assignment("a", 1)];
    plane.cache.setSnapshot("n1", {
      version: "1",
      resources: { [TypeUrl.Cluster]: [cluster("a")], [TypeUrl.ClusterLoadAssignment]: endpoints },
    });
    await using envoy = await FakeEnvoy.start({ address: plane.address, ads: variant.ads, node: { id: "n1" } });
    await envoy.waitForEndpoints("a", 1);
    const after = envoy.seq;
    plane.cache.setSnapshot("n1", {
      version: "2",
      resources: { [TypeUrl.Cluster]: [cluster("a", { connectTimeout: { seconds: 3 } })], [TypeUrl.ClusterLoadAssignment]: endpoints },
    });
    // Envoy warms the changed cluster until it gets a fresh EDS response.
    await envoy.waitFor(
      (e) => e.history.find((r) => r.seq > after && r.typeUrl === TypeUrl.ClusterLoadAssignment && r.resourceNames.includes("a")),
      { description: "an EDS response for 'a' after the cluster changed" },
    );
  });
});
