import { TypeUrl, unpack } from "@xdskit/envoy-api";
import type { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { HttpProtocolOptions } from "@xdskit/envoy-api/envoy/extensions/upstreams/http/v3/http_protocol_options";
import { describe, expect, it } from "vitest";
import {
  aggregateCluster,
  cluster,
  formatViolation,
  lbEndpoint,
  loadAssignment,
  ResourceTypes,
  validate,
  WellKnownName,
} from "../index.js";

function expectValidAndEncodes(c: Cluster): void {
  expect(validate(ResourceTypes.Cluster, c).map(formatViolation)).toEqual([]);
  const codec = ResourceTypes.Cluster.messageType;
  const bytes = codec.encode(c).finish();
  expect(codec.encode(codec.decode(bytes)).finish()).toEqual(bytes);
}

describe("cluster", () => {
  it("defaults to an EDS cluster over ADS with round robin and a 5s connect timeout", () => {
    const c = cluster({ name: "web" });
    expectValidAndEncodes(c);
    expect(c.type).toBe(3);
    expect(c.edsClusterConfig?.edsConfig?.ads).toEqual({});
    expect(c.connectTimeout?.seconds.toNumber()).toBe(5);
    expect(c.lbPolicy).toBe(0);
    expect(ResourceTypes.Cluster.references(c)).toEqual([{ typeUrl: TypeUrl.ClusterLoadAssignment, name: "web", path: "name" }]);
    expect(validate(ResourceTypes.Cluster, c, { profile: "grpc" })).toEqual([]);
  });

  it("builds static, strict DNS and logical DNS clusters with endpoints", () => {
    expectValidAndEncodes(
      cluster({ name: "s", discovery: "static", endpoints: ["10.0.0.1:80", { address: "10.0.0.2", port: 80, weight: 3 }] }),
    );
    const dns = cluster({
      name: "d",
      discovery: "strict_dns",
      endpoints: ["db.internal:5432"],
      dnsLookupFamily: "V4_ONLY",
      dnsRefreshRate: "30s",
    });
    expectValidAndEncodes(dns);
    expect(dns.dnsLookupFamily).toBe(1);
    const logical = cluster({ name: "l", discovery: "logical_dns", endpoints: ["api.example.com:443"] });
    expectValidAndEncodes(logical);
    expect(validate(ResourceTypes.Cluster, logical, { profile: "grpc" })).toEqual([]);
    expect(() => cluster({ name: "x", discovery: "static" })).toThrow(/"endpoints"/);
  });

  it("sets LB policies, circuit breakers, outlier detection and health checks", () => {
    const c = cluster({
      name: "api",
      eds: { serviceName: "api-eds" },
      lbPolicy: "ring_hash",
      ringHash: { minimumRingSize: 1024, maximumRingSize: 65536 },
      circuitBreakers: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 200, maxRetries: 3, high: { maxConnections: 200 } },
      outlierDetection: {
        consecutive5xx: 3,
        interval: "5s",
        baseEjectionTime: "30s",
        maxEjectionPercent: 50,
        failurePercentage: { threshold: 85 },
      },
      healthChecks: [
        { http: { path: "/healthz", expectedStatuses: [[200, 300]] } },
        { grpc: { serviceName: "api" }, interval: "5s" },
        { tcp: true },
      ],
    });
    expectValidAndEncodes(c);
    expect(c.circuitBreakers?.thresholds.map((t) => [t.priority, t.maxConnections])).toEqual([
      [0, 100],
      [1, 200],
    ]);
    expect(c.healthChecks).toHaveLength(3);
    expect(ResourceTypes.Cluster.references(c)[0]?.name).toBe("api-eds");
    expectValidAndEncodes(cluster({ name: "lr", lbPolicy: "least_request", leastRequest: { choiceCount: 3 } }));
    expectValidAndEncodes(cluster({ name: "m", lbPolicy: "maglev" }));
  });

  it("packs HTTP/2 and HTTP/1 protocol options into typed_extension_protocol_options", () => {
    const h2 = cluster({ name: "grpc-backend", http2: { maxConcurrentStreams: 100 }, idleTimeout: "5m", maxRequestsPerConnection: 1000 });
    expectValidAndEncodes(h2);
    const opts = unpack(h2.typedExtensionProtocolOptions[WellKnownName.UpstreamHttpProtocolOptions] as never, HttpProtocolOptions);
    expect(opts.explicitHttpConfig?.http2ProtocolOptions?.maxConcurrentStreams).toBe(100);
    expect(opts.commonHttpProtocolOptions?.maxRequestsPerConnection).toBe(1000);
    const h1 = cluster({ name: "legacy", http1: { acceptHttp10: true } });
    expectValidAndEncodes(h1);
    expect(
      unpack(h1.typedExtensionProtocolOptions[WellKnownName.UpstreamHttpProtocolOptions] as never, HttpProtocolOptions).explicitHttpConfig
        ?.httpProtocolOptions?.acceptHttp10,
    ).toBe(true);
  });

  it("originates mTLS with SDS certificates and SAN checks", () => {
    const c = cluster({
      name: "payments",
      http2: true,
      tls: {
        sni: "payments.mesh",
        certificateSecret: "client-cert",
        validationContextSecret: "mesh-ca",
        subjectAltNames: [{ exact: "spiffe://mesh/ns/pay/sa/payments" }],
        minVersion: "TLSv1_3",
      },
    });
    expectValidAndEncodes(c);
    expect(ResourceTypes.Cluster.references(c).map((r) => r.name)).toEqual(["payments", "client-cert", "mesh-ca"]);
  });

  it("builds aggregate clusters", () => {
    const agg = aggregateCluster({ name: "web", clusters: ["web-a", "web-b"] });
    expectValidAndEncodes(agg);
    expect(agg.lbPolicy).toBe(6);
    expect(ResourceTypes.Cluster.references(agg).map((r) => r.name)).toEqual(["web-a", "web-b"]);
    expect(
      validate(ResourceTypes.Cluster, aggregateCluster({ name: "g", clusters: ["a"], lbPolicy: "round_robin" }), { profile: "grpc" }),
    ).toEqual([]);
  });
});

describe("loadAssignment", () => {
  function expectValid(cla: ClusterLoadAssignment): void {
    expect(validate(ResourceTypes.ClusterLoadAssignment, cla).map(formatViolation)).toEqual([]);
    const codec = ResourceTypes.ClusterLoadAssignment.messageType;
    expect(codec.decode(codec.encode(cla).finish()).clusterName).toBe(cla.clusterName);
  }

  it("builds localities with priorities, weights and health status", () => {
    const cla = loadAssignment({
      clusterName: "web",
      localities: [
        {
          region: "eu",
          zone: "eu-1a",
          weight: 80,
          endpoints: ["10.0.0.1:8080", { address: "10.0.0.2", port: 8080, weight: 2, health: "healthy" }],
        },
        { region: "eu", zone: "eu-1b", weight: 20, endpoints: [{ address: "10.0.1.1", port: 8080, health: "draining" }] },
        { region: "us", zone: "us-1a", priority: 1, endpoints: ["[2001:db8::1]:8080"] },
      ],
      overprovisioningFactor: 150,
      dropOverloads: { lb: 5 },
    });
    expectValid(cla);
    expect(cla.endpoints.map((e) => [e.locality?.zone, e.priority, e.loadBalancingWeight])).toEqual([
      ["eu-1a", 0, 80],
      ["eu-1b", 0, 20],
      ["us-1a", 1, 1], // default weight 1: gRPC clients ignore unweighted localities
    ]);
    expect(cla.endpoints[0]?.lbEndpoints[1]?.healthStatus).toBe(1);
    expect(cla.endpoints[2]?.lbEndpoints[0]?.endpoint?.address?.socketAddress?.address).toBe("2001:db8::1");
    expect(validate(ResourceTypes.ClusterLoadAssignment, cla, { profile: "grpc" })).toEqual([]);
  });

  it("accepts a flat endpoint list and LEDS endpoints", () => {
    expectValid(loadAssignment({ clusterName: "flat", endpoints: ["10.0.0.1:80"] }));
    const lb = lbEndpoint("10.0.0.9:9000");
    expect(validate(ResourceTypes.LbEndpoint, lb, { name: "xdstp://mesh/envoy.config.endpoint.v3.LbEndpoint/web/10.0.0.9" })).toEqual([]);
    expect(() => lbEndpoint("no-port")).toThrow(/"host:port"/);
  });

  it("reports a bad port with the full path", () => {
    const c = cluster({ name: "web", discovery: "static", endpoints: ["10.0.0.1:80", { address: "10.0.0.2", port: 70000 }] });
    expect(validate(ResourceTypes.Cluster, c).map(formatViolation)).toEqual([
      "clusters[web].load_assignment.endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value: must be <= 65535",
    ]);
  });
});
