// Shared state of one toJson/fromJson call, and the error helpers both
// directions use. Paths are JSONPath-like: `$.staticResources.clusters[0].name`.
import { ErrorCode, XdskitError } from "../errors.js";

/** Resolved options of one JSON read. */
export interface ReadContext {
  readonly ignoreUnknownFields: boolean;
}

/** Resolved options of one JSON write. */
export interface WriteContext {
  readonly emitDefaults: boolean;
  readonly useProtoNames: boolean;
  readonly enumsAsIntegers: boolean;
}

/** `path` extended by an object key: `.name` when it is an identifier, `["a.b"]` otherwise. */
export function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** `path` extended by a map key, always bracketed: `["envoy.lb"]`. */
export function mapKeyPath(path: string, key: string): string {
  return `${path}[${JSON.stringify(key)}]`;
}

/** A short, readable rendering of a JSON input value for error messages. */
export function describeJson(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  // A bigint is a YAML integer read exactly: show it as written, without JavaScript's `n`.
  const text = typeof value === "bigint" ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** An `XDSKIT_INVALID_JSON` error: `<path>: expected <what>, got <value>`. */
export function expected(path: string, what: string, got: unknown): XdskitError {
  return invalidJson(path, `expected ${what}, got ${describeJson(got)}`);
}

/** An `XDSKIT_INVALID_JSON` error with the path in front of the message. */
export function invalidJson(path: string, message: string, typeUrl?: string): XdskitError {
  return new XdskitError(ErrorCode.INVALID_JSON, `${path}: ${message}`, typeUrl === undefined ? { path } : { path, typeUrl });
}

/** An `XDSKIT_JSON_ENCODE_FAILED` error with the path in front of the message. */
export function encodeFailed(path: string, message: string, typeUrl?: string): XdskitError {
  return new XdskitError(ErrorCode.JSON_ENCODE_FAILED, `${path}: ${message}`, typeUrl === undefined ? { path } : { path, typeUrl });
}

/** A plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * Sets a key that comes from data (a map key, a Struct key) as an own
 * property, so that a key named `__proto__` is data, not a prototype change.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
