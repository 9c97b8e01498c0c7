// The well-known types with a special JSON form, in both of the shapes the
// generated code uses:
// - the message form: what `Duration.decode` or `UInt32Value.decode` returns,
//   used at the top level and inside an Any;
// - the field form: what a field of that type holds. ts-proto unwraps
//   wrappers to their value (`UInt32Value` -> `number | undefined`), Struct to
//   a plain object, Value to any JSON value, ListValue to an array and
//   FieldMask to `string[]`. Duration, Timestamp and Any stay messages.
// Any is handled by json-codec.ts, since its body is any message.
import Long from "long";
import { encodeFailed, expected, invalidJson, isJsonObject, setOwn } from "./json-context.js";
import { scalarFromJson, scalarToJson } from "./json-scalars.js";

/** JSON conversion of one well-known type. */
export interface WellKnownType {
  messageToJson(message: Record<string, unknown>, path: string): unknown;
  messageFromJson(json: unknown, path: string): Record<string, unknown>;
  /** Present when fields of this type hold an unwrapped value rather than the message. */
  readonly field?: {
    toJson(value: unknown, path: string): unknown;
    fromJson(json: unknown, path: string): unknown;
  };
  /** Does JSON `null` mean a value (Value's null) rather than "unset"? */
  readonly nullIsValue?: boolean;
}

const MAX_SECONDS = 315576000000n; // 10,000 years, the range of Duration
const TIMESTAMP_MIN = -62135596800n; // 0001-01-01T00:00:00Z
const TIMESTAMP_MAX = 253402300799n; // 9999-12-31T23:59:59Z

function toBigInt(value: unknown): bigint {
  return BigInt(Long.isLong(value) ? (value as Long).toString() : String(value ?? 0));
}

/** Nanoseconds as the 0, 3, 6 or 9 fractional digits proto3 JSON writes. */
function fraction(nanos: number): string {
  if (nanos === 0) return "";
  const nine = String(nanos).padStart(9, "0");
  if (nine.endsWith("000000")) return `.${nine.slice(0, 3)}`;
  if (nine.endsWith("000")) return `.${nine.slice(0, 6)}`;
  return `.${nine}`;
}

const duration: WellKnownType = {
  messageToJson(message, path) {
    const seconds = toBigInt(message.seconds);
    const nanos = Number(message.nanos ?? 0);
    if (seconds > MAX_SECONDS || seconds < -MAX_SECONDS || Math.abs(nanos) > 999999999) {
      throw encodeFailed(path, `duration ${seconds}s ${nanos}ns is out of range`);
    }
    if ((seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
      throw encodeFailed(path, `duration seconds (${seconds}) and nanos (${nanos}) have different signs`);
    }
    const negative = seconds < 0n || nanos < 0;
    const abs = seconds < 0n ? -seconds : seconds;
    return `${negative ? "-" : ""}${abs}${fraction(Math.abs(nanos))}s`;
  },
  messageFromJson(json, path) {
    const match = typeof json === "string" ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(json) : null;
    if (!match && (typeof json === "number" || typeof json === "bigint")) {
      // YAML and JSON numbers have no unit; Envoy's config format wants one.
      throw expected(path, `a duration string like "1.5s" (a number has no unit: write "${json}s" for ${json} seconds)`, json);
    }
    if (!match) throw expected(path, 'a duration string like "1.5s"', json);
    const seconds = BigInt(match[2] as string);
    if (seconds > MAX_SECONDS) throw invalidJson(path, `duration ${json} is out of range (at most ${MAX_SECONDS}s)`);
    const nanos = Number((match[3] ?? "").padEnd(9, "0"));
    const sign = match[1] ? -1 : 1;
    return { seconds: Long.fromString(String(seconds * BigInt(sign))), nanos: nanos === 0 ? 0 : sign * nanos };
  },
};

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|([+-])(\d{2}):(\d{2}))$/;

const timestamp: WellKnownType = {
  messageToJson(message, path) {
    const seconds = toBigInt(message.seconds);
    const nanos = Number(message.nanos ?? 0);
    if (seconds < TIMESTAMP_MIN || seconds > TIMESTAMP_MAX || nanos < 0 || nanos > 999999999) {
      throw encodeFailed(path, `timestamp ${seconds}s ${nanos}ns is outside 0001-01-01 to 9999-12-31`);
    }
    const iso = new Date(Number(seconds) * 1000).toISOString(); // "2026-11-22T01:38:17.000Z"
    return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
  },
  messageFromJson(json, path) {
    const m = typeof json === "string" ? TIMESTAMP.exec(json) : null;
    if (!m) throw expected(path, 'an RFC 3339 timestamp like "2024-05-01T12:00:00Z"', json);
    const date = new Date(0);
    date.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    date.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]));
    if (
      date.getUTCMonth() !== Number(m[2]) - 1 ||
      date.getUTCDate() !== Number(m[3]) ||
      Number(m[4]) > 23 ||
      Number(m[5]) > 59 ||
      Number(m[6]) > 59
    ) {
      throw invalidJson(path, `${json} is not a valid date and time`);
    }
    let seconds = BigInt(Math.floor(date.getTime() / 1000));
    if (m[9]) {
      const offset = BigInt(Number(m[10]) * 3600 + Number(m[11]) * 60);
      seconds += m[9] === "+" ? -offset : offset;
    }
    if (seconds < TIMESTAMP_MIN || seconds > TIMESTAMP_MAX) throw invalidJson(path, `${json} is outside 0001-01-01 to 9999-12-31`);
    return { seconds: Long.fromString(seconds.toString()), nanos: Number((m[7] ?? "").padEnd(9, "0")) };
  },
};

/** A wrapper (`UInt32Value`, ...): JSON is the bare value; fields hold the bare value. */
function wrapper(scalar: string): WellKnownType {
  return {
    messageToJson: (message, path) => scalarToJson(scalar, message.value, path),
    messageFromJson: (json, path) => ({ value: scalarFromJson(scalar, json, path) }),
    field: {
      toJson: (value, path) => scalarToJson(scalar, value, path),
      fromJson: (json, path) => scalarFromJson(scalar, json, path),
    },
  };
}

/** Checks a plain JSON value (Struct/Value/ListValue content) and copies it. */
function plainToJson(value: unknown, path: string): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw encodeFailed(path, `google.protobuf.Value cannot hold ${value} in JSON`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => plainToJson(v, `${path}[${i}]`));
  if (isJsonObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) setOwn(out, k, plainToJson(v, `${path}[${JSON.stringify(k)}]`));
    return out;
  }
  throw encodeFailed(path, `google.protobuf.Value cannot hold a ${typeof value}`);
}

/** Reads any JSON value into the plain form the generated code keeps for Struct/Value/ListValue. */
function plainFromJson(json: unknown, path: string): unknown {
  if (typeof json === "bigint") return Number(json); // a Value holds a double
  if (json === null || typeof json === "string" || typeof json === "boolean") return json;
  if (typeof json === "number") {
    if (!Number.isFinite(json)) throw expected(path, "a finite number", json);
    return json;
  }
  if (Array.isArray(json)) return json.map((v, i) => plainFromJson(v, `${path}[${i}]`));
  if (isJsonObject(json)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(json)) setOwn(out, k, plainFromJson(v, `${path}[${JSON.stringify(k)}]`));
    return out;
  }
  throw expected(path, "a JSON value", json);
}

/** Value in its message form (`{ stringValue: "x" }`) as a plain value, like the generated `Value.unwrap`. */
function valueMessageToPlain(message: Record<string, unknown>): unknown {
  if (message.stringValue !== undefined) return message.stringValue;
  if (message.numberValue !== undefined) return message.numberValue;
  if (message.boolValue !== undefined) return message.boolValue;
  if (message.structValue !== undefined) return message.structValue;
  if (message.listValue !== undefined) return message.listValue;
  if (message.nullValue !== undefined) return null;
  return undefined;
}

function plainToValueMessage(value: unknown): Record<string, unknown> {
  const message: Record<string, unknown> = {
    nullValue: undefined,
    numberValue: undefined,
    stringValue: undefined,
    boolValue: undefined,
    structValue: undefined,
    listValue: undefined,
  };
  if (value === null) message.nullValue = 0;
  else if (typeof value === "number") message.numberValue = value;
  else if (typeof value === "string") message.stringValue = value;
  else if (typeof value === "boolean") message.boolValue = value;
  else if (Array.isArray(value)) message.listValue = value;
  else message.structValue = value;
  return message;
}

const struct: WellKnownType = {
  messageToJson: (message, path) => plainToJson(message.fields ?? {}, path),
  messageFromJson(json, path) {
    if (!isJsonObject(json)) throw expected(path, "an object (google.protobuf.Struct)", json);
    return { fields: plainFromJson(json, path) };
  },
  field: {
    toJson: plainToJson,
    fromJson(json, path) {
      if (!isJsonObject(json)) throw expected(path, "an object (google.protobuf.Struct)", json);
      return plainFromJson(json, path);
    },
  },
};

const value: WellKnownType = {
  messageToJson(message, path) {
    const plain = valueMessageToPlain(message);
    if (plain === undefined) throw encodeFailed(path, "google.protobuf.Value has no kind set");
    return plainToJson(plain, path);
  },
  messageFromJson: (json, path) => plainToValueMessage(plainFromJson(json, path)),
  field: { toJson: plainToJson, fromJson: plainFromJson },
  nullIsValue: true,
};

const listValue: WellKnownType = {
  messageToJson: (message, path) => plainToJson(message.values ?? [], path),
  messageFromJson(json, path) {
    if (!Array.isArray(json)) throw expected(path, "an array (google.protobuf.ListValue)", json);
    return { values: plainFromJson(json, path) };
  },
  field: {
    toJson: plainToJson,
    fromJson(json, path) {
      if (!Array.isArray(json)) throw expected(path, "an array (google.protobuf.ListValue)", json);
      return plainFromJson(json, path);
    },
  },
};

function camel(path: string): string {
  return path.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function snake(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function pathsToJson(paths: unknown, at: string): string {
  return (paths as string[])
    .map((p) => {
      const out = camel(p);
      if (snake(out) !== p) throw encodeFailed(at, `field mask path "${p}" cannot be written in lowerCamelCase and read back`);
      return out;
    })
    .join(",");
}

function pathsFromJson(json: unknown, at: string): string[] {
  if (typeof json !== "string") throw expected(at, 'a field mask string like "name,loadAssignment.clusterName"', json);
  return json === "" ? [] : json.split(",").map(snake);
}

const fieldMask: WellKnownType = {
  messageToJson: (message, path) => pathsToJson(message.paths ?? [], path),
  messageFromJson: (json, path) => ({ paths: pathsFromJson(json, path) }),
  field: { toJson: pathsToJson, fromJson: pathsFromJson },
};

/** Well-known types with a special JSON form, by full name. */
export const WELL_KNOWN: ReadonlyMap<string, WellKnownType> = new Map([
  ["google.protobuf.Duration", duration],
  ["google.protobuf.Timestamp", timestamp],
  ["google.protobuf.DoubleValue", wrapper("double")],
  ["google.protobuf.FloatValue", wrapper("float")],
  ["google.protobuf.Int64Value", wrapper("int64")],
  ["google.protobuf.UInt64Value", wrapper("uint64")],
  ["google.protobuf.Int32Value", wrapper("int32")],
  ["google.protobuf.UInt32Value", wrapper("uint32")],
  ["google.protobuf.BoolValue", wrapper("bool")],
  ["google.protobuf.StringValue", wrapper("string")],
  ["google.protobuf.BytesValue", wrapper("bytes")],
  ["google.protobuf.Struct", struct],
  ["google.protobuf.Value", value],
  ["google.protobuf.ListValue", listValue],
  ["google.protobuf.FieldMask", fieldMask],
]);
