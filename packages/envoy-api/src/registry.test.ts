// The built codecs, as users import them: the registry loads generated
// modules through the package's own name, so lookups return these instances.
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { describe, expect, it } from "vitest";
import { runWithModuleLog } from "../test-support/module-log.js";
import { ErrorCode, XdskitError } from "./errors.js";
import { fullNameOf, hasMessageType, messageTypeOf, pack, registerMessageType, typeUrlOf, unpack } from "./registry.js";
import { TypeUrl } from "./type-urls.js";

describe("registry", () => {
  it("knows the type URL of a generated codec", () => {
    expect(typeUrlOf(Cluster)).toBe(TypeUrl.Cluster);
    expect(fullNameOf(HttpConnectionManager)).toBe("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
    expect(messageTypeOf(TypeUrl.Cluster)).toBe(Cluster);
    expect(hasMessageType("type.googleapis.com/acme.Nope")).toBe(false);
  });

  it("loads a generated module only when one of its types is first looked up, as the instance import gives", () => {
    // A fresh process (what is loaded is per process), with a loader hook that
    // logs every module import loads; lazy lookups show up in require.cache.
    const script = (log: string) => `
      import { readFileSync } from "node:fs";
      import { createRequire } from "node:module";
      const api = await import("@xdskit/envoy-api");
      const imported = readFileSync(${JSON.stringify(log)}, "utf8").split("\\n").filter((u) => u.includes("/gen/"));
      const codec = api.messageTypeOf("type.googleapis.com/envoy.admin.v3.Certificates");
      const required = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes("/gen/"));
      const { Certificates } = await import("@xdskit/envoy-api/envoy/admin/v3/certs");
      const { Cluster } = await import("@xdskit/envoy-api/envoy/config/cluster/v3/cluster");
      console.log(JSON.stringify({
        certsAtImport: imported.some((u) => u.includes("admin/v3/certs")),
        generatedAtImport: imported.length,
        requiredOnLookup: required.some((p) => p.endsWith("admin/v3/certs.js")),
        same: codec === Certificates,
        name: api.fullNameOf(Cluster),
      }));`;
    const child = runWithModuleLog(import.meta.dirname, script);
    expect(child.stderr).toBe("");
    const seen = JSON.parse(child.stdout);
    expect(seen).toMatchObject({ certsAtImport: false, requiredOnLookup: true, same: true, name: "envoy.config.cluster.v3.Cluster" });
    // The entry point needs the discovery messages and their imports, not the 393 generated modules.
    expect(seen.generatedAtImport).toBeLessThan(60);
  });

  it("packs and unpacks without the caller spelling the type URL", () => {
    const any = pack(Cluster, { name: "web", connectTimeout: { seconds: 5 } });
    expect(any.typeUrl).toBe(TypeUrl.Cluster);
    const cluster = unpack(any, Cluster);
    expect(cluster.name).toBe("web");
    expect(cluster.connectTimeout?.seconds.toNumber()).toBe(5);
    expect((unpack(any) as Cluster).name).toBe("web");
  });

  it("names the types when unpacking the wrong one", () => {
    const any = pack(Cluster, { name: "web" });
    try {
      unpack(any, HttpConnectionManager);
      expect.unreachable();
    } catch (e) {
      expect(XdskitError.is(e)).toBe(true);
      expect((e as XdskitError).code).toBe(ErrorCode.TYPE_MISMATCH);
      expect((e as Error).message).toContain("envoy.config.cluster.v3.Cluster");
    }
  });

  it("rejects an unknown type URL with a clear error", () => {
    expect(() => unpack({ typeUrl: "type.googleapis.com/acme.Widget", value: new Uint8Array() })).toThrow(
      /unknown message type "type.googleapis.com\/acme.Widget"/,
    );
  });

  it("reports undecodable bytes with the type name", () => {
    expect(() => unpack({ typeUrl: TypeUrl.Cluster, value: new Uint8Array([0x0a, 0xff]) })).toThrow(
      /cannot decode 2 bytes as envoy.config.cluster.v3.Cluster/,
    );
  });
});

describe("registerMessageType", () => {
  it("treats a second name for a known codec as an alias, keeping its type URL", () => {
    registerMessageType("acme.mesh.v1.ClusterAlias", Cluster);
    expect(messageTypeOf("type.googleapis.com/acme.mesh.v1.ClusterAlias")).toBe(Cluster);
    expect(typeUrlOf(Cluster)).toBe(TypeUrl.Cluster);
  });

  it("refuses a name already taken by another codec", () => {
    expect(() => registerMessageType("envoy.config.cluster.v3.Cluster", HttpConnectionManager)).toThrow(/already registered/);
  });
});
