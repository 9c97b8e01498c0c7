// Every message of the schema, populated with a sample value in every field
// (in the in-memory form ts-proto uses for that field), must survive a binary
// round trip (which checks the sample's form against the generated codec)
// and a JSON round trip (which checks our codec against it).
import Long from "long";
import { describe, expect, it } from "vitest";
import { fromJson, toJson } from "./json.js";
import { messageTypeOf, pack } from "./registry.js";
import { enumSchema, type FieldSchema, messageSchema, schema } from "./schema.js";

const MAX_DEPTH = 3;

function scalarSample(type: string): unknown {
  switch (type) {
    case "string":
      return "s-ü";
    case "bool":
      return true;
    case "bytes":
      return new Uint8Array([0, 250, 7]);
    case "float":
      return Math.fround(1.1);
    case "double":
      return -2.5;
    case "int64":
    case "sint64":
    case "sfixed64":
      return Long.fromString("-9007199254740993");
    case "uint64":
    case "fixed64":
      return Long.fromString("18446744073709551615", true);
    case "uint32":
    case "fixed32":
      return 4294967295;
    default:
      return -7;
  }
}

function messageSample(type: string, depth: number): unknown {
  switch (type) {
    case "google.protobuf.Duration":
      return { seconds: Long.fromNumber(-3), nanos: -5000 };
    case "google.protobuf.Timestamp":
      return { seconds: Long.fromNumber(1700000000), nanos: 123000000 };
    case "google.protobuf.DoubleValue":
      return 0.5;
    case "google.protobuf.FloatValue":
      return Math.fround(0.3);
    case "google.protobuf.Int64Value":
      return Long.fromNumber(-12);
    case "google.protobuf.UInt64Value":
      return Long.fromNumber(12, true);
    case "google.protobuf.Int32Value":
      return -12;
    case "google.protobuf.UInt32Value":
      return 0; // a wrapper holding its default is still present
    case "google.protobuf.BoolValue":
      return false;
    case "google.protobuf.StringValue":
      return "";
    case "google.protobuf.BytesValue":
      return new Uint8Array([1]);
    case "google.protobuf.Struct":
      return { a: 1, b: [true, null, "x"], c: { d: {} } };
    case "google.protobuf.Value":
      return { list: [1, "two"] };
    case "google.protobuf.ListValue":
      return [1, { a: "b" }, null];
    case "google.protobuf.Any":
      return pack(messageTypeOf("envoy.config.core.v3.Locality"), { region: "eu", zone: "a" });
    default:
      return populate(type, depth + 1);
  }
}

function valueSample(kind: string, type: string, depth: number): unknown {
  if (kind === "s") return scalarSample(type);
  if (kind === "e") {
    const values = Object.values(enumSchema(type)?.v ?? {});
    return values[values.length - 1] ?? 0;
  }
  return messageSample(type, depth);
}

function mapKeySample(type: string): unknown {
  if (type === "string") return "key.with.dots";
  if (type === "bool") return "true";
  if (type.endsWith("64")) return Long.fromNumber(42, type.startsWith("u") || type.startsWith("fixed"));
  return "42";
}

function fieldSample(f: FieldSchema, depth: number): unknown {
  if (f.kind === "map" && f.map) {
    const key = mapKeySample(f.map.key);
    const value = valueSample(f.map.kind, f.map.type, depth);
    if (value === undefined) return undefined;
    return Long.isLong(key) ? new Map([[key, value]]) : { [key as string]: value };
  }
  const value = valueSample(f.kind, f.type, depth);
  if (value === undefined) return undefined;
  return f.rep ? [value] : value;
}

/** A message of `type` with every field set (first member of each oneof), or undefined past MAX_DEPTH. */
function populate(type: string, depth = 0): Record<string, unknown> | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const s = messageSchema(type);
  if (!s) throw new Error(`no schema for ${type}`);
  const message = messageTypeOf(type).create() as Record<string, unknown>;
  const oneofsSet = new Set<number>();
  for (const f of s.f) {
    if (f.oi !== undefined) {
      if (oneofsSet.has(f.oi)) continue;
    }
    const value = fieldSample(f, depth);
    if (value === undefined) continue;
    if (f.oi !== undefined) oneofsSet.add(f.oi);
    message[f.k] = value;
  }
  return message;
}

/** Well-known types with their own JSON forms, tested in json.test.ts. */
const SPECIAL = /^google\.protobuf\.(Duration|Timestamp|Any|Struct|Value|ListValue|FieldMask|\w+Value)$/;

describe("JSON round trip of every message in the schema", () => {
  it("populates every field and reads back what it wrote, in JSON and in binary", () => {
    const failures: string[] = [];
    let checked = 0;
    for (const [name, s] of Object.entries(schema().messages)) {
      if (s.map || SPECIAL.test(name)) continue; // map entries are not messages on their own
      const type = messageTypeOf(name);
      const message = populate(name);
      try {
        const binary = type.decode(type.encode(message).finish());
        expect(binary).toEqual(message);
        const json = toJson(type, message);
        expect(fromJson(type, json)).toEqual(message);
        expect(fromJson(type, JSON.parse(JSON.stringify(toJson(type, message, { useProtoNames: true }))))).toEqual(message);
        checked++;
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message.split("\n")[0]}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(1000);
  });
});
