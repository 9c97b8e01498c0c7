import { spawnSync } from "node:child_process";
import { Client, credentials } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { AggregatedDiscoveryServiceClient, AggregatedDiscoveryServiceService } from "./services.js";

describe("generated gRPC client constructors", () => {
  it("do not load @grpc/grpc-js with the package, only when first used", () => {
    // A fresh process: what is loaded is per process. @grpc/grpc-js is
    // CommonJS, so whatever loads it shows in require.cache.
    const script = `
      import { createRequire } from "node:module";
      const cache = createRequire(import.meta.url).cache;
      const grpcLoaded = () => Object.keys(cache).some((p) => p.includes("@grpc/grpc-js"));
      const api = await import("@xdskit/envoy-api");
      await import("@xdskit/envoy-api/envoy/service/runtime/v3/rtds");
      const atImport = grpcLoaded();
      const client = new api.ClusterDiscoveryServiceClient("127.0.0.1:1", (await import("@grpc/grpc-js")).credentials.createInsecure());
      client.close();
      console.log(JSON.stringify({ atImport, afterUse: grpcLoaded() }));`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: import.meta.dirname, encoding: "utf8" });
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual({ atImport: false, afterUse: true });
  });

  it("make the constructor @grpc/grpc-js makes: new, instanceof, statics, extends", () => {
    const client = new AggregatedDiscoveryServiceClient("127.0.0.1:1", credentials.createInsecure());
    try {
      expect(client).toBeInstanceOf(Client);
      expect(client).toBeInstanceOf(AggregatedDiscoveryServiceClient);
      expect(typeof client.streamAggregatedResources).toBe("function");
      expect(typeof client.deltaAggregatedResources).toBe("function");
    } finally {
      client.close();
    }
    expect(AggregatedDiscoveryServiceClient.service).toBe(AggregatedDiscoveryServiceService);
    expect(AggregatedDiscoveryServiceClient.serviceName).toBe("envoy.service.discovery.v3.AggregatedDiscoveryService");
    expect(Object.getPrototypeOf(AggregatedDiscoveryServiceClient)).toBe(Client);
    expect(Object.keys(AggregatedDiscoveryServiceClient)).toEqual(expect.arrayContaining(["service", "serviceName"]));

    class Traced extends AggregatedDiscoveryServiceClient {
      opened = 0;
      open() {
        this.opened++;
        return this.streamAggregatedResources();
      }
    }
    const traced = new Traced("127.0.0.1:1", credentials.createInsecure());
    try {
      expect(traced).toBeInstanceOf(AggregatedDiscoveryServiceClient);
      expect(traced).toBeInstanceOf(Traced);
      const call = traced.open();
      call.on("error", () => {});
      call.cancel();
      expect(traced.opened).toBe(1);
    } finally {
      traced.close();
    }
    // Without `new`, as the class itself does.
    expect(() => (AggregatedDiscoveryServiceClient as unknown as () => unknown)()).toThrow(TypeError);
  });
});
