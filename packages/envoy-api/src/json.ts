import { ErrorCode, XdskitError } from "./errors.js";
import { messageFromJson, messageToJson } from "./internal/json-codec.js";
import { resolveOptions } from "./internal/options.js";
import { fullNameOf, type MessageType } from "./registry.js";

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Options of {@link toJson}, {@link toJsonString} and {@link toYaml}. */
export interface ToJsonOptions {
  /**
   * Also write fields that hold their default (`0`, `""`, `false`, empty
   * lists and maps, the first enum value). Message fields that are unset
   * stay absent either way. Default `false`: defaults are omitted, as the
   * proto3 JSON mapping says.
   */
  emitDefaults?: boolean;
  /**
   * Write proto field names (`connect_timeout`) instead of JSON names
   * (`connectTimeout`). Default `false` for JSON, `true` for {@link toYaml}
   * (Envoy's own config style).
   */
  useProtoNames?: boolean;
  /** Write enums as numbers instead of names. Default `false`. */
  enumsAsIntegers?: boolean;
}

/** Options of {@link fromJson}, {@link fromJsonString} and {@link fromYaml}. */
export interface FromJsonOptions {
  /**
   * Skip fields the message does not have (and enum names it does not
   * know) instead of failing. Default `false`: an unknown field is an
   * `XDSKIT_INVALID_JSON` error naming its path.
   */
  ignoreUnknownFields?: boolean;
}

/** Options of {@link toJsonString}. */
export interface ToJsonStringOptions extends ToJsonOptions {
  /** Spaces of indentation; `0` writes one line. Default `0`. */
  indent?: number;
}

/** The defaults of every JSON and YAML option, in one place. */
export const JSON_DEFAULTS = Object.freeze({
  emitDefaults: false,
  useProtoNames: false,
  enumsAsIntegers: false,
  ignoreUnknownFields: false,
  indent: 0,
});

const WRITE_DEFAULTS = Object.freeze({
  emitDefaults: JSON_DEFAULTS.emitDefaults,
  useProtoNames: JSON_DEFAULTS.useProtoNames,
  enumsAsIntegers: JSON_DEFAULTS.enumsAsIntegers,
});
const STRING_DEFAULTS = Object.freeze({ ...WRITE_DEFAULTS, indent: JSON_DEFAULTS.indent });
const READ_DEFAULTS = Object.freeze({ ignoreUnknownFields: JSON_DEFAULTS.ignoreUnknownFields });

/**
 * Writes a message as canonical proto3 JSON (a JSON value, not a string).
 *
 * Use it to show, log or store resources in the format every protobuf
 * implementation and Envoy's admin interface read. Fields use their
 * lowerCamelCase JSON names; fields holding their default are left out;
 * 64-bit integers are strings; enums are names; Duration is `"1.5s"`;
 * Timestamp is RFC 3339; wrappers, Struct, Value and ListValue are plain
 * JSON; bytes are base64; an Any is `{"@type": url, ...fields}` (or
 * `{"@type": url, "value": ...}` when it holds a well-known type).
 *
 * @param type A generated codec, e.g. `Cluster`.
 * @param message The message in the generated code's form, e.g. from `Cluster.fromPartial(...)` or `Cluster.decode(bytes)`.
 * @param options See {@link ToJsonOptions}; defaults in {@link JSON_DEFAULTS}.
 * @throws XdskitError `XDSKIT_JSON_ENCODE_FAILED` (with `path`) when a value
 *   cannot be written, e.g. an Any of a type URL that is not registered;
 *   `XDSKIT_UNKNOWN_TYPE` when `type` is not a generated codec.
 *
 * @example
 * const cluster = Cluster.fromPartial({ name: "web", connectTimeout: { seconds: 1, nanos: 500_000_000 } });
 * toJson(Cluster, cluster); // { name: "web", connectTimeout: "1.500s" }
 */
export function toJson<T>(type: MessageType<T>, message: T, options?: ToJsonOptions): JsonValue {
  const ctx = resolveOptions("toJson", WRITE_DEFAULTS, options);
  return messageToJson(fullNameOf(type), message as Record<string, unknown>, ctx, "$") as JsonValue;
}

/**
 * Reads proto3 JSON (an already parsed value) into a message of the
 * generated code's form.
 *
 * Accepts both JSON names (`connectTimeout`) and proto names
 * (`connect_timeout`); enums by name or number; 64-bit integers as strings or
 * numbers; bytes as standard or url-safe base64; `null` for "unset". Unset
 * fields take their proto3 defaults, exactly as `Type.create()` gives them.
 *
 * @param type A generated codec, e.g. `Cluster`.
 * @param json The JSON value, e.g. from `JSON.parse`.
 * @param options See {@link FromJsonOptions}; defaults in {@link JSON_DEFAULTS}.
 * @throws XdskitError `XDSKIT_INVALID_JSON` with `path` (e.g.
 *   `$.loadAssignment.endpoints[0].lbEndpoints[0].loadBalancingWeight`) for an
 *   unknown field, a value of the wrong type, a bad enum name, a malformed
 *   duration, timestamp or base64, an out-of-range number, or an Any whose
 *   type URL is unknown (also in `typeUrl`).
 *
 * @example
 * const cluster = fromJson(Cluster, { name: "web", connect_timeout: "0.25s", lbPolicy: "RING_HASH" });
 * cluster.connectTimeout; // { seconds: Long(0), nanos: 250000000 }
 * cluster.lbPolicy;       // Cluster_LbPolicy.RING_HASH (2)
 */
export function fromJson<T>(type: MessageType<T>, json: unknown, options?: FromJsonOptions): T {
  const ctx = resolveOptions("fromJson", READ_DEFAULTS, options);
  return messageFromJson(fullNameOf(type), json, ctx, "$") as T;
}

/**
 * {@link toJson}, then `JSON.stringify`.
 *
 * @example
 * toJsonString(Cluster, Cluster.fromPartial({ name: "web" })); // '{"name":"web"}'
 * toJsonString(Cluster, cluster, { indent: 2 });                 // pretty-printed
 */
export function toJsonString<T>(type: MessageType<T>, message: T, options?: ToJsonStringOptions): string {
  const { indent, ...write } = resolveOptions("toJsonString", STRING_DEFAULTS, options);
  return JSON.stringify(messageToJson(fullNameOf(type), message as Record<string, unknown>, write, "$"), null, indent || undefined);
}

/**
 * `JSON.parse`, then {@link fromJson}. Malformed JSON text is an
 * `XDSKIT_INVALID_JSON` error too (path `$`).
 *
 * @example
 * const route = fromJsonString(RouteConfiguration, '{"name":"web","virtualHosts":[{"name":"all","domains":["*"]}]}');
 * route.virtualHosts[0].domains; // ["*"]
 */
export function fromJsonString<T>(type: MessageType<T>, text: string, options?: FromJsonOptions): T {
  const ctx = resolveOptions("fromJsonString", READ_DEFAULTS, options);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new XdskitError(ErrorCode.INVALID_JSON, `$: not valid JSON text: ${(cause as Error).message}`, { path: "$", cause });
  }
  return messageFromJson(fullNameOf(type), json, ctx, "$") as T;
}
