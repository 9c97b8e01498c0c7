// What an Envoy sidecar receives for each object of a mesh model: @xdskit/mesh
// compiles the model, a SnapshotCache behind an XdsServer serves it, and a
// FakeEnvoy (subscribing, ACKing and NACKing like Envoy) runs it.
import { TypeUrl, unpack } from "@xdskit/envoy-api";
import type { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import type { Route } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import { HTTPFault } from "@xdskit/envoy-api/envoy/extensions/filters/http/fault/v3/fault";
import { LocalRateLimit } from "@xdskit/envoy-api/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit";
import { RBAC } from "@xdskit/envoy-api/envoy/extensions/filters/http/rbac/v3/rbac";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { DownstreamTlsContext, UpstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import { loadMeshModel, MeshCompiler, type MeshModel, StaticServiceRegistry, sidecarGroup } from "@xdskit/mesh";
import { FakeEnvoy } from "@xdskit/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";

const MODEL = `
kind: Mesh
spec: { trustDomain: example.org }
---
kind: Service
metadata: { name: web, namespace: shop }
spec: { ports: [{ port: 8080, targetPort: 8081 }], serviceAccount: web-sa }
---
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  ports: [{ port: 9000, targetPort: 9001, protocol: GRPC }]
  versions: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
kind: Service
metadata: { name: legacy, namespace: shop }
spec: { ports: [{ port: 80 }] }
---
kind: HTTPRoute
metadata: { name: orders, namespace: shop }
spec:
  parentRefs: [{ name: orders }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /beta }, headers: [{ name: x-user, value: tester }], method: POST }]
      backendRefs: [{ name: orders, version: v2 }]
      filters:
        - { type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-route, value: beta }], remove: [x-debug] } }
        - { type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 } } }
    - matches: [{ path: { type: PathPrefix, value: /old } }]
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: legacy.shop, statusCode: 301 } }]
    - backendRefs: [{ name: orders, version: v1, weight: 90 }, { name: orders, version: v2, weight: 10 }]
      filters:
        - { type: ResponseHeaderModifier, responseHeaderModifier: { add: [{ name: x-served-by, value: mesh }] } }
        - { type: RequestMirror, requestMirror: { backendRef: { name: legacy, port: 80 }, percent: 5 } }
      timeouts: { request: 2s, backendRequest: 500ms }
      retry: { attempts: 3, codes: [503], backoff: 50ms }
---
kind: TrafficPolicy
metadata: { name: orders, namespace: shop }
spec:
  targetRef: { name: orders }
  connectionPool: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 200, maxRetries: 5 }
  outlierDetection: { consecutiveErrors: 5, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 50 }
  loadBalancer: { policy: LEAST_REQUEST, localityFailover: [eu-west/a, eu-west] }
---
kind: FaultInjection
metadata: { name: legacy-slow, namespace: shop }
spec: { targetRef: { name: legacy }, delay: { fixedDelay: 1s, percent: 20 }, abort: { httpStatus: 503, percent: 5 } }
---
kind: LocalRateLimit
metadata: { name: orders, namespace: shop }
spec: { targetRef: { name: orders }, maxTokens: 50, tokensPerFill: 10, fillInterval: 1s }
---
kind: MTLSPolicy
metadata: { name: orders-strict, namespace: shop }
spec: { targetRef: { name: orders }, mode: STRICT }
---
kind: AuthorizationPolicy
metadata: { name: orders-callers, namespace: shop }
spec:
  targetRef: { name: orders }
  rules: [{ from: [{ serviceAccount: shop/web-sa }], to: [{ paths: ["/orders/*"], methods: [GET, POST] }] }]
`;

const WEB = sidecarGroup({ namespace: "shop", name: "web" });
const ORDERS = sidecarGroup({ namespace: "shop", name: "orders" });

let plane: ControlPlane;
let registry: StaticServiceRegistry;
let compiler: MeshCompiler;
let version = 0;

function publish(model: MeshModel): void {
  compiler.update(model);
  version += 1;
  for (const group of compiler.groups()) plane.cache.setSnapshot(group, { version: `m${version}`, resources: compiler.compile(group) });
}

beforeEach(async () => {
  plane = await ControlPlane.start();
  registry = new StaticServiceRegistry({
    "shop/orders": [
      { address: "10.0.0.1", labels: { version: "v1" }, locality: { region: "eu-west", zone: "a" } },
      { address: "10.0.0.2", labels: { version: "v1" }, locality: { region: "eu-west", zone: "b" } },
      { address: "10.0.0.3", labels: { version: "v2" }, locality: { region: "us-east", zone: "a" }, weight: 3 },
    ],
    "shop/legacy": [{ address: "10.0.9.1" }],
  });
  compiler = new MeshCompiler({
    registry,
    trustBundle: { inline: "-----BEGIN CERTIFICATE-----\nMESH-CA\n-----END CERTIFICATE-----\n" },
    certificates: (id) => ({ certificateChain: { inline: `cert of ${id.spiffeId}` }, privateKey: { inline: `key of ${id.spiffeId}` } }),
  });
  publish(loadMeshModel(MODEL));
});

afterEach(async () => {
  compiler.dispose();
  await plane.stop();
});

function hcmOf(listener: Listener, chain = 0): HttpConnectionManager {
  const any = listener.filterChains[chain]?.filters[0]?.typedConfig;
  if (!any) throw new Error(`listener ${listener.name} has no filter`);
  return unpack(any, HttpConnectionManager);
}

describe("an Envoy sidecar of a mesh model", () => {
  it("Service and HTTPRoute: the caller's outbound listener routes by host, with matches, splits, filters, timeouts and retries", async () => {
    await using envoy = await FakeEnvoy.start({ address: plane.address, node: { id: WEB } });
    const routes = await envoy.waitForResource(TypeUrl.RouteConfiguration, "outbound");
    expect(envoy.nacks).toEqual([]);
    expect(hcmOf(envoy.listeners.get("outbound") as Listener).rds?.routeConfigName).toBe("outbound");
    const orders = routes.virtualHosts.find((v) => v.name === "orders.shop:9000");
    expect(orders?.domains).toEqual(expect.arrayContaining(["orders.shop:9000", "orders.shop.svc.cluster.local:9000", "orders"]));
    const [beta, old, split] = (orders?.routes ?? []) as Route[];
    expect(beta?.match?.prefix).toBe("/beta");
    expect(beta?.match?.headers.map((h) => [h.name, h.stringMatch?.exact])).toEqual([
      ["x-user", "tester"],
      [":method", "POST"],
    ]);
    expect(beta?.route?.cluster).toBe("outbound|9000|v2|orders.shop");
    expect(beta?.route?.prefixRewrite).toBe("/v2");
    // `set` replaces the header (OVERWRITE_IF_EXISTS_OR_ADD = 2); `add` appends (APPEND_IF_EXISTS_OR_ADD = 0).
    expect(beta?.requestHeadersToAdd.map((h) => [h.header?.key, h.header?.value, h.appendAction])).toEqual([["x-route", "beta", 2]]);
    expect(beta?.requestHeadersToRemove).toEqual(["x-debug"]);
    expect(old?.redirect).toMatchObject({ hostRedirect: "legacy.shop", responseCode: 0 });
    expect(split?.route?.weightedClusters?.clusters.map((c) => [c.name, c.weight])).toEqual([
      ["outbound|9000|v1|orders.shop", 90],
      ["outbound|9000|v2|orders.shop", 10],
    ]);
    expect(split?.route?.timeout?.seconds.toNumber()).toBe(2);
    expect(split?.route?.retryPolicy).toMatchObject({ numRetries: 3, retriableStatusCodes: [503] });
    expect(split?.route?.retryPolicy?.retryOn).toBe("connect-failure,reset,retriable-status-codes");
    expect(split?.route?.retryPolicy?.perTryTimeout?.nanos).toBe(500_000_000);
    expect(split?.route?.requestMirrorPolicies.map((m) => m.cluster)).toEqual(["outbound|80||legacy.shop"]);
    expect(split?.responseHeadersToAdd.map((h) => [h.header?.key, h.appendAction])).toEqual([["x-served-by", 0]]);
    // A Service without routes gets one default route.
    expect(routes.virtualHosts.find((v) => v.name === "web.shop:8080")?.routes.map((r) => r.route?.cluster)).toEqual([
      "outbound|8080||web.shop",
    ]);
  });

  it("TrafficPolicy: circuit breakers, outlier detection, load balancing and locality failover on the clusters and endpoints", async () => {
    await using envoy = await FakeEnvoy.start({ address: plane.address, node: { id: WEB } });
    const v1 = await envoy.waitForResource(TypeUrl.Cluster, "outbound|9000|v1|orders.shop");
    expect(v1.circuitBreakers?.thresholds[0]).toMatchObject({
      maxConnections: 100,
      maxPendingRequests: 10,
      maxRequests: 200,
      maxRetries: 5,
    });
    expect(v1.outlierDetection).toMatchObject({ consecutive5xx: 5, maxEjectionPercent: 50 });
    expect(v1.lbPolicy).toBe(1); // LEAST_REQUEST
    expect(Object.keys(v1.typedExtensionProtocolOptions)).toEqual(["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]); // HTTP/2 for GRPC
    expect(await envoy.waitForEndpoints("outbound|9000|v1|orders.shop", 2)).toEqual(["10.0.0.1:9001", "10.0.0.2:9001"]);
    const all = envoy.clusterLoadAssignments.get("outbound|9000||orders.shop");
    expect(all?.endpoints.map((l) => [l.locality?.region, l.locality?.zone, l.priority])).toEqual([
      ["eu-west", "a", 0],
      ["eu-west", "b", 1],
      ["us-east", "a", 2],
    ]);
    expect(all?.endpoints[2]?.lbEndpoints[0]?.loadBalancingWeight).toBe(3);
  });

  it("FaultInjection: the Service's routes carry the fault config, and the listener has the fault filter", async () => {
    await using envoy = await FakeEnvoy.start({ address: plane.address, node: { id: WEB } });
    const routes = await envoy.waitForResource(TypeUrl.RouteConfiguration, "outbound");
    const legacy = routes.virtualHosts.find((v) => v.name === "legacy.shop:80")?.routes[0];
    const fault = unpack(legacy?.typedPerFilterConfig["envoy.filters.http.fault"] as never, HTTPFault);
    expect(fault.delay?.fixedDelay?.seconds.toNumber()).toBe(1);
    expect(fault.delay?.percentage).toMatchObject({ numerator: 20 });
    expect(fault.abort).toMatchObject({ httpStatus: 503, percentage: { numerator: 5 } });
    expect(hcmOf(envoy.listeners.get("outbound") as Listener).httpFilters.map((f) => f.name)).toEqual([
      "envoy.filters.http.fault",
      "envoy.filters.http.router",
    ]);
  });

  it("MTLSPolicy, AuthorizationPolicy and LocalRateLimit: the callee's inbound listener, the caller's upstream TLS, secrets by SDS", async () => {
    await using callee = await FakeEnvoy.start({ address: plane.address, node: { id: ORDERS } });
    const inbound = await callee.waitForResource(TypeUrl.Listener, "inbound|9000");
    expect(inbound.address?.socketAddress).toMatchObject({ address: "0.0.0.0", portValue: 9000 });
    const tls = unpack(inbound.filterChains[0]?.transportSocket?.typedConfig as never, DownstreamTlsContext);
    expect(tls.requireClientCertificate).toBe(true);
    expect(tls.commonTlsContext?.tlsCertificateSdsSecretConfigs.map((s) => s.name)).toEqual(["workload-certificate"]);
    const filters = hcmOf(inbound).httpFilters;
    expect(filters.map((f) => f.name)).toEqual([
      "envoy.filters.http.rbac.allow",
      "envoy.filters.http.local_ratelimit",
      "envoy.filters.http.router",
    ]);
    const rbac = unpack(filters[0]?.typedConfig as never, RBAC);
    const policy = rbac.rules?.policies["shop/orders-callers[0]"];
    expect(policy?.principals[0]?.authenticated?.principalName?.exact).toBe("spiffe://example.org/ns/shop/sa/web-sa");
    expect(JSON.stringify(policy?.permissions)).toContain('"prefix":"/orders/"');
    const limit = unpack(filters[1]?.typedConfig as never, LocalRateLimit);
    expect(limit.tokenBucket).toMatchObject({ maxTokens: 50, tokensPerFill: 10 });
    expect(
      callee.clusters.get("inbound|9000|local")?.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.endpoint?.address?.socketAddress,
    ).toMatchObject({
      address: "127.0.0.1",
      portValue: 9001,
    });
    // Secrets: the callee's own certificate (its identity) and the trust bundle, fetched by SDS.
    const cert = await callee.waitForResource(TypeUrl.Secret, "workload-certificate");
    expect(cert.tlsCertificate?.certificateChain?.inlineString).toBe("cert of spiffe://example.org/ns/shop/sa/orders");
    await callee.waitForResource(TypeUrl.Secret, "mesh-trust-bundle");
    expect(callee.nacks).toEqual([]);

    // The caller verifies the callee's identity; it calls legacy (no mTLS policy) in plain text.
    await using caller = await FakeEnvoy.start({ address: plane.address, node: { id: WEB } });
    const upstream = await caller.waitForResource(TypeUrl.Cluster, "outbound|9000|v2|orders.shop");
    const utls = unpack(upstream.transportSocket?.typedConfig as never, UpstreamTlsContext);
    expect(
      utls.commonTlsContext?.combinedValidationContext?.defaultValidationContext?.matchTypedSubjectAltNames.map((m) => m.matcher?.exact),
    ).toEqual(["spiffe://example.org/ns/shop/sa/orders"]);
    expect(caller.clusters.get("outbound|80||legacy.shop")?.transportSocket).toBeUndefined();
    const callerCert = await caller.waitForResource(TypeUrl.Secret, "workload-certificate");
    expect(callerCert.tlsCertificate?.certificateChain?.inlineString).toBe("cert of spiffe://example.org/ns/shop/sa/web-sa");
  });

  it("instance churn changes only endpoints", async () => {
    await using envoy = await FakeEnvoy.start({ address: plane.address, node: { id: WEB } });
    await envoy.waitForEndpoints("outbound|9000|v2|orders.shop", 1);
    await envoy.waitForResource(TypeUrl.Secret, "workload-certificate");
    await envoy.waitForResource(TypeUrl.Secret, "mesh-trust-bundle");
    const others = [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.Cluster, TypeUrl.Secret];
    const versions = others.map((t) => envoy.version(t));
    const seq = envoy.seq;
    const built = compiler.stats.built;
    registry.set({ namespace: "shop", name: "orders" }, [
      { address: "10.0.0.3", labels: { version: "v2" } },
      { address: "10.0.0.4", labels: { version: "v2" } },
    ]);
    publish(loadMeshModel(MODEL));
    expect(await envoy.waitForEndpoints("outbound|9000|v2|orders.shop", 2)).toEqual(["10.0.0.3:9001", "10.0.0.4:9001"]);
    // Three endpoint sets of orders (all, v1, v2), built once for every sidecar group and once for gRPC clients,
    // and the listeners of orders' gRPC servers (instances 10.0.0.3 and 10.0.0.4).
    expect(compiler.stats.built - built).toBe(6 + 2);
    expect(others.map((t) => envoy.version(t))).toEqual(versions);
    expect(envoy.history.filter((r) => r.seq > seq).map((r) => r.typeUrl)).toEqual([TypeUrl.ClusterLoadAssignment]);
  });

  it("refuses a bad model naming the object and field, and the sidecar keeps its config", async () => {
    await using envoy = await FakeEnvoy.start({ address: plane.address, node: { id: WEB } });
    await envoy.waitForResource(TypeUrl.RouteConfiguration, "outbound");
    const before = envoy.version(TypeUrl.RouteConfiguration);
    const bad = MODEL.replace("weight: 10 }", "weight: -10 }");
    expect(() => publish(loadMeshModel(bad, { validate: false }))).toThrow(
      "HTTPRoute shop/orders: spec.rules[2].backendRefs[1].weight: expected an integer from 0 to 1000000; got -10",
    );
    expect(envoy.version(TypeUrl.RouteConfiguration)).toBe(before);
    expect(compiler.groups()).toContain(WEB);
  });
});
