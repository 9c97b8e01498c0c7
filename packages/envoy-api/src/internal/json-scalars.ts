// Scalars in proto3 JSON: 64-bit integers as decimal strings, bytes as
// base64, non-finite floats as "NaN" / "Infinity" / "-Infinity".
// https://protobuf.dev/programming-guides/json/
import Long from "long";
import { encodeFailed, expected, invalidJson } from "./json-context.js";

const INT32 = { min: -2147483648, max: 2147483647 };
const UINT32 = { min: 0, max: 4294967295 };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const FLOAT_MAX = 3.4028234663852886e38;

/** Is this scalar type a 64-bit integer (held as `Long` by the generated code)? */
export function is64Bit(type: string): boolean {
  return type.endsWith("64") && type !== "double";
}

function isUnsigned(type: string): boolean {
  return type === "uint64" || type === "fixed64" || type === "uint32" || type === "fixed32";
}

/** The proto3 default of a scalar, in the generated code's form. */
export function scalarDefault(type: string): unknown {
  switch (type) {
    case "string":
      return "";
    case "bool":
      return false;
    case "bytes":
      return new Uint8Array(0);
    default:
      if (is64Bit(type)) return isUnsigned(type) ? Long.UZERO : Long.ZERO;
      return 0;
  }
}

/** True when a scalar holds its proto3 default (and so is omitted from JSON). */
export function isScalarDefault(type: string, value: unknown): boolean {
  switch (type) {
    case "string":
      return value === "";
    case "bool":
      return value === false;
    case "bytes":
      return (value as Uint8Array).length === 0;
    default:
      if (is64Bit(type)) {
        if (Long.isLong(value)) return (value as Long).isZero();
        return value === 0 || value === "0" || value === 0n;
      }
      return value === 0;
  }
}

// ---- write --------------------------------------------------------------

/** The shortest decimal that reads back as the same 32-bit float. */
function shortestFloat(value: number): number {
  for (let digits = 1; digits < 10; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/** A scalar of the generated code as its JSON value. */
export function scalarToJson(type: string, value: unknown, path: string): unknown {
  switch (type) {
    case "string":
    case "bool":
      return value;
    case "bytes":
      return bytesToBase64(value as Uint8Array);
    case "double":
    case "float": {
      const n = value as number;
      if (Number.isNaN(n)) return "NaN";
      if (n === Number.POSITIVE_INFINITY) return "Infinity";
      if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
      return type === "float" && Math.fround(n) === n ? shortestFloat(n) : n;
    }
    default:
      if (is64Bit(type)) {
        if (Long.isLong(value) || typeof value === "number" || typeof value === "string" || typeof value === "bigint") {
          return String(value);
        }
        throw encodeFailed(path, `a ${type} must be a Long, number or decimal string, got ${typeof value}`);
      }
      return value;
  }
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 with padding, as proto3 JSON writes bytes. */
export function bytesToBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += BASE64[n >> 18] + BASE64[(n >> 12) & 63] + BASE64[(n >> 6) & 63] + BASE64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += `${BASE64[n >> 18]}${BASE64[(n >> 12) & 63]}==`;
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += `${BASE64[n >> 18]}${BASE64[(n >> 12) & 63]}${BASE64[(n >> 6) & 63]}=`;
  }
  return out;
}

// ---- read ---------------------------------------------------------------

const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[BASE64.charCodeAt(i)] = i;
DECODE["-".charCodeAt(0)] = 62; // url-safe alphabet
DECODE["_".charCodeAt(0)] = 63;

/** Decodes standard or url-safe base64, padded or not. Returns undefined when malformed. */
export function base64ToBytes(text: string): Uint8Array | undefined {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--;
  if (text.length - end > 2 || end % 4 === 1) return undefined;
  if (text.length !== end && text.length % 4 !== 0) return undefined;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? (DECODE[c] as number) : -1;
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

function parseInteger(type: string, json: unknown, path: string): bigint {
  if (typeof json === "bigint") return json; // from YAML, which reads integers exactly
  if (typeof json === "number") {
    if (!Number.isInteger(json)) throw expected(path, `an integer (${type})`, json);
    return BigInt(json);
  }
  if (typeof json === "string") {
    const text = json.trim();
    if (/^-?\d+$/.test(text)) return BigInt(text);
    // Protobuf also accepts exponent notation for integers, e.g. "1e3".
    const n = Number(text);
    if (text !== "" && Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER) return BigInt(n);
    throw expected(path, `an integer (${type}) as a number or a decimal string`, json);
  }
  throw expected(path, `an integer (${type})`, json);
}

/** A JSON value as a scalar of the generated code. */
export function scalarFromJson(type: string, json: unknown, path: string): unknown {
  switch (type) {
    case "string":
      if (typeof json !== "string") throw expected(path, "a string", json);
      return json;
    case "bool":
      if (typeof json !== "boolean") throw expected(path, "true or false", json);
      return json;
    case "bytes": {
      if (typeof json !== "string") throw expected(path, "base64 bytes as a string", json);
      const bytes = base64ToBytes(json);
      if (!bytes) throw expected(path, "base64 bytes (standard or url-safe alphabet)", json);
      return bytes;
    }
    case "double":
    case "float": {
      let n: number;
      if (typeof json === "number") n = json;
      else if (typeof json === "bigint") n = Number(json);
      else if (json === "NaN") n = Number.NaN;
      else if (json === "Infinity") n = Number.POSITIVE_INFINITY;
      else if (json === "-Infinity") n = Number.NEGATIVE_INFINITY;
      else if (typeof json === "string" && json.trim() !== "" && Number.isFinite(Number(json))) n = Number(json);
      else throw expected(path, `a number (${type}), "NaN", "Infinity" or "-Infinity"`, json);
      if (type === "float") {
        if (Number.isFinite(n) && Math.abs(n) > FLOAT_MAX) throw invalidJson(path, `${n} is out of range for a float`);
        return Math.fround(n);
      }
      return n;
    }
    default: {
      const value = parseInteger(type, json, path);
      if (is64Bit(type)) {
        const unsigned = isUnsigned(type);
        const [min, max] = unsigned ? [0n, UINT64_MAX] : [INT64_MIN, INT64_MAX];
        if (value < min || value > max) throw invalidJson(path, `${value} is out of range for ${type}`);
        return Long.fromString(value.toString(), unsigned);
      }
      const range = isUnsigned(type) ? UINT32 : INT32;
      if (value < BigInt(range.min) || value > BigInt(range.max)) {
        throw invalidJson(path, `${value} is out of range for ${type} (${range.min} to ${range.max})`);
      }
      return Number(value);
    }
  }
}
