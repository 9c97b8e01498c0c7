import { TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import {
  apiListener,
  cluster,
  createSnapshotValidator,
  formatViolation,
  httpListener,
  lbEndpoint,
  loadAssignment,
  ResourceTypes,
  route,
  routeConfiguration,
  tlsCertificateSecret,
  validateSnapshot,
  virtualHost,
} from "./index.js";

const web = cluster({ name: "web", tls: { certificateSecret: "client-cert" } });
const webEndpoints = loadAssignment({ clusterName: "web", endpoints: ["10.0.0.1:8080"] });
const routes = routeConfiguration({
  name: "routes",
  virtualHosts: [
    virtualHost({
      name: "vh",
      routes: [
        route({
          match: { prefix: "/" },
          weightedClusters: [
            { name: "web", weight: 95 },
            { name: "web-canary", weight: 5 },
          ],
        }),
      ],
    }),
  ],
});
const http = httpListener({ name: "http", port: 8080, rds: { routeConfigName: "routes" } });

describe("createSnapshotValidator", () => {
  it("accepts a complete snapshot", () => {
    const secret = tlsCertificateSecret({ name: "client-cert", certificateChain: { file: "/c.pem" }, privateKey: { file: "/k.pem" } });
    const canary = cluster({ name: "web-canary", eds: { serviceName: "web" } });
    const violations = validateSnapshot({
      [TypeUrl.Listener]: [http],
      [TypeUrl.RouteConfiguration]: [routes],
      [TypeUrl.Cluster]: [web, canary],
      [TypeUrl.ClusterLoadAssignment]: [webEndpoints],
      [TypeUrl.Secret]: [secret],
    });
    expect(violations).toEqual([]);
  });

  it("reports missing EDS, RDS and SDS resources and routes to unknown clusters", () => {
    const violations = validateSnapshot({ [TypeUrl.Listener]: [http], [TypeUrl.Cluster]: [web], [TypeUrl.RouteConfiguration]: [routes] });
    expect(violations.map(formatViolation)).toEqual([
      'clusters[web].name: references endpoints "web" (ClusterLoadAssignment), which is not in the snapshot',
      'clusters[web].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name: references secrets "client-cert" (Secret), which is not in the snapshot',
      'routes[routes].virtual_hosts[0].routes[0].route.weighted_clusters.clusters[1].name: references clusters "web-canary" (Cluster), which is not in the snapshot',
    ]);
    expect(violations.every((v) => v.source === "snapshot" && v.rule === "reference.missing")).toBe(true);
    const noRoutes = validateSnapshot({ [TypeUrl.Listener]: [http] });
    expect(noRoutes.map((v) => v.location)).toEqual(["listeners[http].filter_chains[0].filters[0].typed_config.rds.route_config_name"]);
  });

  it("skips references to external types and can turn reference checks off", () => {
    const external = createSnapshotValidator({ externalTypes: [TypeUrl.Secret, TypeUrl.ClusterLoadAssignment] });
    expect(external({ [TypeUrl.Cluster]: [web] })).toEqual([]);
    expect(createSnapshotValidator({ references: false })({ [TypeUrl.Cluster]: [web] })).toEqual([]);
  });

  it("validates every resource and prefixes paths with its collection and name", () => {
    const bad = cluster({ name: "bad", discovery: "static", endpoints: [{ address: "10.0.0.1", port: 70000 }] });
    expect(validateSnapshot({ [TypeUrl.Cluster]: [bad] }).map(formatViolation)).toEqual([
      "clusters[bad].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: must be <= 65535",
    ]);
  });

  it("reports duplicate names, map keys that differ from names, and nameless resources", () => {
    const v = validateSnapshot({
      [TypeUrl.ClusterLoadAssignment]: new Map([
        ["web", webEndpoints],
        ["other", webEndpoints],
      ]),
      [TypeUrl.Cluster]: [
        cluster({ name: "dup", discovery: "static", endpoints: ["10.0.0.1:1"] }),
        cluster({ name: "dup", discovery: "static", endpoints: ["10.0.0.1:1"] }),
      ],
      [TypeUrl.LbEndpoint]: [lbEndpoint("10.0.0.1:1")],
    });
    expect(v.map((x) => `${x.location} [${x.rule}]`)).toEqual([
      "endpoints[other] [name.mismatch]",
      "clusters[dup] [name.duplicate]",
      "lb_endpoints [name.missing]",
    ]);
  });

  it("takes LEDS resources keyed by name, and encoded entries as @xdskit/cache stores them", () => {
    const encoded = (type: typeof ResourceTypes.Cluster, name: string, message: Parameters<typeof type.messageType.encode>[0]) => ({
      name,
      typeUrl: type.typeUrl,
      version: "1",
      bytes: type.messageType.encode(message).finish(),
    });
    const v = createSnapshotValidator()({
      [TypeUrl.Cluster]: [encoded(ResourceTypes.Cluster, "web", cluster({ name: "web" }))],
      [TypeUrl.ClusterLoadAssignment]: [
        {
          name: "web",
          typeUrl: TypeUrl.ClusterLoadAssignment,
          version: "1",
          bytes: ResourceTypes.ClusterLoadAssignment.messageType.encode(webEndpoints).finish(),
        },
      ],
      [TypeUrl.LbEndpoint]: new Map([["xdstp://mesh/envoy.config.endpoint.v3.LbEndpoint/web/1", lbEndpoint("10.0.0.1:1")]]),
    });
    expect(v).toEqual([]);
    const garbage = createSnapshotValidator()({
      [TypeUrl.Cluster]: [{ name: "x", typeUrl: TypeUrl.Cluster, version: "1", bytes: new Uint8Array([0xff, 0xff]) }],
    });
    expect(garbage.map((x) => x.rule)).toEqual(["message.decode"]);
  });

  it("applies the grpc profile to every resource", () => {
    const v = createSnapshotValidator({ profile: "grpc" })({
      [TypeUrl.Listener]: [apiListener({ name: "svc", rds: { routeConfigName: "routes" } })],
      [TypeUrl.RouteConfiguration]: [routes],
      [TypeUrl.Cluster]: [cluster({ name: "web" }), cluster({ name: "web-canary", discovery: "static", endpoints: ["10.0.0.9:1"] })],
      [TypeUrl.ClusterLoadAssignment]: [loadAssignment({ clusterName: "web", endpoints: ["web.internal:8080"] })],
    });
    expect(v.map((x) => `${x.location} [${x.rule}]`)).toEqual([
      "clusters[web-canary].type [grpc.cluster_type]",
      "endpoints[web].endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address [grpc.endpoint_address]",
    ]);
  });

  it("reports unknown type URLs and refuses bad options with the option name", () => {
    expect(validateSnapshot({ "type.googleapis.com/acme.Nope": [] }).map((v) => v.rule)).toEqual(["type.unknown"]);
    expect(() => createSnapshotValidator({ profile: "istio" as never })).toThrow(/option "profile" must be "envoy" or "grpc"; got "istio"/);
    expect(() => createSnapshotValidator({ refs: true } as never)).toThrow(/option "refs"/);
  });
});

describe("createSnapshotValidator: dangling references", () => {
  const listener = httpListener({ name: "http", port: 80, rds: { routeConfigName: "web" } });
  const resources = { [TypeUrl.Listener]: [listener], [TypeUrl.Cluster]: [cluster({ name: "web" })] };

  it("reports a reference to a resource the snapshot lacks as a warning by default (clients wait for it)", () => {
    const found = createSnapshotValidator()(resources);
    expect(found.map((v) => [v.rule, v.severity])).toEqual([
      ["reference.missing", "warning"],
      ["reference.missing", "warning"],
    ]);
  });

  it("makes it an error under strictReferences", () => {
    const found = createSnapshotValidator({ strictReferences: true })(resources);
    expect(found).toHaveLength(2);
    expect(found.every((v) => v.rule === "reference.missing" && v.severity === undefined)).toBe(true);
  });

  it("keeps field violations errors", () => {
    const bad = cluster({ name: "web", connectTimeout: "0s" });
    const found = createSnapshotValidator()({ [TypeUrl.Cluster]: [bad] });
    expect(found.some((v) => v.source === "envoy" && v.severity === undefined)).toBe(true);
  });

  it("refuses a non-boolean strictReferences, naming the option", () => {
    expect(() => createSnapshotValidator({ strictReferences: "yes" as unknown as boolean })).toThrow(
      /option "strictReferences" must be a boolean/,
    );
  });
});
