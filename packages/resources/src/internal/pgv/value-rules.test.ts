import Long from "long";
import { describe, expect, it } from "vitest";
import { compileRe2 } from "./regex.js";
import { parseDuration, valueChecks } from "./value-rules.js";

/** The rule ids that fail for a value under one rule set. */
function failing(rules: Record<string, unknown>, value: unknown, type = "string", isEnum = false): string[] {
  return valueChecks(rules, type, isEnum)
    .map((check) => check(value))
    .filter((p) => p !== undefined)
    .map((p) => `${p?.rule}: ${p?.message}`);
}

describe("string rules", () => {
  it("measures len/min_len/max_len in code points and *_bytes in UTF-8 bytes", () => {
    expect(failing({ string: { minLen: "2", maxLen: "3" } }, "😀😀")).toEqual([]);
    expect(failing({ string: { len: "2" } }, "😀")).toEqual(["string.len: must be exactly 2 characters long"]);
    expect(failing({ string: { maxBytes: "4" } }, "😀😀")).toEqual(["string.max_bytes: must be at most 4 bytes long"]);
    expect(failing({ string: { minBytes: "5", lenBytes: "4" } }, "😀")).toEqual(["string.min_bytes: must be at least 5 bytes long"]);
    expect(failing({ string: { lenBytes: "3" } }, "😀")).toEqual(["string.len_bytes: must be exactly 3 bytes long"]);
  });

  it("checks const, pattern, prefix, suffix, contains, not_contains, in and not_in", () => {
    expect(failing({ string: { const: "a" } }, "b")).toEqual(['string.const: must equal "a"']);
    expect(failing({ string: { pattern: "^[a-z]+$" } }, "ABC")).toEqual(["string.pattern: must match the pattern /^[a-z]+$/"]);
    expect(failing({ string: { prefix: "/", suffix: ".json", contains: "api", notContains: ".." } }, "x/../y")).toEqual([
      'string.prefix: must start with "/"',
      'string.suffix: must end with ".json"',
      'string.contains: must contain "api"',
      'string.not_contains: must not contain ".."',
    ]);
    expect(failing({ string: { in: ["http", "https"] } }, "ftp")).toEqual(['string.in: must be one of ["http", "https"]']);
    expect(failing({ string: { notIn: ["admin"] } }, "admin")).toEqual(['string.not_in: must not be one of ["admin"]']);
  });

  it("checks the well-known formats", () => {
    expect(failing({ string: { email: true } }, "a@example.com")).toEqual([]);
    expect(failing({ string: { email: true } }, "not-an-email")).toEqual(["string.email: must be a valid email address"]);
    expect(failing({ string: { hostname: true } }, "-bad-.example")).toHaveLength(1);
    expect(failing({ string: { hostname: true } }, "ok.example.com")).toEqual([]);
    expect(failing({ string: { ip: true } }, "::1")).toEqual([]);
    expect(failing({ string: { ipv4: true } }, "::1")).toEqual(["string.ipv4: must be a valid IPv4 address"]);
    expect(failing({ string: { ipv6: true } }, "10.0.0.1")).toEqual(["string.ipv6: must be a valid IPv6 address"]);
    expect(failing({ string: { uri: true } }, "/relative")).toEqual(["string.uri: must be an absolute URI"]);
    expect(failing({ string: { uriRef: true } }, "/relative?x=1")).toEqual([]);
    expect(failing({ string: { uriRef: true } }, "has space")).toHaveLength(1);
    expect(failing({ string: { address: true } }, "10.0.0.1")).toEqual([]);
    expect(failing({ string: { address: true } }, "bad host")).toHaveLength(1);
    expect(failing({ string: { uuid: true } }, "123e4567-e89b-12d3-a456-426614174000")).toEqual([]);
    expect(failing({ string: { uuid: true } }, "123")).toEqual(["string.uuid: must be a UUID"]);
  });

  it("applies the HTTP header regexes, strict and not", () => {
    expect(failing({ string: { wellKnownRegex: "HTTP_HEADER_NAME" } }, "x-ok")).toEqual([]);
    expect(failing({ string: { wellKnownRegex: "HTTP_HEADER_NAME" } }, ":authority")).toEqual([]);
    expect(failing({ string: { wellKnownRegex: "HTTP_HEADER_NAME" } }, "bad header")).toEqual([
      "string.well_known_regex: must be a valid HTTP header name",
    ]);
    expect(failing({ string: { wellKnownRegex: "HTTP_HEADER_NAME", strict: false } }, "bad header")).toEqual([]);
    expect(failing({ string: { wellKnownRegex: "HTTP_HEADER_VALUE" } }, "a\u0001b")).toHaveLength(1);
    expect(failing({ string: { wellKnownRegex: "HTTP_HEADER_VALUE", strict: false } }, "a\u0001b")).toEqual([]);
    expect(failing({ string: { wellKnownRegex: "HTTP_HEADER_VALUE", strict: false } }, "a\r\nb")).toHaveLength(1);
  });
});

describe("number rules", () => {
  it("checks const, lt, lte, gt, gte, in and not_in", () => {
    expect(failing({ uint32: { lte: 65535 } }, 70000, "uint32")).toEqual(["uint32.lte: must be <= 65535"]);
    expect(failing({ int32: { gt: 0, lt: 10 } }, 10, "int32")).toEqual(["int32.lt: must be < 10"]);
    expect(failing({ double: { gte: 0, lte: 1 } }, -0.5, "double")).toEqual(["double.gte: must be >= 0"]);
    expect(failing({ uint32: { const: 7 } }, 8, "uint32")).toEqual(["uint32.const: must equal 7"]);
    expect(failing({ int32: { in: [1, 2] } }, 3, "int32")).toEqual(["int32.in: must be one of [1, 2]"]);
    expect(failing({ int32: { notIn: [0] } }, 0, "int32")).toEqual(["int32.not_in: must not be one of [0]"]);
  });

  it("treats an upper bound below the lower bound as an exclusive range (PGV semantics)", () => {
    expect(failing({ int32: { lt: 0, gt: 10 } }, 5, "int32")).toEqual(["int32.lt_gt: must be < 0 or > 10"]);
    expect(failing({ int32: { lt: 0, gt: 10 } }, 11, "int32")).toEqual([]);
  });

  it("compares 64-bit values as Long, signed and unsigned", () => {
    expect(failing({ uint64: { lte: "18446744073709551614" } }, Long.fromString("18446744073709551615", true), "uint64")).toEqual([
      "uint64.lte: must be <= 18446744073709551614",
    ]);
    expect(failing({ int64: { gt: "-1" } }, Long.fromNumber(-2), "int64")).toEqual(["int64.gt: must be > -1"]);
    expect(failing({ int64: { gte: "9007199254740993" } }, Long.fromString("9007199254740993"), "int64")).toEqual([]);
    expect(failing({ int64: { in: ["5"] } }, "5", "int64")).toEqual([]);
  });
});

describe("enum, bool, bytes, Any, Duration and Timestamp rules", () => {
  it("checks enums against the schema and in/not_in", () => {
    expect(failing({ enum: { definedOnly: true } }, 3, "envoy.config.cluster.v3.Cluster.DiscoveryType", true)).toEqual([]);
    expect(failing({ enum: { definedOnly: true } }, 99, "envoy.config.cluster.v3.Cluster.DiscoveryType", true)).toEqual([
      "enum.defined_only: must be a defined value of envoy.config.cluster.v3.Cluster.DiscoveryType",
    ]);
    expect(failing({ enum: { notIn: [6] } }, 6, "x", true)).toEqual(["enum.not_in: must not be one of [6]"]);
  });

  it("checks bool const", () => {
    expect(failing({ bool: { const: true } }, false, "bool")).toEqual(["bool.const: must be true"]);
  });

  it("checks bytes lengths, affixes, in and IP sizes", () => {
    const b = (...xs: number[]) => new Uint8Array(xs);
    expect(failing({ bytes: { minLen: "2", maxLen: "3" } }, b(1), "bytes")).toEqual(["bytes.min_len: must be at least 2 bytes long"]);
    expect(failing({ bytes: { prefix: "AQ==" } }, b(2, 1), "bytes")).toEqual(["bytes.prefix: must start with the bytes AQ== (base64)"]);
    expect(failing({ bytes: { suffix: "AQ==", contains: "AQ==" } }, b(2, 1), "bytes")).toEqual([]);
    expect(failing({ bytes: { in: ["AQI="] } }, b(1, 2), "bytes")).toEqual([]);
    expect(failing({ bytes: { ipv4: true } }, b(1, 2, 3), "bytes")).toEqual(["bytes.ipv4: must be an IPv4 address in bytes (4 bytes)"]);
    expect(failing({ bytes: { const: "AQI=" } }, b(1, 2), "bytes")).toEqual([]);
  });

  it("checks Any type URLs", () => {
    const any = { typeUrl: "type.googleapis.com/a.B", value: new Uint8Array() };
    expect(failing({ any: { in: ["type.googleapis.com/a.C"] } }, any, "google.protobuf.Any")).toHaveLength(1);
    expect(failing({ any: { notIn: ["type.googleapis.com/a.B"] } }, any, "google.protobuf.Any")).toHaveLength(1);
  });

  it("compares durations exactly", () => {
    expect(parseDuration("0.001s")).toEqual([0, 1_000_000]);
    const d = (s: number, n = 0) => ({ seconds: Long.fromNumber(s), nanos: n });
    expect(failing({ duration: { gt: "0s" } }, d(0), "google.protobuf.Duration")).toEqual(["duration.gt: must be > 0s"]);
    expect(failing({ duration: { gte: "0.001s" } }, d(0, 999_999), "google.protobuf.Duration")).toHaveLength(1);
    expect(failing({ duration: { lt: "1s", const: "0.5s" } }, d(0, 500_000_000), "google.protobuf.Duration")).toEqual([]);
    expect(failing({ duration: { in: ["1s", "2s"] } }, d(3), "google.protobuf.Duration")).toEqual(["duration.in: must be one of [1s, 2s]"]);
  });

  it("checks timestamps against constants and now", () => {
    const t = (ms: number) => ({ seconds: Long.fromNumber(Math.floor(ms / 1000)), nanos: 0 });
    expect(
      failing({ timestamp: { gt: "2020-01-01T00:00:00Z" } }, t(Date.parse("2019-01-01T00:00:00Z")), "google.protobuf.Timestamp"),
    ).toHaveLength(1);
    expect(failing({ timestamp: { ltNow: true } }, t(Date.now() + 60_000), "google.protobuf.Timestamp")).toEqual([
      "timestamp.lt_now: must be in the past",
    ]);
    expect(failing({ timestamp: { gtNow: true } }, t(Date.now() + 60_000), "google.protobuf.Timestamp")).toEqual([]);
    expect(failing({ timestamp: { within: "10s" } }, t(Date.now() - 60_000), "google.protobuf.Timestamp")).toEqual([
      "timestamp.within: must be within 10s of now",
    ]);
  });
});

describe("compileRe2", () => {
  it("translates RE2-only syntax", () => {
    expect(compileRe2("(?i)^abc$").test("ABC")).toBe(true);
    expect(compileRe2("^(?P<id>[0-9]+)$").exec("42")?.groups?.id).toBe("42");
    expect(compileRe2("\\Aa\\z").test("a")).toBe(true);
    expect(compileRe2("^\\pL+$").test("héllo")).toBe(true);
    expect(compileRe2("^[[:digit:]]+$").test("123")).toBe(true);
    expect(() => compileRe2("(?U)a+")).toThrow(/ungreedy/);
  });
});
