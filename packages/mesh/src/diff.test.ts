import { TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { diffMeshModels, type MeshModel, type MeshObject, StaticServiceRegistry } from "./index.js";

const svc = (name: string, versions: string[] = []): MeshObject => ({
  kind: "Service",
  metadata: { name, namespace: "shop" },
  spec: { ports: [{ port: 8080 }], versions: versions.map((v) => ({ name: v, labels: { version: v } })) },
});
const canary = (v2: number): MeshObject => ({
  kind: "HTTPRoute",
  metadata: { name: "orders", namespace: "shop" },
  spec: {
    parentRefs: [{ name: "orders" }],
    rules: [
      {
        backendRefs: [
          { name: "orders", version: "v1", weight: 100 - v2 },
          { name: "orders", version: "v2", weight: v2 },
        ],
      },
    ],
  },
});

describe("diffMeshModels", () => {
  const registry = new StaticServiceRegistry({ "shop/orders": [{ address: "10.0.0.1", labels: { version: "v1" } }] });
  const base: MeshModel = { objects: [svc("web"), svc("orders", ["v1", "v2"]), canary(5)] };

  it("a canary shift changes only the routes, in every group", () => {
    const diff = diffMeshModels(base, { objects: [svc("web"), svc("orders", ["v1", "v2"]), canary(50)] }, { registry });
    expect(diff.map((d) => d.group)).toEqual(["grpc~shop/orders", "grpc~shop/web", "sidecar~shop/orders", "sidecar~shop/web"]);
    for (const d of diff) {
      expect(d.added).toEqual({});
      expect(d.removed).toEqual({});
      expect(d.changed).toEqual({ [TypeUrl.RouteConfiguration]: [d.group.startsWith("grpc") ? "orders.shop:8080" : "outbound"] });
    }
  });

  it("a new Service adds its resources everywhere and its own groups", () => {
    const diff = diffMeshModels(base, { objects: [...base.objects, svc("payments")] }, { registry });
    const web = diff.find((d) => d.group === "sidecar~shop/web");
    expect(web?.added).toEqual({
      [TypeUrl.Cluster]: ["outbound|8080||payments.shop"],
      [TypeUrl.ClusterLoadAssignment]: ["outbound|8080||payments.shop"],
    });
    expect(web?.changed).toEqual({ [TypeUrl.RouteConfiguration]: ["outbound"] });
    expect(diff.find((d) => d.group === "sidecar~shop/payments")?.added[TypeUrl.Listener]).toEqual(["outbound", "inbound|8080"]);
    expect(diffMeshModels(base, base, { registry })).toEqual([]);
  });

  it("refuses an invalid model naming the object", () => {
    expect(() => diffMeshModels(base, { objects: [canary(5)] })).toThrow(/HTTPRoute shop\/orders: spec.parentRefs\[0\].name/);
  });
});
