// Canonical proto3 JSON for the generated messages, driven by the runtime
// schema (one compiled MessagePlan per type). Both directions work on the
// generated code's in-memory form; see well-known.ts for the special types.
// Mapping: https://protobuf.dev/programming-guides/json/

import { hasMessageType, messageTypeOf, typeNameOf } from "../registry.js";
import { enumSchema, messageSchema } from "../schema.js";
import {
  childPath,
  encodeFailed,
  expected,
  invalidJson,
  isJsonObject,
  mapKeyPath,
  type ReadContext,
  setOwn,
  type WriteContext,
} from "./json-context.js";
import { is64Bit, isScalarDefault, scalarFromJson, scalarToJson } from "./json-scalars.js";
import { type FieldPlan, type MessagePlan, planOf } from "./message-plan.js";
import { WELL_KNOWN } from "./well-known.js";

const ANY = "google.protobuf.Any";
const NULL_VALUE = "google.protobuf.NullValue";
type Message = Record<string, unknown>;

// ---- enums ----------------------------------------------------------------

const enumNames = new Map<string, Map<number, string>>();

function enumNameOf(type: string, value: number): string | undefined {
  let names = enumNames.get(type);
  if (!names) {
    names = new Map();
    for (const [name, n] of Object.entries(enumSchema(type)?.v ?? {})) if (!names.has(n)) names.set(n, name);
    enumNames.set(type, names);
  }
  return names.get(value);
}

/** Marks a value that `ignoreUnknownFields` drops (an unknown enum name). */
const SKIP = Symbol("skip");

function enumFromJson(type: string, json: unknown, ctx: ReadContext, path: string): number | typeof SKIP {
  if (type === NULL_VALUE && (json === null || json === "NULL_VALUE")) return 0;
  if (typeof json === "string") {
    const values = enumSchema(type)?.v ?? {};
    if (Object.hasOwn(values, json)) return values[json] as number;
    if (ctx.ignoreUnknownFields) return SKIP;
    const names = Object.keys(values);
    const list = names.length > 12 ? `${names.slice(0, 12).join(", ")}, ...` : names.join(", ");
    throw invalidJson(path, `unknown value ${JSON.stringify(json)} for enum ${type}; expected one of ${list}`);
  }
  const n = typeof json === "bigint" ? Number(json) : json;
  if (typeof n === "number" && Number.isInteger(n) && n >= -2147483648 && n <= 2147483647) return n;
  throw expected(path, `an enum value name of ${type} (or its number)`, json);
}

// ---- write ----------------------------------------------------------------

/** A message in the generated code's form as proto3 JSON. */
export function messageToJson(fullName: string, message: Message, ctx: WriteContext, path: string): unknown {
  if (fullName === ANY) return anyToJson(message, ctx, path);
  const wkt = WELL_KNOWN.get(fullName);
  if (wkt) return wkt.messageToJson(message, path);
  const plan = planOf(fullName);
  const out: Message = {};
  let oneofs: Map<string, string> | undefined;
  for (const f of plan.fields) {
    const v = message[f.key];
    if (v === undefined || (v === null && !nullIsValue(f))) continue;
    const name = ctx.useProtoNames ? f.proto : f.json;
    const at = path + (ctx.useProtoNames ? f.protoSegment : f.jsonSegment);
    if (f.oneof !== undefined) {
      oneofs ??= new Map();
      const other = oneofs.get(f.oneof);
      if (other !== undefined) {
        throw encodeFailed(at, `"${other}" and "${name}" are both set, but they belong to the same oneof ${f.oneof}; set only one`);
      }
      oneofs.set(f.oneof, name);
    }
    if (f.isMap) {
      const entries: [unknown, unknown][] = v instanceof Map ? [...v] : Object.entries(v as object);
      if (entries.length === 0 && !ctx.emitDefaults) continue;
      const obj: Message = {};
      for (const [key, item] of entries) {
        if (item === undefined) continue;
        const k = String(key);
        setOwn(obj, k, valueToJson(f, item, ctx, mapKeyPath(at, k)));
      }
      out[name] = obj;
    } else if (f.repeated) {
      const list = v as unknown[];
      if (list.length === 0 && !ctx.emitDefaults) continue;
      out[name] = list.map((item, i) => valueToJson(f, item, ctx, `${at}[${i}]`));
    } else {
      if (!f.hasPresence && !ctx.emitDefaults && (f.kind === "e" ? v === 0 : isScalarDefault(f.type, v))) continue;
      out[name] = valueToJson(f, v, ctx, at);
    }
  }
  return out;
}

function valueToJson(f: FieldPlan, v: unknown, ctx: WriteContext, path: string): unknown {
  switch (f.kind) {
    case "s":
      return scalarToJson(f.type, v, path);
    case "e":
      if (f.type === NULL_VALUE) return null;
      if (ctx.enumsAsIntegers) return v;
      return enumNameOf(f.type, v as number) ?? v;
    default: {
      const wkt = WELL_KNOWN.get(f.type);
      if (wkt?.field) return wkt.field.toJson(v, path);
      return messageToJson(f.type, v as Message, ctx, path);
    }
  }
}

function hasSchema(name: string): boolean {
  return hasMessageType(name) && (messageSchema(name) !== undefined || WELL_KNOWN.has(name));
}

function anyToJson(any: Message, ctx: WriteContext, path: string): unknown {
  const typeUrl = (any.typeUrl as string | undefined) ?? "";
  const bytes = (any.value as Uint8Array | undefined) ?? new Uint8Array(0);
  if (typeUrl === "" && bytes.length === 0) return {};
  const name = typeNameOf(typeUrl);
  if (!hasSchema(name)) {
    throw encodeFailed(
      path,
      `cannot write an Any holding unknown type "${typeUrl}": it is not part of the generated Envoy v3 API`,
      typeUrl,
    );
  }
  let inner: Message;
  try {
    inner = messageTypeOf(name).decode(bytes) as Message;
  } catch (cause) {
    throw encodeFailed(path, `the Any's ${bytes.length} bytes do not decode as ${name}: ${(cause as Error).message}`, typeUrl);
  }
  const body = messageToJson(name, inner, ctx, path);
  if (name === ANY || WELL_KNOWN.has(name)) return { "@type": typeUrl, value: body };
  return { "@type": typeUrl, ...(body as Message) };
}

// ---- read -----------------------------------------------------------------

/** proto3 JSON as a message in the generated code's form. */
export function messageFromJson(fullName: string, json: unknown, ctx: ReadContext, path: string): Message {
  if (fullName === ANY) return anyFromJson(json, ctx, path);
  const wkt = WELL_KNOWN.get(fullName);
  if (wkt) return wkt.messageFromJson(json, path);
  if (!isJsonObject(json)) throw expected(path, `an object (${fullName})`, json);
  return readFields(planOf(fullName), json, ctx, path, undefined);
}

function readFields(plan: MessagePlan, json: Message, ctx: ReadContext, path: string, skipKey: string | undefined): Message {
  const message = plan.codec.create();
  let seen: Map<FieldPlan | string, string> | undefined;
  for (const key of Object.keys(json)) {
    if (key === skipKey) continue;
    const v = json[key];
    const f = plan.byName.get(key);
    if (!f) {
      if (ctx.ignoreUnknownFields) continue;
      throw unknownField(plan, key, childPath(path, key));
    }
    const at = path + (key === f.json ? f.jsonSegment : f.protoSegment);
    seen ??= new Map();
    const twice = seen.get(f);
    if (twice !== undefined) throw invalidJson(at, `field ${f.proto} is given twice (as "${twice}" and "${key}")`);
    seen.set(f, key);
    if (v === null && !nullIsValue(f)) continue;
    if (f.oneof !== undefined) {
      const other = seen.get(f.oneof);
      if (other !== undefined) {
        throw invalidJson(at, `"${other}" and "${key}" are both set, but they belong to the same oneof ${f.oneof}; give only one`);
      }
      seen.set(f.oneof, key);
    }
    const value = readField(f, v, ctx, at);
    if (value !== SKIP) message[f.key] = value;
  }
  return message;
}

/** Is JSON null a value for this field (google.protobuf.Value's null, or the NullValue enum), not "unset"? */
function nullIsValue(f: FieldPlan): boolean {
  if (f.repeated || f.isMap) return false;
  return f.kind === "e" ? f.type === NULL_VALUE : f.kind === "m" && WELL_KNOWN.get(f.type)?.nullIsValue === true;
}

function readField(f: FieldPlan, json: unknown, ctx: ReadContext, path: string): unknown {
  if (f.isMap) {
    if (!isJsonObject(json)) throw expected(path, "an object (a map)", json);
    const longKeys = is64Bit(f.mapKey);
    const out: Map<unknown, unknown> | Message = longKeys ? new Map() : {};
    for (const [k, item] of Object.entries(json)) {
      const at = mapKeyPath(path, k);
      if (item === null && !WELL_KNOWN.get(f.type)?.nullIsValue) throw expected(at, "a map value", null);
      const value = valueFromJson(f, item, ctx, at);
      if (value === SKIP) continue;
      const key = mapKeyFromJson(f.mapKey, k, at);
      if (out instanceof Map) out.set(key, value);
      else setOwn(out, String(key), value);
    }
    return out;
  }
  if (f.repeated) {
    if (!Array.isArray(json)) throw expected(path, "an array", json);
    const out: unknown[] = [];
    for (let i = 0; i < json.length; i++) {
      const at = `${path}[${i}]`;
      if (json[i] === null && !WELL_KNOWN.get(f.type)?.nullIsValue) throw expected(at, "a list element", null);
      const value = valueFromJson(f, json[i], ctx, at);
      if (value !== SKIP) out.push(value);
    }
    return out;
  }
  return valueFromJson(f, json, ctx, path);
}

function mapKeyFromJson(type: string, key: string, path: string): unknown {
  if (type === "string") return key;
  if (type === "bool") {
    if (key === "true") return true;
    if (key === "false") return false;
    throw expected(path, 'a map key "true" or "false"', key);
  }
  return scalarFromJson(type, key, path);
}

function valueFromJson(f: FieldPlan, json: unknown, ctx: ReadContext, path: string): unknown {
  switch (f.kind) {
    case "s":
      return scalarFromJson(f.type, json, path);
    case "e":
      return enumFromJson(f.type, json, ctx, path);
    default: {
      const wkt = WELL_KNOWN.get(f.type);
      if (wkt?.field) return wkt.field.fromJson(json, path);
      return messageFromJson(f.type, json, ctx, path);
    }
  }
}

function anyFromJson(json: unknown, ctx: ReadContext, path: string): Message {
  if (!isJsonObject(json)) throw expected(path, 'an object with "@type" (google.protobuf.Any)', json);
  const typeUrl = json["@type"];
  if (typeUrl === undefined) {
    if (Object.keys(json).length === 0) return { typeUrl: "", value: new Uint8Array(0) };
    throw invalidJson(path, 'an Any needs "@type", e.g. "type.googleapis.com/envoy.config.cluster.v3.Cluster"');
  }
  if (typeof typeUrl !== "string" || !typeUrl.includes("/")) {
    throw expected(`${path}["@type"]`, 'a type URL like "type.googleapis.com/envoy.config.cluster.v3.Cluster"', typeUrl);
  }
  const name = typeNameOf(typeUrl);
  if (!hasSchema(name)) {
    throw invalidJson(
      path,
      `unknown type URL "${typeUrl}" in "@type": it is not part of the generated Envoy v3 API (check the spelling and the package version)`,
      typeUrl,
    );
  }
  let inner: Message;
  if (name === ANY || WELL_KNOWN.has(name)) {
    for (const key of Object.keys(json)) {
      if (key !== "@type" && key !== "value" && !ctx.ignoreUnknownFields) {
        throw invalidJson(childPath(path, key), `unknown field "${key}": an Any holding ${name} has only "@type" and "value"`);
      }
    }
    if (!("value" in json)) throw invalidJson(path, `an Any holding ${name} needs "value"`, typeUrl);
    inner = messageFromJson(name, json.value, ctx, childPath(path, "value"));
  } else {
    inner = readFields(planOf(name), json, ctx, path, "@type");
  }
  try {
    return { typeUrl, value: messageTypeOf(name).encode(inner).finish() };
  } catch (cause) {
    throw invalidJson(path, `cannot encode the Any's ${name}: ${(cause as Error).message}`, typeUrl);
  }
}

function unknownField(plan: MessagePlan, key: string, path: string) {
  const norm = (s: string) => s.toLowerCase().replaceAll("_", "");
  let hint = plan.fields.find((f) => norm(f.proto) === norm(key));
  if (!hint) {
    let best = 3;
    for (const f of plan.fields) {
      const d = editDistance(key, key.includes("_") ? f.proto : f.json);
      if (d < best) [best, hint] = [d, f];
    }
  }
  const suggestion = hint ? `; did you mean "${key.includes("_") ? hint.proto : hint.json}"?` : "";
  return invalidJson(path, `unknown field "${key}" in ${plan.fullName}${suggestion}`);
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] as number;
}
