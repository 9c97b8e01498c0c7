// `xdskit serve` with a mesh model (docs/mesh.md): model documents in the
// config directory, instances from a watched file, and the model through the
// admin API (refused with the model object and field, dry run with the
// per-group diff, explain), each checked with FakeEnvoy sidecars.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { envoy, startServe, tempDir } from "./internal/serve-process.test.js";

const MODEL = `
kind: Service
metadata: { name: web, namespace: shop }
spec:
  ports: [{ port: 8080 }]
---
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  ports: [{ port: 9000 }]
  versions: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
kind: HTTPRoute
metadata: { name: orders-canary, namespace: shop }
spec:
  parentRefs: [{ name: orders }]
  rules:
    - backendRefs:
        - { name: orders, version: v1, weight: 95 }
        - { name: orders, version: v2, weight: 5 }
`;

const INSTANCES = `
shop/orders:
  - { address: 10.0.0.1, labels: { version: v1 } }
  - { address: 10.0.0.2, labels: { version: v2 } }
shop/web:
  - { address: 10.0.1.1 }
`;

const V1 = "outbound|9000|v1|orders.shop";
const V2 = "outbound|9000|v2|orders.shop";
const SIDECAR = "sidecar~shop/web";

/** The weights of the route to orders in the outbound route configuration a sidecar holds. */
function ordersWeights(proxy: Awaited<ReturnType<typeof envoy>>): Record<string, number> {
  const config = proxy.routeConfigurations.get("outbound");
  const host = config?.virtualHosts.find((v) => v.domains.some((d) => d.startsWith("orders.shop")));
  const clusters = host?.routes[0]?.route?.weightedClusters?.clusters ?? [];
  return Object.fromEntries(clusters.map((c) => [c.name, Number(c.weight ?? 0)]));
}

describe("xdskit serve with a mesh model", () => {
  it("compiles model documents from the config directory for each sidecar; instance changes reach the endpoints", async () => {
    const config = tempDir();
    const instances = join(tempDir(), "instances.yaml");
    writeFileSync(join(config, "mesh.yaml"), MODEL);
    writeFileSync(instances, INSTANCES);
    const serve = await startServe(["--config", config, "--mesh-instances", instances, "--group-by", "id"]);
    expect(serve.summary).toMatchObject({ meshObjects: 3, meshInstances: instances });
    expect(Object.keys(serve.summary.groups as object)).toContain(SIDECAR);

    const web = await envoy(serve.xdsPort, SIDECAR);
    await web.waitForResource(TypeUrl.Listener, "outbound");
    expect(await web.waitForEndpoints(V2, 1)).toEqual(["10.0.0.2:9000"]);
    await expect.poll(() => ordersWeights(web)).toEqual({ [V1]: 95, [V2]: 5 });

    writeFileSync(
      instances,
      INSTANCES.replace(
        "- { address: 10.0.0.2, labels: { version: v2 } }",
        "- { address: 10.0.0.2, labels: { version: v2 } }\n  - { address: 10.0.0.3, labels: { version: v2 } }",
      ),
    );
    expect(await web.waitForEndpoints(V2, 2)).toEqual(["10.0.0.2:9000", "10.0.0.3:9000"]);
    expect(web.nacks).toEqual([]);
  });

  it("admin API: a bad model is refused naming the object and field; dry run shows the diff per group; PUT shifts the canary; explain", async () => {
    const config = tempDir();
    const instances = join(tempDir(), "instances.yaml");
    writeFileSync(instances, INSTANCES);
    const serve = await startServe(["--config", config, "--mesh-instances", instances, "--group-by", "id"]);
    const objects = (v1: number, v2: number) => [
      { kind: "Service", metadata: { name: "web", namespace: "shop" }, spec: { ports: [{ port: 8080 }] } },
      {
        kind: "Service",
        metadata: { name: "orders", namespace: "shop" },
        spec: {
          ports: [{ port: 9000 }],
          versions: [
            { name: "v1", labels: { version: "v1" } },
            { name: "v2", labels: { version: "v2" } },
          ],
        },
      },
      {
        kind: "HTTPRoute",
        metadata: { name: "orders-canary", namespace: "shop" },
        spec: {
          parentRefs: [{ name: "orders" }],
          rules: [
            {
              backendRefs: [
                { name: "orders", version: "v1", weight: v1 },
                { name: "orders", version: "v2", weight: v2 },
              ],
            },
          ],
        },
      },
    ];

    const bad = await serve.admin("PUT", "/v1/mesh", { objects: objects(95, -5) });
    expect(bad.status).toBe(400);
    expect(bad.body.violations[0]).toMatchObject({ resource: "HTTPRoute shop/orders-canary", path: "spec.rules[0].backendRefs[1].weight" });
    expect(bad.body.violations[0].text).toMatch(/^HTTPRoute shop\/orders-canary spec.rules\[0\].backendRefs\[1\].weight: /);

    const first = await serve.admin("PUT", "/v1/mesh", { objects: objects(95, 5) });
    expect(first.status).toBe(200);
    const web = await envoy(serve.xdsPort, SIDECAR);
    await expect.poll(() => ordersWeights(web)).toEqual({ [V1]: 95, [V2]: 5 });

    const dry = await serve.admin("PUT", "/v1/mesh?dryRun=1", { objects: objects(50, 50) });
    expect(dry.body.dryRun).toBe(true);
    expect(dry.body.diff).toContainEqual(
      expect.objectContaining({ group: SIDECAR, changed: { [TypeUrl.RouteConfiguration]: ["outbound"] } }),
    );
    expect(ordersWeights(web)).toEqual({ [V1]: 95, [V2]: 5 });

    const current = await serve.admin("GET", "/v1/mesh");
    expect(current.body).toMatchObject({ revision: first.body.revision, groups: expect.arrayContaining([SIDECAR, "grpc~shop/orders"]) });
    const stale = await serve.admin("PUT", "/v1/mesh", { objects: objects(0, 100) }, { "if-match": String(first.body.revision - 1) });
    expect(stale.status).toBe(409);
    const shift = await serve.admin("PUT", "/v1/mesh", { objects: objects(50, 50) }, { "if-match": String(first.body.revision) });
    expect(shift.status).toBe(200);
    await expect.poll(() => ordersWeights(web)).toEqual({ [V1]: 50, [V2]: 50 });

    const explain = await serve.admin("GET", `/v1/mesh/explain?group=${encodeURIComponent(SIDECAR)}`);
    expect(explain.body.resources).toContainEqual({
      typeUrl: TypeUrl.RouteConfiguration,
      name: "outbound",
      sources: expect.arrayContaining(["HTTPRoute shop/orders-canary"]),
    });
    expect(web.nacks).toEqual([]);
  });
});
