import { credentials, status } from "@grpc/grpc-js";
import * as api from "@xdskit/envoy-api";
import { DeltaDiscoveryRequest, DiscoveryRequest, type DiscoveryResponse, TypeUrl } from "@xdskit/envoy-api";
import { Struct } from "@xdskit/envoy-api/google/protobuf/struct";
import { defineResourceType } from "@xdskit/resources";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { type Harness, NODE, StreamReader, startServer } from "../test-support/harness.js";
import { XDS_SERVICES } from "./index.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const CLIENTS: Record<string, string> = {
  ads: "AggregatedDiscoveryServiceClient",
  listeners: "ListenerDiscoveryServiceClient",
  routes: "RouteDiscoveryServiceClient",
  "scoped-routes": "ScopedRoutesDiscoveryServiceClient",
  "virtual-hosts": "VirtualHostDiscoveryServiceClient",
  clusters: "ClusterDiscoveryServiceClient",
  endpoints: "EndpointDiscoveryServiceClient",
  "locality-endpoints": "LocalityEndpointDiscoveryServiceClient",
  secrets: "SecretDiscoveryServiceClient",
  runtime: "RuntimeDiscoveryServiceClient",
  extension_configs: "ExtensionConfigDiscoveryServiceClient",
};

function clientFor(service: string, address: string): Record<string, (...args: unknown[]) => unknown> {
  const Client = (api as unknown as Record<string, new (address: string, creds: unknown) => unknown>)[CLIENTS[service]!]!;
  return new Client(address, credentials.createInsecure()) as Record<string, (...args: unknown[]) => unknown>;
}

function fullCache(): FakeWatcher {
  const cache = new FakeWatcher();
  for (const typeUrl of Object.values(TypeUrl)) {
    if (typeUrl === TypeUrl.Resource) continue;
    cache.set(typeUrl, "v1", [entry(typeUrl, "r1", "1")]);
  }
  return cache;
}

describe("XdsServer services", () => {
  it("registers every method of every xDS service, and each answers with its own type", async () => {
    harness = await startServer(fullCache());
    let methods = 0;
    for (const service of XDS_SERVICES) {
      const client = clientFor(service.name, harness.address);
      const typeUrl = service.typeUrl ?? TypeUrl.Cluster;
      for (const method of service.methods) {
        methods += 1;
        const call = client[method.key]!.bind(client);
        if (method.kind === "fetch") {
          const response = await new Promise<DiscoveryResponse>((resolve, reject) =>
            call(DiscoveryRequest.fromPartial({ node: NODE, resourceNames: ["r1"] }), (error: Error | null, r: DiscoveryResponse) =>
              error ? reject(error) : resolve(r),
            ),
          );
          expect(response.versionInfo, method.path).toBe("v1");
          expect(response.resources[0]?.typeUrl, method.path).toBe(typeUrl);
        } else if (method.kind === "sotw") {
          const stream = new StreamReader(call() as never, (p) => DiscoveryRequest.fromPartial(p));
          stream.send({ node: NODE, typeUrl: service.typeUrl === undefined ? typeUrl : "", resourceNames: ["r1"] });
          const response = (await stream.next()) as DiscoveryResponse;
          expect(response.typeUrl, method.path).toBe(typeUrl);
          expect(response.resources.length, method.path).toBe(1);
          stream.close();
        } else {
          const stream = new StreamReader(call() as never, (p) => DeltaDiscoveryRequest.fromPartial(p));
          stream.send({ node: NODE, typeUrl: service.typeUrl === undefined ? typeUrl : "", resourceNamesSubscribe: ["r1"] });
          const response = (await stream.next()) as api.DeltaDiscoveryResponse;
          expect(response.typeUrl, method.path).toBe(typeUrl);
          expect(
            response.resources.map((r) => r.name),
            method.path,
          ).toEqual(["r1"]);
          stream.close();
        }
      }
      (client as unknown as { close(): void }).close();
    }
    // ADS 2 + 8 types x 3 + VHDS 1 + LEDS 1.
    expect(methods).toBe(28);
  });

  it("refuses a request for another type on a per-type service", async () => {
    harness = await startServer(fullCache());
    const client = clientFor("clusters", harness.address);
    const stream = new StreamReader(client.streamClusters!.call(client) as never, (p) => DiscoveryRequest.fromPartial(p));
    stream.send({ node: NODE, typeUrl: TypeUrl.Listener });
    expect(await stream.ended).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining("matching service") });
  });

  it("registers only the chosen services", async () => {
    harness = await startServer(fullCache(), {}, { services: ["clusters"] });
    const ads = clientFor("ads", harness.address);
    const stream = new StreamReader(ads.streamAggregatedResources!.call(ads) as never, (p) => DiscoveryRequest.fromPartial(p));
    stream.send({ node: NODE, typeUrl: TypeUrl.Cluster });
    expect(await stream.ended).toMatchObject({ code: status.UNIMPLEMENTED });
  });

  it("serves a user's own type URL over ADS", async () => {
    const custom = "type.googleapis.com/acme.mesh.v1.Quota";
    const cache = new FakeWatcher();
    cache.set(custom, "q1", [entry(custom, "gold", "1")]);
    harness = await startServer(cache, { types: [defineResourceType({ typeUrl: custom, messageType: Struct, shortName: "quotas" })] });
    const ads = clientFor("ads", harness.address);
    const stream = new StreamReader(ads.streamAggregatedResources!.call(ads) as never, (p) => DiscoveryRequest.fromPartial(p));
    stream.send({ node: NODE, typeUrl: custom, resourceNames: ["gold"] });
    const response = (await stream.next()) as DiscoveryResponse;
    expect(response.typeUrl).toBe(custom);
    expect(response.versionInfo).toBe("q1");
    stream.close();
  });

  it("answers a fetch from an up-to-date client with FAILED_PRECONDITION", async () => {
    harness = await startServer(fullCache());
    const client = clientFor("clusters", harness.address);
    const error = await new Promise<{ code: number; details: string }>((resolve) =>
      client.fetchClusters!.call(
        client,
        DiscoveryRequest.fromPartial({ node: NODE, versionInfo: "v1" }),
        (e: { code: number; details: string }) => resolve(e),
      ),
    );
    expect(error).toMatchObject({ code: status.FAILED_PRECONDITION, details: expect.stringContaining("up to date") });
    const noNode = await new Promise<{ code: number; details: string }>((resolve) =>
      client.fetchClusters!.call(client, DiscoveryRequest.fromPartial({}), (e: { code: number; details: string }) => resolve(e)),
    );
    expect(noNode.code).toBe(status.INVALID_ARGUMENT);
    expect(harness.events.some((e) => e.kind === "fetch")).toBe(true);
  });

  it("a cache that fails a fetch is the cache's fault: INTERNAL to the client, XDSKIT_CACHE_FAILED in the error event", async () => {
    const cache = fullCache();
    cache.fetch = async () => {
      throw new Error("store unreachable");
    };
    harness = await startServer(cache);
    const client = clientFor("clusters", harness.address);
    const error = await new Promise<{ code: number; details: string }>((resolve) =>
      client.fetchClusters!.call(client, DiscoveryRequest.fromPartial({ node: NODE }), (e: { code: number; details: string }) =>
        resolve(e),
      ),
    );
    expect(error).toMatchObject({ code: status.INTERNAL, details: expect.stringContaining("store unreachable") });
    const failed = harness.events.find((e) => e.kind === "error");
    expect(failed?.kind === "error" && failed.error.code).toBe(api.ErrorCode.CACHE_FAILED);
    expect(failed?.kind === "error" && api.faultOf(failed.error.code)).toBe("cache");
  });
});
