import { ErrorCode, XdskitError } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { loadMeshModel, MeshModelErrors, validateMeshModel } from "./index.js";

const GOOD = `
kind: Mesh
spec: { trustDomain: example.org }
---
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  ports: [{ name: grpc, port: 50051, protocol: GRPC }]
  versions:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
kind: Service
metadata: { name: web, namespace: shop }
spec: { ports: [{ port: 8080 }] }
---
kind: HTTPRoute
metadata: { name: web-to-orders, namespace: shop }
spec:
  parentRefs: [{ name: orders, port: 50051 }]
  rules:
    - matches: [{ headers: [{ name: x-canary, value: "yes" }] }]
      backendRefs: [{ name: orders, version: v2 }]
    - backendRefs:
        - { name: orders, version: v1, weight: 95 }
        - { name: orders, version: v2, weight: 5 }
      timeouts: { request: 2s }
      retry: { attempts: 2, codes: [503], grpcStatuses: [unavailable], backoff: 25ms }
---
- kind: TrafficPolicy
  metadata: { name: orders, namespace: shop }
  spec:
    targetRef: { name: orders }
    connectionPool: { maxRequests: 100 }
    outlierDetection: { consecutiveErrors: 5, interval: 1s }
    loadBalancer: { policy: RING_HASH, hashHeader: x-user }
- kind: FaultInjection
  metadata: { name: chaos, namespace: shop }
  spec: { targetRef: { kind: HTTPRoute, name: web-to-orders }, abort: { grpcStatus: 14, percent: 50 } }
- kind: AuthorizationPolicy
  metadata: { name: orders-callers, namespace: shop }
  spec:
    targetRef: { name: orders }
    rules: [{ from: [{ serviceAccount: shop/web }], to: [{ paths: ["/orders.Orders/*"] }] }]
`;

describe("loadMeshModel", () => {
  it("reads multi-document YAML, lists included, and the trust domain", () => {
    const model = loadMeshModel(GOOD);
    expect(model.trustDomain).toBe("example.org");
    expect(model.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Service/orders",
      "Service/web",
      "HTTPRoute/web-to-orders",
      "TrafficPolicy/orders",
      "FaultInjection/chaos",
      "AuthorizationPolicy/orders-callers",
    ]);
    expect(validateMeshModel(model)).toEqual([]);
  });

  it("names the object and the field of every problem, with a stable code", () => {
    const bad = GOOD.replace("weight: 5 }", "weight: -1 }").replace("interval: 1s", "interval: soon");
    let thrown: unknown;
    try {
      loadMeshModel(bad);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MeshModelErrors);
    const errors = (thrown as MeshModelErrors).errors;
    expect(XdskitError.is(thrown)).toBe(true);
    expect((thrown as XdskitError).code).toBe(ErrorCode.INVALID_MESH_MODEL);
    expect(errors.map((e) => e.message)).toEqual([
      "HTTPRoute shop/web-to-orders: spec.rules[1].backendRefs[1].weight: expected an integer from 0 to 1000000; got -1",
      'TrafficPolicy shop/orders: spec.outlierDetection.interval: expected a duration such as "250ms", "1.5s" or "1m"; got "soon"',
    ]);
    expect(errors[0]).toMatchObject({
      kind: "HTTPRoute",
      namespace: "shop",
      objectName: "web-to-orders",
      path: "spec.rules[1].backendRefs[1].weight",
    });
    expect(errors[0]?.resourceName).toBe("HTTPRoute shop/web-to-orders");
  });

  it("reports YAML syntax errors with the source and line", () => {
    expect(() => loadMeshModel("kind: Service\n  metadata: [", { source: "mesh.yaml" })).toThrow(
      /Mesh -\/mesh.yaml: YAML does not parse: .*line/,
    );
  });

  it("returns the model unchecked with validate: false", () => {
    const model = loadMeshModel("kind: Nope\n", { validate: false });
    expect(validateMeshModel(model).map((e) => e.message)).toEqual([
      'Nope default/#0: kind: expected one of "Service", "HTTPRoute", "GRPCRoute", "TrafficPolicy", "FaultInjection", "LocalRateLimit", "MTLSPolicy", "AuthorizationPolicy"; got "Nope"',
    ]);
  });
});

describe("validateMeshModel references", () => {
  const svc = {
    kind: "Service",
    metadata: { name: "orders" },
    spec: { ports: [{ port: 80 }], versions: [{ name: "v1", labels: { v: "1" } }] },
  } as const;
  const route = (rule: object, parent: object = { name: "orders" }) =>
    ({ kind: "HTTPRoute", metadata: { name: "r" }, spec: { parentRefs: [parent], rules: [rule] } }) as never;

  it("checks parents, backends, versions, ports and weights", () => {
    const messages = (o: never) => validateMeshModel({ objects: [svc, o] }).map((e) => e.message);
    expect(messages(route({ backendRefs: [{ name: "payments" }] }))).toEqual([
      "HTTPRoute default/r: spec.rules[0].backendRefs[0].name: expected a Service of the model; there is no Service default/payments",
    ]);
    expect(messages(route({ backendRefs: [{ name: "orders", version: "v9", port: 81 }] }))).toEqual([
      "HTTPRoute default/r: spec.rules[0].backendRefs[0].port: expected a port of Service default/orders (80); got 81",
      'HTTPRoute default/r: spec.rules[0].backendRefs[0].version: expected a version of Service default/orders ("v1"); got "v9"',
    ]);
    expect(messages(route({ backendRefs: [{ name: "orders", weight: 0 }] }))).toEqual([
      "HTTPRoute default/r: spec.rules[0].backendRefs: expected a backend with a weight above 0; all are 0",
    ]);
    expect(messages(route({ backendRefs: [{ name: "orders" }], retyr: {} }))).toEqual([
      'HTTPRoute default/r: spec.rules[0].retyr: expected one of the fields matches, filters, backendRefs, timeouts, retry; got "retyr"',
    ]);
    expect(messages(route({ backendRefs: [{ name: "orders" }] }, { name: "ghost" }))).toEqual([
      "HTTPRoute default/r: spec.parentRefs[0].name: expected a Service of the model; there is no Service default/ghost",
    ]);
  });

  it("checks policy targets and duplicate names", () => {
    const fault = {
      kind: "FaultInjection",
      metadata: { name: "f" },
      spec: { targetRef: { kind: "GRPCRoute", name: "x" }, abort: { httpStatus: 503, percent: 101 } },
    };
    const errors = validateMeshModel({ objects: [svc, svc, fault] as never });
    expect(errors.map((e) => e.message)).toEqual([
      'Service default/orders: metadata.name: expected a name not used by another object of this kind and namespace; got "orders"',
      "FaultInjection default/f: spec.abort.percent: expected a percentage from 0 to 100; got 101",
    ]);
    expect(validateMeshModel(null as never)[0]?.message).toBe("Mesh -/model: expected a mesh model { trustDomain?, objects }; got null");
  });
});
