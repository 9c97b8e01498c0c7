import { describe, expect, it } from "vitest";
import { ErrorCode, XdskitError } from "./errors.js";
import { Cluster } from "./gen/envoy/config/cluster/v3/cluster.js";
import { HttpConnectionManager } from "./gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js";
import { fullNameOf, hasMessageType, messageTypeOf, pack, registerMessageType, typeUrlOf, unpack } from "./registry.js";
import { TypeUrl } from "./type-urls.js";

describe("registry", () => {
  it("knows the type URL of a generated codec", () => {
    expect(typeUrlOf(Cluster)).toBe(TypeUrl.Cluster);
    expect(fullNameOf(HttpConnectionManager)).toBe("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
    expect(messageTypeOf(TypeUrl.Cluster)).toBe(Cluster);
    expect(hasMessageType("type.googleapis.com/acme.Nope")).toBe(false);
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
