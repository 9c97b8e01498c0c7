import { TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { grpcGroup, loadMeshModel, MeshCompiler, type MeshModel, StaticServiceRegistry, sidecarGroup } from "./index.js";

const MODEL = `
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  ports: [{ port: 50051, targetPort: 9000, protocol: GRPC }]
  versions: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
kind: Service
metadata: { name: web, namespace: shop }
spec: { ports: [{ port: 8080, targetPort: 8081 }] }
---
kind: Service
metadata: { name: payments, namespace: shop }
spec: { ports: [{ port: 8080 }] }
---
kind: GRPCRoute
metadata: { name: orders-canary, namespace: shop }
spec:
  parentRefs: [{ name: orders }]
  rules:
    - matches: [{ headers: [{ name: x-canary, value: "yes" }] }]
      backendRefs: [{ name: orders, version: v2 }]
    - backendRefs: [{ name: orders, version: v1, weight: 95 }, { name: orders, version: v2, weight: 5 }]
      retry: { attempts: 2, grpcStatuses: [unavailable] }
      timeouts: { request: 3s }
---
kind: TrafficPolicy
metadata: { name: orders, namespace: shop }
spec:
  targetRef: { name: orders }
  connectionPool: { maxRequests: 50, maxConnections: 10 }
  outlierDetection: { consecutiveErrors: 3, interval: 1s }
---
kind: FaultInjection
metadata: { name: orders-chaos, namespace: shop }
spec: { targetRef: { kind: GRPCRoute, name: orders-canary }, abort: { grpcStatus: 14, percent: 10 } }
---
kind: AuthorizationPolicy
metadata: { name: orders-callers, namespace: shop }
spec:
  targetRef: { name: orders }
  rules: [{ from: [{ serviceAccount: shop/web }], to: [{ paths: ["/orders.Orders/*"] }] }]
---
kind: LocalRateLimit
metadata: { name: orders-limit, namespace: shop }
spec: { targetRef: { name: orders }, maxTokens: 100, fillInterval: 1s }
---
kind: MTLSPolicy
metadata: { name: strict, namespace: shop }
spec: { mode: STRICT }
`;

function registry() {
  return new StaticServiceRegistry({
    "shop/orders": [
      { address: "10.0.0.1", labels: { version: "v1" }, locality: { region: "eu", zone: "a" } },
      { address: "10.0.0.2", labels: { version: "v2" }, locality: { region: "eu", zone: "b" } },
    ],
    "shop/web": [{ address: "10.0.1.1" }],
  });
}

const names = (resources: Record<string, unknown[]>, type: string) =>
  (resources[type] ?? []).map((r) => (r as { name?: string; clusterName?: string }).name ?? (r as { clusterName: string }).clusterName);

describe("MeshCompiler", () => {
  it("compiles a sidecar group: outbound listener, routes, clusters per version, inbound with RBAC, rate limit and mTLS", () => {
    const compiler = new MeshCompiler({ registry: registry() });
    compiler.update(loadMeshModel(MODEL));
    const out = compiler.compile(sidecarGroup({ namespace: "shop", name: "orders" }));
    expect(names(out, TypeUrl.Listener)).toEqual(["outbound", "inbound|50051"]);
    expect(names(out, TypeUrl.Cluster)).toContain("outbound|50051|v2|orders.shop");
    expect(names(out, TypeUrl.Cluster)).toContain("inbound|50051|local");
    const v2 = (out[TypeUrl.ClusterLoadAssignment] ?? []).find(
      (c) => (c as { clusterName: string }).clusterName === "outbound|50051|v2|orders.shop",
    ) as {
      endpoints: { lbEndpoints: { endpoint: { address: { socketAddress: { address: string; portValue: number } } } }[] }[];
    };
    expect(
      v2.endpoints.flatMap((l) =>
        l.lbEndpoints.map((e) => `${e.endpoint.address.socketAddress.address}:${e.endpoint.address.socketAddress.portValue}`),
      ),
    ).toEqual(["10.0.0.2:9000"]);
    const cluster = (out[TypeUrl.Cluster] ?? []).find((c) => (c as { name: string }).name === "outbound|50051|v1|orders.shop") as {
      circuitBreakers: { thresholds: { maxRequests: number; maxConnections: number }[] };
      outlierDetection: { consecutive5xx: number };
      transportSocket?: { name: string };
    };
    expect(cluster.circuitBreakers.thresholds[0]).toMatchObject({ maxRequests: 50, maxConnections: 10 });
    expect(cluster.outlierDetection.consecutive5xx).toBe(3);
    expect(cluster.transportSocket?.name).toBe("envoy.transport_sockets.tls");
    const explained = compiler.explain(sidecarGroup({ namespace: "shop", name: "orders" }));
    expect(explained.find((e) => e.name === "outbound" && e.typeUrl === TypeUrl.RouteConfiguration)?.sources).toEqual(
      expect.arrayContaining(["GRPCRoute shop/orders-canary", "FaultInjection shop/orders-chaos", "Service shop/orders"]),
    );
    expect(explained.find((e) => e.name === "inbound|50051")?.sources).toEqual([
      "Service shop/orders",
      "AuthorizationPolicy shop/orders-callers",
      "MTLSPolicy shop/strict",
      "LocalRateLimit shop/orders-limit",
    ]);
    expect(
      explained.find((e) => e.typeUrl === TypeUrl.ClusterLoadAssignment && e.name === "outbound|50051|v2|orders.shop")?.sources,
    ).toEqual(["Service shop/orders", "ServiceInstances shop/orders", "TrafficPolicy shop/orders"]);
  });

  it("compiles a proxyless gRPC group that passes the gRPC profile", () => {
    const compiler = new MeshCompiler({ registry: registry() });
    compiler.update(loadMeshModel(MODEL));
    const out = compiler.compile(grpcGroup({ namespace: "shop", name: "web" }));
    // Client listeners for every Service port, and the server listener of each web instance (gRFC A36).
    expect(names(out, TypeUrl.Listener)).toEqual([
      "orders.shop:50051",
      "payments.shop:8080",
      "web.shop:8080",
      "grpc/server?xds.resource.listening_address=10.0.1.1:8081",
    ]);
    const routes = (out[TypeUrl.RouteConfiguration] ?? [])[0] as {
      virtualHosts: {
        routes: {
          match: { headers: unknown[] };
          route: { weightedClusters?: { clusters: { name: string; weight: number }[] }; retryPolicy?: { numRetries: number } };
        }[];
      }[];
    };
    const [canary, split] = routes.virtualHosts[0]?.routes ?? [];
    expect(canary?.match.headers).toHaveLength(1);
    expect(split?.route.weightedClusters?.clusters.map((c) => [c.name, c.weight])).toEqual([
      ["outbound|50051|v1|orders.shop", 95],
      ["outbound|50051|v2|orders.shop", 5],
    ]);
    expect(split?.route.retryPolicy?.numRetries).toBe(2);
  });

  it("recompiles only what a change touches, and registry churn only endpoints", () => {
    const reg = registry();
    const compiler = new MeshCompiler({ registry: reg });
    const model = loadMeshModel(MODEL);
    compiler.update(model);
    const all = () => {
      for (const g of compiler.groups()) compiler.compile(g);
    };
    all();
    const first = compiler.stats.built;
    console.info(`first compile of ${compiler.groups().length} groups: ${first} resources built`);
    all();
    expect(compiler.stats.built).toBe(first);

    // Change the payments Service (a new port): its clusters, endpoints, listeners and the outbound routes change; nothing of orders or web.
    const changed: MeshModel = {
      objects: model.objects.map((o) =>
        o.kind === "Service" && o.metadata.name === "payments" ? { ...o, spec: { ports: [{ port: 8080 }, { port: 9090 }] } } : o,
      ),
    };
    compiler.update(changed);
    let before = compiler.stats.built;
    all();
    const rebuilt = compiler.stats.built - before;
    // Sidecars (shared by the three sidecar groups): the outbound routes, payments' 2 clusters and 2 endpoints.
    // gRPC clients: payments' 2 clusters, 2 endpoints, both route configs (they name the Service) and the new port's listener.
    // The payments sidecar's inbound side: 2 listeners and 2 local clusters.
    expect(rebuilt).toBe(1 + 4 + (4 + 2 + 1) + 4);
    expect(
      compiler
        .explain(sidecarGroup({ namespace: "shop", name: "web" }))
        .filter((e) => e.sources.includes("Service shop/payments"))
        .map((e) => e.name),
    ).toEqual([
      "outbound",
      "outbound|8080||payments.shop",
      "outbound|8080||payments.shop",
      "outbound|9090||payments.shop",
      "outbound|9090||payments.shop",
    ]);

    before = compiler.stats.built;
    reg.set({ namespace: "shop", name: "orders" }, [{ address: "10.0.0.9", labels: { version: "v1" } }]);
    all();
    // orders has 3 endpoint sets (all, v1, v2) per profile, and its gRPC servers' listener (one instance now).
    expect(compiler.stats.built - before).toBe(7);
  });

  it("keeps the last good model when an update is refused", () => {
    const compiler = new MeshCompiler();
    compiler.update(loadMeshModel(MODEL));
    expect(() => compiler.update({ objects: [{ kind: "Service", metadata: { name: "x" }, spec: { ports: [] } }] } as never)).toThrow(
      /Service default\/x: spec.ports: expected at least one port/,
    );
    expect(compiler.groups()).toContain("sidecar~shop/orders");
  });
});
