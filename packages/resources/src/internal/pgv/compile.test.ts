import type { FieldSchema, MessageSchema } from "@xdskit/envoy-api";
import { pack } from "@xdskit/envoy-api";
import { HTTPFault } from "@xdskit/envoy-api/envoy/extensions/filters/http/fault/v3/fault";
import { describe, expect, it } from "vitest";
import { compileSchema, type Sink, validatorFor } from "./compile.js";

function run(validator: (m: unknown, p: string, s: Sink) => void, message: unknown, unknownAny: "ignore" | "report" = "ignore"): string[] {
  const out: string[] = [];
  validator(message, "", { report: (path, rule, msg) => out.push(`${path} [${rule}] ${msg}`), unknownAny });
  return out;
}

const field = (f: Partial<FieldSchema> & { n: string }): FieldSchema =>
  ({ j: f.n, k: f.n, no: 1, kind: "s", type: "string", ...f }) as FieldSchema;
const schema = (fields: FieldSchema[], extra: Partial<MessageSchema> = {}): MessageSchema =>
  ({ m: "t", t: "T", f: fields, ...extra }) as MessageSchema;

describe("repeated rules", () => {
  it("checks min_items, unique and item rules (HistogramBucketSettings.buckets)", () => {
    const v = validatorFor("envoy.config.metrics.v3.HistogramBucketSettings");
    expect(run(v, { match: { exact: "x", ignoreCase: false }, buckets: [] })).toEqual([
      "buckets [repeated.min_items] must have at least 1 item",
    ]);
    expect(run(v, { match: { exact: "x", ignoreCase: false }, buckets: [1, 1, -2] })).toEqual([
      "buckets[1] [repeated.unique] must not repeat an earlier item",
      "buckets[2] [double.gt] must be > 0",
    ]);
  });

  it("checks max_items", () => {
    const v = compileSchema(schema([field({ n: "xs", rep: 1, rules: { repeated: { maxItems: "2" } } })]));
    expect(run(v, { xs: ["a", "b", "c"] })).toEqual(["xs [repeated.max_items] must have at most 2 items"]);
  });

  it("honours ignore_empty", () => {
    const v = compileSchema(schema([field({ n: "xs", rep: 1, rules: { repeated: { minItems: "1", ignoreEmpty: true } } })]));
    expect(run(v, { xs: [] })).toEqual([]);
  });
});

describe("map rules", () => {
  it("checks min_pairs and key/value rules (BucketId.bucket)", () => {
    const v = validatorFor("envoy.service.rate_limit_quota.v3.BucketId");
    expect(run(v, { bucket: {} })).toEqual(["bucket [map.min_pairs] must have at least 1 entries"]);
    expect(run(v, { bucket: { "": "x", k: "" } })).toEqual([
      "bucket[].key [string.min_len] must be at least 1 character long",
      "bucket[k] [string.min_len] must be at least 1 character long",
    ]);
  });

  it("checks max_pairs and no_sparse", () => {
    const map = { key: "string", kind: "m", type: "envoy.config.core.v3.Locality" } as const;
    const v = compileSchema(schema([field({ n: "m", kind: "map", type: "", map, rules: { map: { maxPairs: "1", noSparse: true } } })]));
    expect(run(v, { m: { a: {}, b: undefined } })).toEqual([
      "m [map.max_pairs] must have at most 1 entries",
      "m[b] [map.no_sparse] must have a value",
    ]);
  });
});

describe("message rules", () => {
  it("reports required messages and required oneofs", () => {
    const v = validatorFor("envoy.config.core.v3.Address");
    expect(run(v, {})).toEqual(["address [oneof.required] exactly one of socket_address, pipe, envoy_internal_address must be set"]);
    const cluster = validatorFor("envoy.config.route.v3.WeightedCluster");
    expect(run(cluster, { clusters: [] })).toEqual(["clusters [repeated.min_items] must have at least 1 item"]);
  });

  it("skips nested messages marked skip, and messages marked disabled or ignored", () => {
    const inner = "envoy.config.core.v3.Address";
    const skip = compileSchema(schema([field({ n: "a", kind: "m", type: inner, rules: { message: { skip: true } } })]));
    expect(run(skip, { a: {} })).toEqual([]);
    const walk = compileSchema(schema([field({ n: "a", kind: "m", type: inner })]));
    expect(run(walk, { a: {} })).toHaveLength(1);
    expect(run(compileSchema(schema([field({ n: "s", rules: { string: { minLen: "1" } } })], { dis: 1 })), { s: "" })).toEqual([]);
    expect(run(compileSchema(schema([field({ n: "s", rules: { string: { minLen: "1" } } })], { ign: 1 })), { s: "" })).toEqual([]);
  });

  it("validates only the set member of a oneof, and proto3 optional fields only when present", () => {
    const v = compileSchema(
      schema(
        [
          field({ n: "a", oi: 0, rules: { string: { minLen: "3" } } }),
          field({ n: "b", oi: 0, kind: "m", type: "envoy.config.core.v3.Address", rules: { message: { required: true } } }),
          field({ n: "c", opt: 1, rules: { string: { minLen: "3" } } }),
        ],
        { o: ["choice"] },
      ),
    );
    expect(run(v, {})).toEqual([]);
    expect(run(v, { a: "x", c: "y" })).toEqual([
      "a [string.min_len] must be at least 3 characters long",
      "c [string.min_len] must be at least 3 characters long",
    ]);
  });
});

describe("Any", () => {
  it("decodes registered types and validates their content", () => {
    const v = compileSchema(schema([field({ n: "cfg", kind: "m", type: "google.protobuf.Any" })]));
    const fault = pack(HTTPFault, { abort: { httpStatus: 99, percentage: { numerator: 1 } } });
    expect(run(v, { cfg: fault })).toEqual(["cfg.abort.http_status [uint32.gte] must be >= 200"]);
  });

  it("reports required Anys, undecodable bytes, and unknown types when asked", () => {
    const v = compileSchema(schema([field({ n: "cfg", kind: "m", type: "google.protobuf.Any", rules: { any: { required: true } } })]));
    expect(run(v, {})).toEqual(["cfg [any.required] is required (must be set)"]);
    const broken = { typeUrl: "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault", value: new Uint8Array([0x0a, 0xff]) };
    expect(run(v, { cfg: broken })[0]).toMatch(/^cfg \[any.decode\] cannot be decoded as envoy.extensions.filters.http.fault.v3.HTTPFault/);
    const unknown = { typeUrl: "type.googleapis.com/acme.Unknown", value: new Uint8Array() };
    expect(run(v, { cfg: unknown })).toEqual([]);
    expect(run(v, { cfg: unknown }, "report")).toEqual([
      "cfg [any.type_url] holds type.googleapis.com/acme.Unknown, which is not a registered message type, so it cannot be validated",
    ]);
  });
});
