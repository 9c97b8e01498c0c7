import Long from "long";
import { describe, expect, it } from "vitest";
import { ErrorCode, XdskitError } from "./errors.js";
import { CertificateDetails } from "./gen/envoy/admin/v3/certs.js";
import { ConfigDump } from "./gen/envoy/admin/v3/config_dump.js";
import { Bootstrap } from "./gen/envoy/config/bootstrap/v3/bootstrap.js";
import { Cluster, Cluster_LbPolicy } from "./gen/envoy/config/cluster/v3/cluster.js";
import { DataSource, Node } from "./gen/envoy/config/core/v3/base.js";
import { SocketOption } from "./gen/envoy/config/core/v3/socket_option.js";
import { Listener } from "./gen/envoy/config/listener/v3/listener.js";
import { JsonToMetadata_KeyValuePair } from "./gen/envoy/extensions/filters/http/json_to_metadata/v3/json_to_metadata.js";
import { MethodMatch } from "./gen/envoy/extensions/filters/network/dubbo_proxy/v3/route.js";
import { ClientSideWeightedRoundRobin } from "./gen/envoy/extensions/load_balancing_policies/client_side_weighted_round_robin/v3/client_side_weighted_round_robin.js";
import { Int32Range } from "./gen/envoy/type/v3/range.js";
import { SourceInfo } from "./gen/google/api/expr/v1alpha1/syntax.js";
import { Any } from "./gen/google/protobuf/any.js";
import { Duration } from "./gen/google/protobuf/duration.js";
import { ListValue, Struct, Value } from "./gen/google/protobuf/struct.js";
import { Timestamp } from "./gen/google/protobuf/timestamp.js";
import { UInt32Value, UInt64Value } from "./gen/google/protobuf/wrappers.js";
import { fromJson, fromJsonString, toJson, toJsonString } from "./json.js";
import { type MessageType, pack, unpack } from "./registry.js";

/** Runs `fn`, expecting an XdskitError; returns it. */
function caught(fn: () => unknown): XdskitError {
  try {
    fn();
  } catch (e) {
    expect(XdskitError.is(e)).toBe(true);
    return e as XdskitError;
  }
  throw new Error("expected an XdskitError");
}

/** fromJson(toJson(m)) equals m, and a binary round trip equals it too. */
function roundTrips<T>(type: MessageType<T>, message: T) {
  const json = toJson(type, message);
  expect(fromJson(type, json)).toEqual(message);
  expect(type.decode(type.encode(fromJson(type, json)).finish())).toEqual(message);
  return json;
}

describe("toJson/fromJson field names", () => {
  it("writes lowerCamelCase JSON names and omits defaults", () => {
    const cluster = Cluster.fromPartial({ name: "web", altStatName: "", lbPolicy: Cluster_LbPolicy.ROUND_ROBIN });
    expect(toJson(Cluster, cluster)).toEqual({ name: "web" });
  });

  it("accepts JSON names and proto names", () => {
    const a = fromJson(Cluster, { altStatName: "x", dns_lookup_family: "V4_ONLY" });
    expect(a.altStatName).toBe("x");
    expect(toJson(Cluster, a)).toEqual({ altStatName: "x", dnsLookupFamily: "V4_ONLY" });
  });

  it("writes proto names with useProtoNames and defaults with emitDefaults", () => {
    const cluster = Cluster.fromPartial({ name: "web", connectTimeout: { seconds: 2 } });
    expect(toJson(Cluster, cluster, { useProtoNames: true })).toEqual({ name: "web", connect_timeout: "2s" });
    const all = toJson(Cluster, cluster, { emitDefaults: true }) as Record<string, unknown>;
    expect(all.altStatName).toBe("");
    expect(all.lbPolicy).toBe("ROUND_ROBIN");
    expect(all.healthChecks).toEqual([]);
    expect(all.typedExtensionProtocolOptions).toEqual({});
    expect("loadAssignment" in all).toBe(false); // unset message fields stay absent
  });

  it("writes enums as numbers with enumsAsIntegers and reads numbers back", () => {
    const cluster = Cluster.fromPartial({ lbPolicy: Cluster_LbPolicy.MAGLEV });
    expect(toJson(Cluster, cluster, { enumsAsIntegers: true })).toEqual({ lbPolicy: 5 });
    expect(fromJson(Cluster, { lbPolicy: 5 }).lbPolicy).toBe(Cluster_LbPolicy.MAGLEV);
  });

  it("treats null as unset", () => {
    expect(fromJson(Cluster, { name: null, connectTimeout: null, healthChecks: null })).toEqual(Cluster.create());
  });

  it("writes oneof members even when they hold a default", () => {
    const option = SocketOption.fromPartial({ intValue: 0 });
    expect(toJson(SocketOption, option)).toEqual({ intValue: "0" });
    expect(fromJson(SocketOption, { intValue: "0" }).intValue?.toString()).toBe("0");
  });

  it("writes the Cluster discovery type, a oneof enum", () => {
    expect(roundTrips(Cluster, fromJson(Cluster, { type: "STRICT_DNS" }))).toEqual({ type: "STRICT_DNS" });
  });
});

describe("toJson/fromJson scalars", () => {
  it("writes 64-bit integers as strings and accepts numbers", () => {
    const option = fromJson(SocketOption, { level: 1, name: "9223372036854775807", intValue: "-5" });
    expect(option.level).toEqual(Long.fromNumber(1));
    expect(option.name.toString()).toBe("9223372036854775807");
    expect(roundTrips(SocketOption, option)).toEqual({ level: "1", name: "9223372036854775807", intValue: "-5" });
  });

  it("writes unsigned 64-bit integers as unsigned Longs", () => {
    const details = fromJson(CertificateDetails, { daysUntilExpiration: "18446744073709551615" });
    expect(details.daysUntilExpiration).toEqual(Long.MAX_UNSIGNED_VALUE);
    roundTrips(CertificateDetails, details);
  });

  it("writes bytes as base64 and accepts url-safe base64 without padding", () => {
    const source = DataSource.fromPartial({ inlineBytes: new Uint8Array([251, 255, 0, 1]) });
    expect(roundTrips(DataSource, source)).toEqual({ inlineBytes: "+/8AAQ==" });
    expect(fromJson(DataSource, { inlineBytes: "-_8AAQ" }).inlineBytes).toEqual(new Uint8Array([251, 255, 0, 1]));
  });

  it("writes NaN and infinities of floats as strings", () => {
    const lb = fromJson(ClientSideWeightedRoundRobin, { errorUtilizationPenalty: "Infinity" });
    expect(lb.errorUtilizationPenalty).toBe(Number.POSITIVE_INFINITY);
    expect(toJson(ClientSideWeightedRoundRobin, lb)).toEqual({ errorUtilizationPenalty: "Infinity" });
    expect(toJson(ClientSideWeightedRoundRobin, fromJson(ClientSideWeightedRoundRobin, { errorUtilizationPenalty: "NaN" }))).toEqual({
      errorUtilizationPenalty: "NaN",
    });
  });

  it("writes a 32-bit float in its shortest form", () => {
    const lb = fromJson(ClientSideWeightedRoundRobin, { errorUtilizationPenalty: 0.1 });
    expect(lb.errorUtilizationPenalty).toBe(Math.fround(0.1));
    expect(roundTrips(ClientSideWeightedRoundRobin, lb)).toEqual({ errorUtilizationPenalty: 0.1 });
  });

  it("reads map keys of integer types, as a Map for 64-bit keys", () => {
    const match = fromJson(MethodMatch, { paramsMatch: { "3": { exactMatch: "a" } } });
    expect(Object.keys(match.paramsMatch)).toEqual(["3"]);
    roundTrips(MethodMatch, match);
    const info = fromJson(SourceInfo, { positions: { "12": 7 } });
    expect([...info.positions]).toEqual([[Long.fromNumber(12), 7]]);
    expect(roundTrips(SourceInfo, info)).toEqual({ positions: { "12": 7 } });
  });
});

describe("toJson/fromJson well-known types", () => {
  it("writes Duration as seconds with 0, 3, 6 or 9 fractional digits", () => {
    const cases: [string, string][] = [
      ["1s", "1s"],
      ["1.5s", "1.500s"],
      ["0.000001s", "0.000001s"],
      ["0.000000001s", "0.000000001s"],
      ["-1.25s", "-1.250s"],
      ["-0.5s", "-0.500s"],
    ];
    for (const [input, output] of cases) {
      expect(toJson(Duration, fromJson(Duration, input))).toBe(output);
    }
    expect(fromJson(Duration, "-0.5s")).toEqual({ seconds: Long.ZERO, nanos: -500000000 });
    expect(toJson(Cluster, Cluster.fromPartial({ connectTimeout: { seconds: 0, nanos: 250_000_000 } }))).toEqual({
      connectTimeout: "0.250s",
    });
  });

  it("writes Timestamp in RFC 3339 UTC and reads offsets", () => {
    const ts = fromJson(Timestamp, "1972-01-01T10:00:20.021Z");
    expect(ts).toEqual({ seconds: Long.fromNumber(63108020), nanos: 21000000 });
    expect(toJson(Timestamp, ts)).toBe("1972-01-01T10:00:20.021Z");
    expect(toJson(Timestamp, fromJson(Timestamp, "2024-05-01T14:00:00+02:00"))).toBe("2024-05-01T12:00:00Z");
    expect(toJson(Timestamp, fromJson(Timestamp, "0001-01-01T00:00:00Z"))).toBe("0001-01-01T00:00:00Z");
    const details = fromJson(CertificateDetails, { validFrom: "2026-11-22T01:38:17.123456789Z" });
    expect(roundTrips(CertificateDetails, details)).toEqual({ validFrom: "2026-11-22T01:38:17.123456789Z" });
  });

  it("writes wrappers as plain values, in fields and at the top level", () => {
    const cluster = fromJson(Cluster, { perConnectionBufferLimitBytes: 0, ringHashLbConfig: { minimumRingSize: "1024" } });
    expect(cluster.perConnectionBufferLimitBytes).toBe(0);
    expect(cluster.ringHashLbConfig?.minimumRingSize).toEqual(Long.fromNumber(1024, true));
    expect(roundTrips(Cluster, cluster)).toEqual({ perConnectionBufferLimitBytes: 0, ringHashLbConfig: { minimumRingSize: "1024" } });
    expect(toJson(UInt32Value, { value: 7 })).toBe(7);
    expect(fromJson(UInt64Value, 9)).toEqual({ value: Long.fromNumber(9, true) });
  });

  it("writes Struct, Value and ListValue as plain JSON", () => {
    const node = fromJson(Node, { id: "n", metadata: { a: 1, b: [true, null, "x"], c: { d: null } } });
    expect(node.metadata).toEqual({ a: 1, b: [true, null, "x"], c: { d: null } });
    roundTrips(Node, node);
    expect(fromJson(Struct, { a: 1 })).toEqual({ fields: { a: 1 } });
    expect(toJson(Struct, { fields: { a: [1] } })).toEqual({ a: [1] });
    expect(fromJson(Value, "s")).toMatchObject({ stringValue: "s" });
    expect(toJson(Value, Value.decode(Value.encode(Value.wrap({ x: [1, "y"] })).finish()))).toEqual({ x: [1, "y"] });
    expect(toJson(ListValue, fromJson(ListValue, [1, { a: null }]))).toEqual([1, { a: null }]);
  });

  it("keeps a __proto__ key in a Struct or map as data", () => {
    const node = fromJson(Node, JSON.parse('{"metadata":{"__proto__":{"polluted":true}}}'));
    expect(Object.getPrototypeOf(node.metadata)).toBe(Object.prototype);
    expect(Object.keys(node.metadata ?? {})).toEqual(["__proto__"]);
    expect(toJsonString(Node, node)).toBe('{"metadata":{"__proto__":{"polluted":true}}}');
  });

  it("keeps JSON null in a Value field (it is Value's null, not unset)", () => {
    const pair = fromJson(JsonToMetadata_KeyValuePair, { key: "k", value: null });
    expect(pair.value).toBeNull();
    expect(roundTrips(JsonToMetadata_KeyValuePair, pair)).toEqual({ key: "k", value: null });
  });

  it("writes an Any with its fields next to @type", () => {
    const listener = fromJson(Listener, {
      name: "l",
      listenerFilters: [{ name: "tls", typedConfig: { "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", name: "inner" } }],
    });
    const any = listener.listenerFilters[0]?.typedConfig as Any;
    expect(unpack(any, Cluster).name).toBe("inner");
    roundTrips(Listener, listener);
  });

  it("writes an Any holding a well-known type with a value field", () => {
    const dump = ConfigDump.fromPartial({
      configs: [
        pack(Duration, { seconds: 3 }),
        pack(Struct, Struct.wrap({ a: 1 })),
        pack(UInt32Value, { value: 5 }),
        pack(Timestamp, { seconds: 0 }),
        pack(Any, pack(Cluster, { name: "c" })),
      ],
    });
    const json = roundTrips(ConfigDump, dump) as { configs: unknown[] };
    expect(json.configs).toEqual([
      { "@type": "type.googleapis.com/google.protobuf.Duration", value: "3s" },
      { "@type": "type.googleapis.com/google.protobuf.Struct", value: { a: 1 } },
      { "@type": "type.googleapis.com/google.protobuf.UInt32Value", value: 5 },
      { "@type": "type.googleapis.com/google.protobuf.Timestamp", value: "1970-01-01T00:00:00Z" },
      {
        "@type": "type.googleapis.com/google.protobuf.Any",
        value: { "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", name: "c" },
      },
    ]);
  });

  it("reads an empty object as an empty Any", () => {
    expect(fromJson(Any, {})).toEqual({ typeUrl: "", value: new Uint8Array(0) });
    expect(toJson(Any, Any.create())).toEqual({});
  });
});

describe("toJsonString/fromJsonString", () => {
  it("round-trips through text, indented on request", () => {
    const cluster = Cluster.fromPartial({ name: "web" });
    expect(toJsonString(Cluster, cluster)).toBe('{"name":"web"}');
    expect(toJsonString(Cluster, cluster, { indent: 2 })).toBe('{\n  "name": "web"\n}');
    expect(fromJsonString(Cluster, '{"name":"web"}')).toEqual(cluster);
  });

  it("reports malformed JSON text as XDSKIT_INVALID_JSON", () => {
    expect(caught(() => fromJsonString(Cluster, "{nope")).code).toBe(ErrorCode.INVALID_JSON);
  });
});

describe("fromJson errors", () => {
  it("names an unknown field with its path and a suggestion", () => {
    const e = caught(() => fromJson(Cluster, { loadAssignment: { endpoints: [{ lbEndpoint: [] }] } }));
    expect(e.code).toBe(ErrorCode.INVALID_JSON);
    expect(e.path).toBe("$.loadAssignment.endpoints[0].lbEndpoint");
    expect(e.message).toBe(
      '$.loadAssignment.endpoints[0].lbEndpoint: unknown field "lbEndpoint" in envoy.config.endpoint.v3.LocalityLbEndpoints; did you mean "lbEndpoints"?',
    );
  });

  it("skips unknown fields and enum names with ignoreUnknownFields", () => {
    const cluster = fromJson(Cluster, { name: "web", bogus: 1, lbPolicy: "NEWER_POLICY" }, { ignoreUnknownFields: true });
    expect(cluster).toEqual(Cluster.fromPartial({ name: "web" }));
  });

  it("names a value of the wrong type", () => {
    const e = caught(() => fromJson(Cluster, { name: 5 }));
    expect(e.message).toBe("$.name: expected a string, got 5");
    expect(caught(() => fromJson(Cluster, { healthChecks: {} })).message).toBe("$.healthChecks: expected an array, got an object");
    expect(caught(() => fromJson(Cluster, { loadAssignment: "x" })).message).toBe(
      '$.loadAssignment: expected an object (envoy.config.endpoint.v3.ClusterLoadAssignment), got "x"',
    );
    expect(caught(() => fromJson(Cluster, { respectDnsTtl: "yes" })).message).toBe('$.respectDnsTtl: expected true or false, got "yes"');
  });

  it("names a bad enum name and lists valid ones", () => {
    const e = caught(() => fromJson(Cluster, { lbPolicy: "ROUND_ROBBIN" }));
    expect(e.path).toBe("$.lbPolicy");
    expect(e.message).toContain(
      'unknown value "ROUND_ROBBIN" for enum envoy.config.cluster.v3.Cluster.LbPolicy; expected one of ROUND_ROBIN,',
    );
    expect(caught(() => fromJson(Cluster, { lbPolicy: "constructor" })).code).toBe(ErrorCode.INVALID_JSON);
  });

  it("names a bad duration deep in a bootstrap", () => {
    const e = caught(() => fromJson(Bootstrap, { staticResources: { clusters: [{ name: "a", connectTimeout: 5 }] } }));
    expect(e.message).toBe(
      '$.staticResources.clusters[0].connectTimeout: expected a duration string like "1.5s" (a number has no unit: write "5s" for 5 seconds), got 5',
    );
    expect(e.path).toBe("$.staticResources.clusters[0].connectTimeout");
  });

  it("names a bad duration", () => {
    const e = caught(() => fromJson(Cluster, { connectTimeout: 5 }));
    expect(e.message).toBe(
      '$.connectTimeout: expected a duration string like "1.5s" (a number has no unit: write "5s" for 5 seconds), got 5',
    );
    expect(caught(() => fromJson(Cluster, { connectTimeout: "5" })).message).toBe(
      '$.connectTimeout: expected a duration string like "1.5s", got "5"',
    );
    expect(caught(() => fromJson(Cluster, { connectTimeout: "1.0000000001s" })).code).toBe(ErrorCode.INVALID_JSON);
    expect(caught(() => fromJson(Cluster, { connectTimeout: "315576000001s" })).message).toContain("out of range");
  });

  it("names a bad timestamp", () => {
    expect(caught(() => fromJson(Timestamp, "2024-02-30T00:00:00Z")).message).toBe("$: 2024-02-30T00:00:00Z is not a valid date and time");
    expect(caught(() => fromJson(Timestamp, "yesterday")).code).toBe(ErrorCode.INVALID_JSON);
  });

  it("names an Any with an unknown type URL", () => {
    const e = caught(() =>
      fromJson(Listener, {
        filterChains: [{ filters: [{ name: "f", typedConfig: { "@type": "type.googleapis.com/acme.Widget", x: 1 } }] }],
      }),
    );
    expect(e.code).toBe(ErrorCode.INVALID_JSON);
    expect(e.path).toBe("$.filterChains[0].filters[0].typedConfig");
    expect(e.typeUrl).toBe("type.googleapis.com/acme.Widget");
    expect(e.message).toContain('unknown type URL "type.googleapis.com/acme.Widget"');
    expect(caught(() => fromJson(Any, { name: "x" })).message).toContain('an Any needs "@type"');
  });

  it("refuses to write an Any with an unknown type URL", () => {
    const dump = ConfigDump.fromPartial({ configs: [{ typeUrl: "type.googleapis.com/acme.Widget", value: new Uint8Array() }] });
    const e = caught(() => toJson(ConfigDump, dump));
    expect(e.code).toBe(ErrorCode.JSON_ENCODE_FAILED);
    expect(e.path).toBe("$.configs[0]");
    expect(e.message).toContain("acme.Widget");
  });

  it("names invalid base64", () => {
    const e = caught(() => fromJson(DataSource, { inlineBytes: "not base64!" }));
    expect(e.message).toBe('$.inlineBytes: expected base64 bytes (standard or url-safe alphabet), got "not base64!"');
    expect(caught(() => fromJson(DataSource, { inlineBytes: "abcde" })).code).toBe(ErrorCode.INVALID_JSON);
  });

  it("names out-of-range and fractional integers", () => {
    expect(caught(() => fromJson(Int32Range, { start: 2147483648 })).message).toBe(
      "$.start: 2147483648 is out of range for int32 (-2147483648 to 2147483647)",
    );
    expect(caught(() => fromJson(Int32Range, { start: 1.5 })).message).toBe("$.start: expected an integer (int32), got 1.5");
    expect(caught(() => fromJson(Cluster, { perConnectionBufferLimitBytes: -1 })).message).toContain("out of range for uint32");
    expect(caught(() => fromJson(SocketOption, { level: "9223372036854775808" })).message).toContain("out of range for int64");
    expect(fromJson(Int32Range, { start: "-7", end: "1e2" })).toEqual({ start: -7, end: 100 });
  });

  it("refuses two members of one oneof and a field given twice", () => {
    expect(caught(() => fromJson(DataSource, { filename: "a", inlineString: "b" })).message).toContain(
      "belong to the same oneof specifier",
    );
    expect(caught(() => fromJson(Cluster, { name: "a", name_: 1 })).message).toContain('unknown field "name_"');
    expect(caught(() => fromJson(Cluster, { altStatName: "a", alt_stat_name: "b" })).message).toBe(
      '$.alt_stat_name: field alt_stat_name is given twice (as "altStatName" and "alt_stat_name")',
    );
  });

  it("refuses to write two members of one oneof", () => {
    const e = caught(() => toJson(Cluster, Cluster.fromPartial({ type: 1, clusterType: { name: "x" } })));
    expect(e.code).toBe(ErrorCode.JSON_ENCODE_FAILED);
    expect(e.message).toBe(
      '$.clusterType: "type" and "clusterType" are both set, but they belong to the same oneof cluster_discovery_type; set only one',
    );
  });

  it("refuses a non-object for a message and null inside lists", () => {
    expect(caught(() => fromJson(Cluster, [])).message).toBe("$: expected an object (envoy.config.cluster.v3.Cluster), got an array");
    expect(caught(() => fromJson(Cluster, { healthChecks: [null] })).message).toBe("$.healthChecks[0]: expected a list element, got null");
  });

  it("validates its options", () => {
    const e = caught(() => fromJson(Cluster, {}, { ignoreUnknown: true } as never));
    expect(e.code).toBe(ErrorCode.INVALID_OPTION);
    expect(e.message).toBe('fromJson: option "ignoreUnknown" must be one of the known options (ignoreUnknownFields); got true');
    expect(e.path).toBe("ignoreUnknown");
    expect(caught(() => toJson(Cluster, Cluster.create(), { emitDefaults: "yes" } as never)).message).toBe(
      'toJson: option "emitDefaults" must be a boolean; got "yes"',
    );
  });
});
