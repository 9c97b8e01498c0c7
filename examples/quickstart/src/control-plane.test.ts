// Tests the control plane the way a user should: FakeEnvoy (a real xDS
// client over a real socket, behaving like Envoy) connects and we check what
// it runs.
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startControlPlane } from "./control-plane.js";

describe("quickstart control plane", () => {
  let controlPlane: Awaited<ReturnType<typeof startControlPlane>>;
  const lines: string[] = [];

  beforeEach(async () => {
    lines.length = 0;
    controlPlane = await startControlPlane({ port: 0, backends: ["10.0.0.1:8080"], log: (line) => lines.push(line) });
  });
  afterEach(() => controlPlane.close());

  it("gives a proxy its listener, routes, cluster and endpoints, and logs its ACKs", async () => {
    await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${controlPlane.port}`, node: { id: "envoy-1" } });

    expect(await envoy.waitForEndpoints("web", 1)).toEqual(["10.0.0.1:8080"]);
    await envoy.waitForResource(TypeUrl.RouteConfiguration, "web");
    expect([...envoy.listeners.keys()]).toEqual(["http"]);
    expect(envoy.nacks).toEqual([]);
    const cdsAck = await envoy.waitForAck(TypeUrl.Cluster);
    await expect.poll(() => lines).toContain(`ACK  envoy-1 ${TypeUrl.Cluster} ${cdsAck.version}`);
  });

  it("pushes a new set of backends to connected proxies", async () => {
    await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${controlPlane.port}`, node: { id: "envoy-1" } });
    await envoy.waitForEndpoints("web", 1);

    controlPlane.update("2", ["10.0.0.1:8080", "10.0.0.2:8080"]);

    expect(await envoy.waitForEndpoints("web", 2)).toEqual(["10.0.0.1:8080", "10.0.0.2:8080"]);
  });

  it("refuses an invalid update and keeps serving the last good one", async () => {
    await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${controlPlane.port}`, node: { id: "envoy-1" } });
    await envoy.waitForEndpoints("web", 1);

    expect(() => controlPlane.update("3", ["10.0.0.1:70000"])).toThrow(/port_value: must be <= 65535/);

    expect(controlPlane.cache.getSnapshot("everyone")?.version).toBe("1");
    expect(envoy.endpointAddresses("web")).toEqual(["10.0.0.1:8080"]);
  });
});
