// The examples in doc comments, docs/api.md and the README, run, so they
// cannot drift from what the code does.
import Long from "long";
import { describe, expect, it } from "vitest";
import { Bootstrap } from "./gen/envoy/config/bootstrap/v3/bootstrap.js";
import { Cluster, Cluster_LbPolicy } from "./gen/envoy/config/cluster/v3/cluster.js";
import { RouteConfiguration } from "./gen/envoy/config/route/v3/route.js";
import { HttpConnectionManager } from "./gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.js";
import { WELL_KNOWN } from "./internal/well-known.js";
import { fromJson, fromJsonString, JSON_DEFAULTS, toJson, toJsonString } from "./json.js";
import { fullNameOf, hasMessageType, pack, typeNameOf, typeUrlOf, unpack } from "./registry.js";
import { enumSchema, messageSchema, schema } from "./schema.js";
import { TypeUrl } from "./type-urls.js";
import { fromYaml, toYaml } from "./yaml.js";

describe("documented examples", () => {
  it("registry", () => {
    const any = pack(HttpConnectionManager, { statPrefix: "ingress", rds: { routeConfigName: "web" } });
    expect(any.typeUrl).toBe("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
    expect(unpack(any, HttpConnectionManager).statPrefix).toBe("ingress");
    expect(typeNameOf("type.googleapis.com/envoy.config.cluster.v3.Cluster")).toBe("envoy.config.cluster.v3.Cluster");
    expect(hasMessageType(TypeUrl.Cluster)).toBe(true);
    expect(hasMessageType("type.googleapis.com/acme.Widget")).toBe(false);
    expect(fullNameOf(Cluster)).toBe("envoy.config.cluster.v3.Cluster");
    expect(typeUrlOf(Cluster) === TypeUrl.Cluster).toBe(true);
  });

  it("JSON", () => {
    const cluster = Cluster.fromPartial({ name: "web", connectTimeout: { seconds: 1, nanos: 500_000_000 } });
    expect(toJson(Cluster, cluster)).toEqual({ name: "web", connectTimeout: "1.500s" });
    expect(toJson(Cluster, cluster, { useProtoNames: true })).toEqual({ name: "web", connect_timeout: "1.500s" });
    const read = fromJson(Cluster, { name: "web", connect_timeout: "0.25s", lbPolicy: "RING_HASH" });
    expect(read.connectTimeout).toEqual({ seconds: Long.ZERO, nanos: 250000000 });
    expect(read.lbPolicy).toBe(Cluster_LbPolicy.RING_HASH);
    expect(Cluster_LbPolicy.RING_HASH).toBe(2);
    expect(toJsonString(Cluster, Cluster.fromPartial({ name: "web" }))).toBe('{"name":"web"}');
    const route = fromJsonString(RouteConfiguration, '{"name":"web","virtualHosts":[{"name":"all","domains":["*"]}]}');
    expect(route.virtualHosts[0]?.domains).toEqual(["*"]);
    expect(JSON_DEFAULTS).toEqual({
      emitDefaults: false,
      useProtoNames: false,
      enumsAsIntegers: false,
      ignoreUnknownFields: false,
      indent: 0,
    });
    expect(Object.isFrozen(JSON_DEFAULTS)).toBe(true);
  });

  it("README", () => {
    const any = pack(Cluster, { name: "web", connectTimeout: { seconds: 1 } });
    expect(toJson(Cluster, unpack(any, Cluster))).toEqual({ name: "web", connectTimeout: "1s" });
  });

  it("YAML", () => {
    const bootstrap = fromYaml(
      Bootstrap,
      `
static_resources:
  clusters:
  - name: web
    connect_timeout: 0.25s
    type: STRICT_DNS
`,
    );
    expect(bootstrap.staticResources?.clusters[0]?.connectTimeout?.nanos).toBe(250000000);
    expect(toYaml(Cluster, Cluster.fromPartial({ name: "web", connectTimeout: { seconds: 1 } }))).toBe("name: web\nconnect_timeout: 1s\n");
  });

  it("schema", () => {
    expect(Object.keys(schema().messages).length).toBe(1220);
    const field = messageSchema("envoy.config.cluster.v3.Cluster")?.f.find((f) => f.n === "connect_timeout");
    expect(field?.j).toBe("connectTimeout");
    expect(field?.rules).toEqual({ duration: { gt: "0s" } });
    expect(enumSchema("envoy.config.cluster.v3.Cluster.LbPolicy")?.v.RING_HASH).toBe(2);
  });

  it("field masks (no Envoy v3 message has one; the codec is ready for them)", () => {
    const mask = WELL_KNOWN.get("google.protobuf.FieldMask");
    expect(mask?.field?.toJson(["a.b", "c_d"], "$")).toBe("a.b,cD");
    expect(mask?.field?.fromJson("a.b,cD", "$")).toEqual(["a.b", "c_d"]);
  });
});

describe("Long, re-exported from the package root", () => {
  it("is the long package's class, so 64-bit fields need no dependency of the user's own", async () => {
    const root = await import("./index.js");
    expect(root.Long).toBe(Long);
    const web = Cluster.fromPartial({ name: "web", connectTimeout: { seconds: root.Long.fromNumber(5), nanos: 0 } });
    expect(web.connectTimeout?.seconds.toNumber()).toBe(5);
  });
});
