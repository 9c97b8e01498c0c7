// FakeEnvoy over delta xDS: endpoints follow the registry, and a change to
// one service sends that service's endpoints only.
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { afterEach, beforeEach, expect, it } from "vitest";
import { startControlPlane } from "./endpoints.js";
import { ServiceRegistry } from "./registry.js";

let registry: ServiceRegistry;
let controlPlane: Awaited<ReturnType<typeof startControlPlane>>;

beforeEach(async () => {
  registry = new ServiceRegistry();
  registry.register("payments", "10.0.0.1:8080");
  registry.register("orders", "10.0.1.1:8080");
  controlPlane = await startControlPlane(registry, ["payments", "orders"], 0);
});
afterEach(() => controlPlane.close());

it("sends the endpoints the registry has, then only the service that changed", async () => {
  await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${controlPlane.port}`, node: { id: "envoy-1" }, protocol: "delta" });
  expect(await envoy.waitForEndpoints("payments", 1)).toEqual(["10.0.0.1:8080"]);
  expect(await envoy.waitForEndpoints("orders", 1)).toEqual(["10.0.1.1:8080"]);

  const before = envoy.seq;
  registry.register("payments", "10.0.0.2:8080");
  expect(await envoy.waitForEndpoints("payments", 2)).toEqual(["10.0.0.1:8080", "10.0.0.2:8080"]);

  const sent = envoy.history.filter((r) => r.seq > before && r.typeUrl === TypeUrl.ClusterLoadAssignment);
  expect(sent.map((r) => r.resourceNames)).toEqual([["payments"]]);
  expect(envoy.endpointAddresses("orders")).toEqual(["10.0.1.1:8080"]);
});

it("applies a burst of registry events as one update", async () => {
  await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${controlPlane.port}`, node: { id: "envoy-1" }, protocol: "delta" });
  await envoy.waitForEndpoints("orders", 1);
  const before = envoy.seq;

  registry.deregister("payments", "10.0.0.1:8080");
  for (let i = 2; i <= 5; i++) registry.register("payments", `10.0.0.${i}:8080`);

  expect(await envoy.waitForEndpoints("payments", 4)).toEqual(["10.0.0.2:8080", "10.0.0.3:8080", "10.0.0.4:8080", "10.0.0.5:8080"]);
  const sent = envoy.history.filter((r) => r.seq > before && r.typeUrl === TypeUrl.ClusterLoadAssignment);
  expect(sent).toHaveLength(1);
  expect(controlPlane.endpoints.get("payments")).toBeDefined();
});

it("serves SotW proxies too: a service going to zero instances leaves an empty assignment", async () => {
  await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${controlPlane.port}`, node: { id: "envoy-2" } });
  await envoy.waitForEndpoints("orders", 1);

  registry.deregister("orders", "10.0.1.1:8080");

  expect(await envoy.waitForEndpoints("orders", 0)).toEqual([]);
  expect(envoy.endpointAddresses("payments")).toEqual(["10.0.0.1:8080"]);
});
