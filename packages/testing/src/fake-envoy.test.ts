import { ErrorCode, pack, TypeUrl, XdskitError } from "@xdskit/envoy-api";
import { Cluster, Cluster_DiscoveryType } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { Router } from "@xdskit/envoy-api/envoy/extensions/filters/http/router/v3/router";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { Secret } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/secret";
import { DownstreamTlsContext, UpstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeEnvoy } from "./fake-envoy.js";
import { MiniXdsServer } from "./internal/mini-xds-server.test-helper.js";

const edsCluster = (name: string, extra: Partial<Parameters<typeof Cluster.fromPartial>[0]> = {}) =>
  pack(Cluster, {
    name,
    type: Cluster_DiscoveryType.EDS,
    edsClusterConfig: { edsConfig: { ads: {} } },
    connectTimeout: { seconds: 1 },
    ...extra,
  });
const endpoints = (name: string, ports: number[]) =>
  pack(ClusterLoadAssignment, {
    clusterName: name,
    endpoints: [
      { lbEndpoints: ports.map((portValue) => ({ endpoint: { address: { socketAddress: { address: "10.0.0.1", portValue } } } })) },
    ],
  });
const router = { name: "envoy.filters.http.router", typedConfig: pack(Router, {}) };
const hcm = (config: Parameters<typeof HttpConnectionManager.fromPartial>[0]) =>
  pack(HttpConnectionManager, { statPrefix: "ingress", httpFilters: [router], ...config });
const listener = (name: string, port: number, manager: ReturnType<typeof hcm>) =>
  pack(Listener, {
    name,
    address: { socketAddress: { address: "0.0.0.0", portValue: port } },
    filterChains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typedConfig: manager }] }],
  });
const route = (name: string, cluster: string) =>
  pack(RouteConfiguration, {
    name,
    virtualHosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster } }] }],
  });

let server: MiniXdsServer;
beforeEach(async () => {
  server = await new MiniXdsServer().start();
});
afterEach(async () => {
  await server.stop();
});

describe("FakeEnvoy over SotW ADS", () => {
  it("subscribes to clusters and listeners as wildcards, then to the endpoints of each EDS cluster, and ACKs", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a"), b: edsCluster("b", { edsClusterConfig: { serviceName: "b-eds" } }) });
    server.set(TypeUrl.ClusterLoadAssignment, "e1", { a: endpoints("a", [1, 2]), "b-eds": endpoints("b-eds", [3]) });
    await using envoy = await FakeEnvoy.start({ address: server.address });
    expect(await envoy.waitForEndpoints("a", 2)).toEqual(["10.0.0.1:1", "10.0.0.1:2"]);
    await envoy.waitForEndpoints("b", 1);
    expect(envoy.version(TypeUrl.Cluster)).toBe("c1");
    expect([...envoy.subscription(TypeUrl.ClusterLoadAssignment).names].sort()).toEqual(["a", "b-eds"]);

    const [cds, lds] = server.sotwRequests;
    expect(cds).toMatchObject({ typeUrl: TypeUrl.Cluster, resourceNames: [], versionInfo: "", responseNonce: "" });
    expect(cds!.node?.id).toBe("fake-envoy");
    expect(lds).toMatchObject({ typeUrl: TypeUrl.Listener, resourceNames: [] });
    expect(lds!.node).toBeUndefined();
    const cdsResponse = envoy.history.find((r) => r.typeUrl === TypeUrl.Cluster)!;
    const ack = await envoy.waitFor(() =>
      server.sotwRequests.find((r) => r.typeUrl === TypeUrl.Cluster && r.responseNonce === cdsResponse.nonce),
    );
    expect(ack).toMatchObject({ versionInfo: "c1", errorDetail: undefined });
  });

  it("drops the endpoint subscription of a removed cluster and adds one for a new cluster", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    server.set(TypeUrl.ClusterLoadAssignment, "e1", { a: endpoints("a", [1]), b: endpoints("b", [2, 3]) });
    await using envoy = await FakeEnvoy.start({ address: server.address });
    await envoy.waitForEndpoints("a", 1);
    server.set(TypeUrl.Cluster, "c2", { b: edsCluster("b") });
    await envoy.waitForEndpoints("b", 2);
    await envoy.waitForAbsent(TypeUrl.ClusterLoadAssignment, "a");
    expect([...envoy.subscription(TypeUrl.ClusterLoadAssignment).names]).toEqual(["b"]);
    const last = server.sotwRequests.filter((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment).map((r) => r.resourceNames);
    expect(last).toContainEqual(["b"]);
  });

  it("sends the node on every request when nodeOnEveryRequest is set", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    await using envoy = await FakeEnvoy.start({ address: server.address, nodeOnEveryRequest: true, node: { id: "n-7" } });
    await envoy.waitForVersion(TypeUrl.Cluster, "c1");
    await envoy.waitFor(() => server.sotwRequests.length >= 4);
    expect(server.sotwRequests.every((r) => r.node?.id === "n-7" && r.node.cluster === "fake-envoy")).toBe(true);
  });

  it("subscribes to the route configurations its connection managers name and the secrets of TLS sockets", async () => {
    const tls = {
      name: "tls",
      typedConfig: pack(UpstreamTlsContext, { commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: "cert" }] } }),
    };
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a", { transportSocket: tls }) });
    server.set(TypeUrl.Listener, "l1", {
      web: listener("web", 8080, hcm({ rds: { routeConfigName: "web-routes", configSource: { ads: {} } } })),
    });
    server.set(TypeUrl.RouteConfiguration, "r1", { "web-routes": route("web-routes", "a") });
    server.set(TypeUrl.Secret, "s1", { cert: pack(Secret, { name: "cert" }) });
    await using envoy = await FakeEnvoy.start({ address: server.address });
    await envoy.waitForResource(TypeUrl.RouteConfiguration, "web-routes");
    await envoy.waitForResource(TypeUrl.Secret, "cert", { version: "s1" });
    expect(envoy.routeConfigurations.get("web-routes")?.virtualHosts[0]?.routes[0]?.route?.cluster).toBe("a");
  });

  it("follows the default filter chain and an api_listener too, and the secrets of downstream TLS sockets", async () => {
    const downstream = {
      name: "tls",
      typedConfig: pack(DownstreamTlsContext, { commonTlsContext: { validationContextSdsSecretConfig: { name: "ca" } } }),
    };
    const rds = (name: string) => hcm({ rds: { routeConfigName: name, configSource: { ads: {} } } });
    server.set(TypeUrl.Listener, "l1", {
      edge: pack(Listener, {
        name: "edge",
        address: { socketAddress: { address: "0.0.0.0", portValue: 443 } },
        defaultFilterChain: { filters: [{ name: "hcm", typedConfig: rds("default-routes") }], transportSocket: downstream },
      }),
      api: pack(Listener, { name: "api", apiListener: { apiListener: rds("api-routes") } }),
    });
    await using envoy = await FakeEnvoy.start({ address: server.address });
    await envoy.waitFor((e) => e.listeners.size === 2, { description: "two listeners" });
    expect([...envoy.subscription(TypeUrl.RouteConfiguration).names].sort()).toEqual(["api-routes", "default-routes"]);
    expect([...envoy.subscription(TypeUrl.Secret).names]).toEqual(["ca"]);
  });

  it("NACKs an injected rule with error_detail code 3 naming the resource, and keeps running the previous version", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    await using envoy = await FakeEnvoy.start({ address: server.address });
    await envoy.waitForVersion(TypeUrl.Cluster, "c1");
    envoy.injectNack({ typeUrl: TypeUrl.Cluster, name: "b", message: "no b today", times: 1 });
    const before = envoy.seq;
    server.set(TypeUrl.Cluster, "c2", { a: edsCluster("a"), b: edsCluster("b") });
    const nack = await envoy.waitForNack({ typeUrl: TypeUrl.Cluster, resourceName: "b", after: before });
    expect(nack.errorDetail).toEqual({ code: 3, message: "Error adding/updating cluster(s) b: b: no b today" });
    expect(envoy.version(TypeUrl.Cluster)).toBe("c1");
    expect([...envoy.clusters.keys()]).toEqual(["a"]);
    const request = await envoy.waitFor(() => server.sotwRequests.find((r) => r.responseNonce === nack.nonce));
    expect(request).toMatchObject({ versionInfo: "c1", errorDetail: { code: 3 } });
    // The rule expired after one use: the next version is accepted.
    server.set(TypeUrl.Cluster, "c3", { a: edsCluster("a"), b: edsCluster("b") });
    await envoy.waitForVersion(TypeUrl.Cluster, "c3");
  });

  it("NACKs a listener whose inline route configuration names an unknown cluster, as Envoy does", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    const inline = hcm({ routeConfig: RouteConfiguration.decode(route("local", "missing").value) });
    server.set(TypeUrl.Listener, "l1", { web: listener("web", 8080, inline) });
    await using envoy = await FakeEnvoy.start({ address: server.address, types: [TypeUrl.Cluster] });
    await envoy.waitForVersion(TypeUrl.Cluster, "c1");
    envoy.subscribe(TypeUrl.Listener, "*");
    const nack = await envoy.waitForNack({ resourceName: "web" });
    expect(nack.errorDetail?.message).toContain("unknown cluster 'missing'");
    expect(envoy.listeners.size).toBe(0);
  });

  it("NACKs by default what the protoc-gen-validate rules reject (validate from @xdskit/resources)", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a", { connectTimeout: { seconds: -1 } }) });
    await using envoy = await FakeEnvoy.start({ address: server.address, follow: false });
    const nack = await envoy.waitForNack({ resourceName: "a" });
    expect(nack.errorDetail?.message).toMatch(/^Error adding\/updating cluster\(s\) a: a: connect_timeout: /);
  });

  it("NACKs, and does not crash, when a validator throws", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    const validator = () => {
      throw new Error("boom");
    };
    await using envoy = await FakeEnvoy.start({ address: server.address, validator, follow: false });
    const nack = await envoy.waitForNack();
    expect(nack.errorDetail?.message).toBe("Error adding/updating cluster(s) a: a: the validator threw: boom");
  });

  it("NACKs what a pluggable validator rejects", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a", { connectTimeout: { seconds: 0 } }) });
    const validator = (typeUrl: string, message: unknown) =>
      typeUrl === TypeUrl.Cluster && !(message as Cluster).connectTimeout?.seconds.greaterThan(0)
        ? [{ message: "connect_timeout: value must be greater than 0s" }]
        : [];
    await using envoy = await FakeEnvoy.start({ address: server.address, validator });
    const nack = await envoy.waitForNack();
    expect(nack.errorDetail?.message).toBe("Error adding/updating cluster(s) a: a: connect_timeout: value must be greater than 0s");
  });

  it("keeps a legacy wildcard when names are added, by sending * with them", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    await using envoy = await FakeEnvoy.start({ address: server.address, types: [TypeUrl.Cluster], follow: false });
    await envoy.waitForVersion(TypeUrl.Cluster, "c1");
    envoy.subscribe(TypeUrl.Cluster, ["extra"]);
    const request = await envoy.waitFor(() => server.sotwRequests.find((r) => r.resourceNames.includes("extra")));
    expect(request.resourceNames).toEqual(["*", "extra"]);
  });

  it("reconnects sending its last accepted version", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    await using envoy = await FakeEnvoy.start({ address: server.address, types: [TypeUrl.Cluster], follow: false });
    await envoy.waitForVersion(TypeUrl.Cluster, "c1");
    const count = server.sotwRequests.length;
    await envoy.reconnect();
    await envoy.waitFor(() => server.sotwRequests.length > count, { description: "a request after reconnect" });
    expect(server.sotwRequests[count]).toMatchObject({ typeUrl: TypeUrl.Cluster, versionInfo: "c1", responseNonce: "" });
    expect(server.sotwRequests[count]!.node?.id).toBe("fake-envoy");
  });

  it("never sends a nonce of an earlier stream: after a reconnect, a type not yet answered requests with an empty nonce", async () => {
    server.set(TypeUrl.ClusterLoadAssignment, "e1", { x: endpoints("x", [1]) });
    await using envoy = await FakeEnvoy.start({ address: server.address, types: [], follow: false });
    envoy.subscribe(TypeUrl.ClusterLoadAssignment, ["x"]);
    await envoy.waitForVersion(TypeUrl.ClusterLoadAssignment, "e1");
    // The server now has nothing to send for endpoints, so the new stream gets no endpoint response.
    server.set(TypeUrl.ClusterLoadAssignment, "e2", {});
    await envoy.reconnect();
    const count = server.sotwRequests.length;
    envoy.subscribe(TypeUrl.ClusterLoadAssignment, ["y"]);
    const request = await envoy.waitFor(() => server.sotwRequests.slice(count).find((r) => r.resourceNames.includes("y")), {
      description: "the request naming y",
    });
    expect(request).toMatchObject({ versionInfo: "e1", responseNonce: "" });
  });
});

describe("FakeEnvoy rejections", () => {
  it("NACKs a response naming a resource twice, and one whose resource has another type URL", async () => {
    await using envoy = await FakeEnvoy.start({ address: server.address, types: [TypeUrl.Cluster], follow: false });
    server.set(TypeUrl.Cluster, "dup", { a: edsCluster("a"), b: edsCluster("a") });
    const dup = await envoy.waitForNack({ resourceName: "a" });
    expect(dup.errorDetail?.message).toContain("duplicate resource name 'a'");
    server.set(TypeUrl.Cluster, "mixed", { a: endpoints("a", [1]) });
    const mixed = await envoy.waitForNack({ after: dup.seq });
    expect(mixed.errorDetail?.message).toContain("has type URL 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment'");
    expect(envoy.clusters.size).toBe(0);
  });

  it("NACKs a connection manager whose last HTTP filter is not the router", async () => {
    const noRouter = pack(HttpConnectionManager, {
      statPrefix: "x",
      rds: { routeConfigName: "r", configSource: { ads: {} } },
      httpFilters: [router, { name: "envoy.filters.http.router2", typedConfig: pack(Secret, {}) }],
    });
    server.set(TypeUrl.Listener, "l1", { web: listener("web", 80, noRouter) });
    await using envoy = await FakeEnvoy.start({ address: server.address });
    const nack = await envoy.waitForNack({ typeUrl: TypeUrl.Listener });
    expect(nack.errorDetail?.message).toMatch(
      /^Error adding\/updating listener\(s\) web: web: filter_chains\[0\]\.filters\[0\]\.http_filters: the last HTTP filter 'envoy\.filters\.http\.router2' is not a terminal filter/,
    );
  });

  it("NACKs by predicate in delta, sending error_detail and the nonce, and ACKs the next response", async () => {
    await using envoy = await FakeEnvoy.start({
      address: server.address,
      protocol: "delta",
      follow: false,
      nackRules: [{ predicate: (m) => (m as Cluster).connectTimeout?.seconds.toNumber() === 9, message: "nine is too slow" }],
    });
    server.set(TypeUrl.Cluster, "c1", { slow: edsCluster("slow", { connectTimeout: { seconds: 9 } }) });
    const nack = await envoy.waitForNack({ resourceName: "slow" });
    const request = await envoy.waitFor(() => server.deltaRequests.find((r) => r.responseNonce === nack.nonce));
    expect(request.errorDetail).toEqual({ code: 3, message: "Error adding/updating cluster(s) slow: slow: nine is too slow", details: [] });
    server.set(TypeUrl.Cluster, "c2", { fast: edsCluster("fast") });
    await envoy.waitForResource(TypeUrl.Cluster, "fast", { version: "c2" });
    expect(envoy.resources(TypeUrl.Cluster).has("slow")).toBe(false);
  });
});

describe("FakeEnvoy over delta", () => {
  it("subscribes, follows and ACKs on ADS, and reconnects with initial_resource_versions", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    server.set(TypeUrl.ClusterLoadAssignment, "e1", { a: endpoints("a", [1]) });
    await using envoy = await FakeEnvoy.start({ address: server.address, protocol: "delta" });
    await envoy.waitForEndpoints("a", 1);
    expect(envoy.resources(TypeUrl.Cluster).get("a")?.version).toBe("c1");
    const eds = server.deltaRequests.find((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment);
    expect(eds?.resourceNamesSubscribe).toEqual(["a"]);

    server.set(TypeUrl.Cluster, "c2", {});
    await envoy.waitForAbsent(TypeUrl.Cluster, "a");
    await envoy.waitFor(() => server.deltaRequests.find((r) => r.resourceNamesUnsubscribe.includes("a")), {
      description: "an EDS unsubscribe of a",
    });
    expect(envoy.endpointAddresses("a")).toEqual([]);

    server.set(TypeUrl.Cluster, "c3", { b: edsCluster("b") });
    await envoy.waitForResource(TypeUrl.Cluster, "b");
    const count = server.deltaRequests.length;
    await envoy.reconnect();
    const first = await envoy.waitFor(() => server.deltaRequests.slice(count).find((r) => r.typeUrl === TypeUrl.Cluster), {
      description: "a CDS request after reconnect",
    });
    expect(first.initialResourceVersions).toEqual({ b: "c3" });
    expect(first.resourceNamesSubscribe).toEqual([]);
  });

  it("uses one stream per type when ads is false, with explicit wildcards", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    server.set(TypeUrl.ClusterLoadAssignment, "e1", { a: endpoints("a", [1, 2, 3]) });
    await using envoy = await FakeEnvoy.start({ address: server.address, protocol: "delta", ads: false, wildcard: "explicit" });
    await envoy.waitForEndpoints("a", 3);
    const nodes = server.deltaRequests.filter((r) => r.node !== undefined).map((r) => r.typeUrl);
    // The node goes on each stream's first request: one per type stream.
    expect(new Set(nodes)).toEqual(new Set([TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.ClusterLoadAssignment]));
    expect(server.deltaRequests.find((r) => r.typeUrl === TypeUrl.Cluster)?.resourceNamesSubscribe).toEqual(["*"]);
  });
});

describe("FakeEnvoy per-type SotW streams", () => {
  it("receives clusters and endpoints on separate CDS and EDS streams", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    server.set(TypeUrl.ClusterLoadAssignment, "e1", { a: endpoints("a", [7]) });
    await using envoy = await FakeEnvoy.start({ address: server.address, ads: false });
    expect(await envoy.waitForEndpoints("a", 1)).toEqual(["10.0.0.1:7"]);
  });
});

describe("FakeEnvoy waits, raw requests and lifecycle", () => {
  it("fails a wait with XDSKIT_WAIT_TIMEOUT naming what it waited for and what it has", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    await using envoy = await FakeEnvoy.start({ address: server.address, timeoutMs: 200 });
    await envoy.waitForVersion(TypeUrl.Cluster, "c1");
    const error = await envoy.waitForEndpoints("a", 5).catch((e: unknown) => e);
    expect(XdskitError.is(error)).toBe(true);
    expect((error as XdskitError).code).toBe(ErrorCode.WAIT_TIMEOUT);
    expect((error as XdskitError).message).toMatch(
      /timed out after 200 ms waiting for cluster "a" to have 5 endpoints\. It has: Cluster version "c1" running \[a\]/,
    );
    expect((error as Error).stack).toContain("fake-envoy.test.ts");
  });

  it("sends raw requests as given, including undecodable bytes, and records the stream end", async () => {
    await using envoy = await FakeEnvoy.start({ address: server.address, protocol: "delta", types: [] });
    envoy.sendRaw({ typeUrl: TypeUrl.Cluster, resourceNamesSubscribe: ["x"], responseNonce: "bogus" });
    await envoy.waitFor(() => server.deltaRequests.find((r) => r.responseNonce === "bogus"), { description: "the raw request" });
    const after = envoy.seq;
    envoy.sendRaw(new Uint8Array([0xff, 0xff, 0xff]));
    const end = await envoy.waitForStreamEnd({ after });
    expect(end.code).not.toBe(0);
  });

  it("stops reading while paused and catches up when resumed", async () => {
    server.set(TypeUrl.Cluster, "c1", { a: edsCluster("a") });
    await using envoy = await FakeEnvoy.start({ address: server.address, types: [TypeUrl.Cluster], follow: false });
    await envoy.waitForVersion(TypeUrl.Cluster, "c1");
    envoy.pauseReading();
    server.set(TypeUrl.Cluster, "c2", { a: edsCluster("a"), b: edsCluster("b") });
    await new Promise((r) => setTimeout(r, 100));
    expect(envoy.version(TypeUrl.Cluster)).toBe("c1");
    envoy.resumeReading();
    await envoy.waitForVersion(TypeUrl.Cluster, "c2");
  });

  it("fails pending waits when closed, and disposes with await using", async () => {
    const envoy = await FakeEnvoy.start({ address: server.address });
    const pending = envoy.waitForVersion(TypeUrl.Cluster, "never");
    await envoy[Symbol.asyncDispose]();
    await expect(pending).rejects.toThrow(/closed while waiting for version "never"/);
    expect(envoy.closed).toBe(true);
    await envoy.close();
  });

  it("validates options, naming the option, what it expects and what arrived", () => {
    expect(() => new FakeEnvoy({ address: "nowhere" })).toThrow(/option "address" must be a "host:port" string.*got "nowhere"/);
    expect(() => new FakeEnvoy({ address: "127.0.0.1:1", protocol: "rest" as never })).toThrow(
      /option "protocol" must be "sotw" or "delta"; got "rest"/,
    );
    expect(() => new FakeEnvoy({ address: "127.0.0.1:1", timeout: 5 } as never)).toThrow(
      /option "timeout" must be one of the known options/,
    );
    try {
      new FakeEnvoy({ address: "127.0.0.1:1", timeoutMs: -1 });
    } catch (error) {
      expect((error as XdskitError).code).toBe(ErrorCode.INVALID_OPTION);
    }
  });

  it("fails start with a clear error when nothing listens", async () => {
    await server.stop();
    await expect(FakeEnvoy.start({ address: server.address, timeoutMs: 300 })).rejects.toThrow(
      /could not connect to 127\.0\.0\.1:\d+ within 300 ms/,
    );
  });
});
