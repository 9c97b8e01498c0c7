import { unpack } from "@xdskit/envoy-api";
import type { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { HTTPFault } from "@xdskit/envoy-api/envoy/extensions/filters/http/fault/v3/fault";
import { LocalRateLimit } from "@xdskit/envoy-api/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit";
import { describe, expect, it } from "vitest";
import { formatViolation, ResourceTypes, retryPolicy, route, routeConfiguration, validate, virtualHost, WellKnownName } from "../index.js";

function expectValidAndEncodes(rc: RouteConfiguration): void {
  expect(validate(ResourceTypes.RouteConfiguration, rc).map(formatViolation)).toEqual([]);
  const codec = ResourceTypes.RouteConfiguration.messageType;
  const bytes = codec.encode(rc).finish();
  expect(codec.encode(codec.decode(bytes)).finish()).toEqual(bytes);
}

const rc = (...routes: ReturnType<typeof route>[]) =>
  routeConfiguration({ name: "r", virtualHosts: [virtualHost({ name: "vh", routes })] });

describe("route", () => {
  it("matches by prefix, path, regex, path-separated prefix, headers and query parameters", () => {
    const config = rc(
      route({ match: { prefix: "/a", caseSensitive: false }, cluster: "a" }),
      route({ match: { path: "/exact" }, cluster: "b" }),
      route({ match: { regex: "^/v[0-9]+/.*" }, cluster: "c" }),
      route({ match: { pathSeparatedPrefix: "/api" }, cluster: "d" }),
      route({
        match: {
          prefix: "/",
          grpc: true,
          headers: [
            { name: "x-user", prefix: "beta-" },
            { name: "x-debug", present: true },
            { name: "x-version", range: [2, 5] },
            { name: "x-env", regex: "^(dev|staging)$", invert: true },
          ],
          queryParameters: [
            { name: "canary", exact: "true" },
            { name: "trace", present: true },
          ],
        },
        cluster: "e",
      }),
    );
    expectValidAndEncodes(config);
    const m = config.virtualHosts[0]?.routes[4]?.match;
    expect(m?.headers.map((h) => h.name)).toEqual(["x-user", "x-debug", "x-version", "x-env"]);
    expect(m?.headers[3]?.invertMatch).toBe(true);
    expect(m?.queryParameters[1]?.presentMatch).toBe(true);
  });

  it("splits traffic with weighted clusters (canary 95/5)", () => {
    const config = rc(
      route({
        match: { prefix: "/" },
        weightedClusters: [
          { name: "v1", weight: 95 },
          { name: "v2", weight: 5 },
        ],
      }),
    );
    expectValidAndEncodes(config);
    expect(config.virtualHosts[0]?.routes[0]?.route?.weightedClusters?.clusters.map((c) => [c.name, c.weight])).toEqual([
      ["v1", 95],
      ["v2", 5],
    ]);
  });

  it("sets timeouts, retries with per-try timeouts and back-off, mirroring, rewrites and hashing", () => {
    const config = rc(
      route({
        match: { prefix: "/api" },
        cluster: "api",
        timeout: "3s",
        idleTimeout: "30s",
        retry: {
          retryOn: "5xx,retriable-status-codes",
          numRetries: 3,
          perTryTimeout: "500ms",
          backOff: { base: "25ms", max: "250ms" },
          retriableStatusCodes: [409],
        },
        mirror: [{ cluster: "shadow", percent: 10 }],
        prefixRewrite: "/v2/api",
        hostRewrite: "api.internal",
        hashPolicy: [{ header: "x-user" }, { cookie: "session", ttl: "1h" }, { sourceIp: true }],
        requestHeadersToAdd: { "x-route": "api" },
        responseHeadersToRemove: ["server"],
      }),
      route({
        match: { prefix: "/legacy" },
        cluster: "legacy",
        regexRewrite: { pattern: "^/legacy/(.*)$", substitution: "/\\1" },
        hostRewrite: { auto: true },
      }),
      route({ match: { prefix: "/h" }, clusterHeader: "x-cluster", hostRewrite: { header: "x-host" } }),
    );
    expectValidAndEncodes(config);
    const action = config.virtualHosts[0]?.routes[0]?.route;
    expect(action?.timeout?.seconds.toNumber()).toBe(3);
    expect(action?.retryPolicy?.numRetries).toBe(3);
    expect(action?.retryPolicy?.perTryTimeout?.nanos).toBe(500_000_000);
    expect(action?.requestMirrorPolicies[0]?.cluster).toBe("shadow");
    expect(action?.hashPolicy).toHaveLength(3);
  });

  it("builds redirects and direct responses", () => {
    const config = rc(
      route({ match: { prefix: "/old" }, redirect: { path: "/new", code: 308 } }),
      route({ match: { prefix: "/http" }, redirect: { https: true, stripQuery: true } }),
      route({ match: { path: "/ping" }, directResponse: { status: 200, body: "pong" } }),
    );
    expectValidAndEncodes(config);
    expect(config.virtualHosts[0]?.routes[0]?.redirect?.responseCode).toBe(4);
    expect(config.virtualHosts[0]?.routes[2]?.directResponse?.body?.inlineString).toBe("pong");
  });

  it("packs per-route fault injection, local rate limits, CORS and global rate-limit descriptors", () => {
    const config = rc(
      route({
        match: { prefix: "/" },
        cluster: "web",
        fault: { delay: { fixed: "2s", percent: 10 }, abort: { grpcStatus: 14, percent: 0.5 } },
        rateLimit: { maxTokens: 10, tokensPerFill: 10, fillInterval: "1s" },
        cors: { allowOrigins: [{ exact: "https://app.example.com" }], allowMethods: ["GET", "POST"], maxAgeSeconds: 600 },
        rateLimits: [["remoteAddress", { genericKey: "web" }], [{ requestHeader: "x-user", descriptorKey: "user" }]],
      }),
    );
    expectValidAndEncodes(config);
    const perFilter = config.virtualHosts[0]?.routes[0]?.typedPerFilterConfig ?? {};
    expect(Object.keys(perFilter)).toEqual([WellKnownName.Fault, WellKnownName.LocalRateLimit, WellKnownName.Cors]);
    const fault = unpack(perFilter[WellKnownName.Fault] as never, HTTPFault);
    expect(fault.abort?.percentage).toEqual({ numerator: 5000, denominator: 2 });
    expect(unpack(perFilter[WellKnownName.LocalRateLimit] as never, LocalRateLimit).tokenBucket?.maxTokens).toBe(10);
  });

  it("refuses unknown redirect codes and bad durations with the option name", () => {
    expect(() => route({ match: { prefix: "/" }, redirect: { code: 300 as never } })).toThrow(/"redirect.code"/);
    expect(() => route({ match: { prefix: "/" }, cluster: "c", timeout: "soon" })).toThrow(/"timeout" must be a duration/);
    expect(() => route({ match: {} as never, cluster: "c" })).toThrow(/"match"/);
  });
});

describe("virtualHost and retryPolicy", () => {
  it("defaults domains to * and carries virtual-host retries and CORS", () => {
    const vh = virtualHost({
      name: "vh",
      routes: [],
      retry: { numRetries: 2 },
      cors: { allowOrigins: [{ suffix: ".example.com" }] },
      requireTls: "all",
    });
    expect(vh.domains).toEqual(["*"]);
    expect(vh.retryPolicy?.retryOn).toBe("5xx,reset,connect-failure");
    expect(retryPolicy().numRetries).toBeUndefined();
    expectValidAndEncodes(routeConfiguration({ name: "r", virtualHosts: [vh] }));
  });

  it("reports invalid input through validate", () => {
    const bad = routeConfiguration({
      name: "r",
      virtualHosts: [virtualHost({ name: "vh", domains: [], routes: [route({ match: { prefix: "/" }, directResponse: { status: 99 } })] })],
    });
    expect(validate(ResourceTypes.RouteConfiguration, bad).map(formatViolation)).toEqual([
      "routes[r].virtual_hosts[0].domains: must have at least 1 item",
      "routes[r].virtual_hosts[0].routes[0].direct_response.status: must be >= 200",
    ]);
  });
});
