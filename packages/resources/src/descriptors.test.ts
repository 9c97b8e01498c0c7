import { messageTypeOf } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { describe, expect, it } from "vitest";
import { runWithModuleLog } from "../../envoy-api/test-support/module-log.js";
import * as descriptors from "./descriptors.js";
import * as root from "./index.js";

describe("@xdskit/resources/descriptors", () => {
  it("is the root entry's registry and descriptors, codecs the instances import gives", () => {
    expect(descriptors.ResourceTypes).toBe(root.ResourceTypes);
    expect(descriptors.resourceTypeOf).toBe(root.resourceTypeOf);
    expect(descriptors.ResourceTypes.Cluster.messageType).toBe(Cluster);
    expect(descriptors.resourceTypeOf(root.ResourceTypes.Cluster.typeUrl).messageType).toBe(Cluster);
    // The descriptor is still a plain frozen object: spreading it keeps the codec.
    expect(Object.isFrozen(descriptors.ResourceTypes.Cluster)).toBe(true);
    expect({ ...descriptors.ResourceTypes.Cluster }.messageType).toBe(Cluster);
  });

  it("loads no generated message module until a codec is read or a config unpacked", () => {
    // A fresh process (what is loaded is per process) with a loader hook that
    // logs every ES module loaded; require(esm) lookups show in require.cache.
    // The modules of the resource codecs and of the configs references unpack
    // (the root entry of @xdskit/envoy-api loads a few core ones, e.g. base.js).
    const heavy = [
      "config/listener/v3/listener.js",
      "config/cluster/v3/cluster.js",
      "config/route/v3/route.js",
      "config/route/v3/route_components.js",
      "config/endpoint/v3/endpoint.js",
      "transport_sockets/tls/v3/tls.js",
      "transport_sockets/tls/v3/secret.js",
      "http_connection_manager/v3/http_connection_manager.js",
      "tcp_proxy/v3/tcp_proxy.js",
    ];
    const script = (log: string) => `
      const HEAVY = ${JSON.stringify(heavy)};
      import { readFileSync } from "node:fs";
      import { createRequire } from "node:module";
      const loaded = () => [
        ...readFileSync(${JSON.stringify(log)}, "utf8").split("\\n"),
        ...Object.keys(createRequire(import.meta.url).cache),
      ].filter((u) => HEAVY.some((m) => u.endsWith(m)));
      const { ResourceTypes } = await import("@xdskit/resources/descriptors");
      const atImport = loaded();
      const codec = ResourceTypes.Listener.messageType;
      const listener = codec.fromPartial({ name: "l", apiListener: { apiListener: { typeUrl: "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", value: new Uint8Array() } } });
      ResourceTypes.Listener.references(listener);
      const after = loaded();
      console.log(JSON.stringify({
        atImport,
        listener: after.some((u) => u.endsWith("config/listener/v3/listener.js")),
        hcm: after.some((u) => u.endsWith("http_connection_manager/v3/http_connection_manager.js")),
      }));`;
    const child = runWithModuleLog(import.meta.dirname, script);
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual({ atImport: [], listener: true, hcm: true });
  });

  it("gives each built-in codec from its module, the one the registry looks up", () => {
    for (const type of Object.values(descriptors.ResourceTypes)) {
      expect(type.messageType, type.typeUrl).toBe(messageTypeOf(type.typeUrl));
    }
  });

  it("reads the built-in codecs without loading envoy-api's table of every codec", () => {
    // A server that serves built-in types only never looks a codec up by name:
    // the table (gen/registry.js, 130 KB) stays unloaded until something does.
    const script = (log: string) => `
      import { readFileSync } from "node:fs";
      import { createRequire } from "node:module";
      const table = () => [
        ...readFileSync(${JSON.stringify(log)}, "utf8").split("\\n"),
        ...Object.keys(createRequire(import.meta.url).cache),
      ].some((u) => /\\/gen\\/registry\\.js$/.test(u));
      const { ResourceTypes } = await import("@xdskit/resources/descriptors");
      const codecs = Object.values(ResourceTypes).map((t) => typeof t.messageType.encode);
      const before = table();
      const { messageTypeOf } = await import("@xdskit/envoy-api");
      messageTypeOf(ResourceTypes.Cluster.typeUrl);
      console.log(JSON.stringify({ codecs: [...new Set(codecs)], before, after: table() }));`;
    const child = runWithModuleLog(import.meta.dirname, script);
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual({ codecs: ["function"], before: false, after: true });
  });
});
