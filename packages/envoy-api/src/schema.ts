import { createRequire } from "node:module";
import type * as GeneratedSchema from "./gen/schema.js";

// The generated schema (860 KB of JSON text) is loaded on the first call, not
// with the package: only the JSON and YAML codecs and validation read it, and
// loading it took about a fifth of the import time of @xdskit/server (docs/benchmarks.md,
// "Import time"). Through the package's own name, as the registry loads
// generated modules, so that it resolves to the built module from anywhere.
const requireGenerated = createRequire(import.meta.url);

/**
 * The runtime schema: what the generated codecs do not say about a message.
 * Built at generation time from the proto descriptors (protos/scripts/schema.mjs);
 * its format is described in docs/design/codegen.md.
 */
export interface Schema {
  readonly version: 1;
  /** Proto files that were generation roots (without `.proto`). */
  readonly roots: readonly string[];
  readonly messages: Readonly<Record<string, MessageSchema>>;
  readonly enums: Readonly<Record<string, EnumSchema>>;
}

/** One message: where ts-proto put it and its fields. */
export interface MessageSchema {
  /** Module path under `@xdskit/envoy-api/`, e.g. `envoy/config/cluster/v3/cluster`. */
  readonly m: string;
  /** The TypeScript export name, nested names joined by `_`. */
  readonly t: string;
  readonly f: readonly FieldSchema[];
  /** Oneof names, indexed by `FieldSchema.oi`. */
  readonly o?: readonly string[];
  /** Indexes of oneofs marked `(validate.required) = true`. */
  readonly req?: readonly number[];
  /** Set on synthetic map-entry messages. */
  readonly map?: 1;
  /** `(validate.disabled) = true`: skip validation of this message. */
  readonly dis?: 1;
  /** `(validate.ignored) = true`: no validation rules are generated for this message. */
  readonly ign?: 1;
}

/** Kind of a field's values: scalar, enum, message, or map. */
export type FieldKind = "s" | "e" | "m" | "map";

/** One field. */
export interface FieldSchema {
  /** Proto name, e.g. `connect_timeout`. */
  readonly n: string;
  /** JSON name, e.g. `connectTimeout`. */
  readonly j: string;
  /** ts-proto property name (usually equal to the JSON name). */
  readonly k: string;
  /** Field number. */
  readonly no: number;
  readonly kind: FieldKind;
  /** Scalar name (`string`, `uint32`, ...) or the full name of the message or enum. Empty for maps. */
  readonly type: string;
  /** Repeated. */
  readonly rep?: 1;
  /** For maps: key scalar and value kind/type. */
  readonly map?: { readonly key: string; readonly kind: "s" | "e" | "m"; readonly type: string };
  /** Index into `MessageSchema.o` when the field belongs to a (non-synthetic) oneof. */
  readonly oi?: number;
  /** proto3 `optional`. */
  readonly opt?: 1;
  /** Marked deprecated in the proto. */
  readonly dep?: 1;
  /** protoc-gen-validate `FieldRules` as proto3 JSON, e.g. `{"string": {"minLen": "1"}}`. */
  readonly rules?: Record<string, unknown>;
}

/** One enum: value names to numbers. */
export interface EnumSchema {
  readonly m: string;
  readonly t: string;
  readonly v: Readonly<Record<string, number>>;
}

let cached: Schema | undefined;

/**
 * The runtime schema of every generated message and enum, parsed on first
 * use (about 1 MB of JSON, ~10 ms). Use it for tooling that walks messages
 * generically: field names, kinds, oneofs, validation rules.
 *
 * @example
 * Object.keys(schema().messages).length; // 1220
 */
export function schema(): Schema {
  cached ??= JSON.parse((requireGenerated("@xdskit/envoy-api/schema") as typeof GeneratedSchema).schemaJson) as Schema;
  return cached;
}

/**
 * The schema of a message by full name, or undefined.
 *
 * @example
 * messageSchema("envoy.config.cluster.v3.Cluster")?.f.find((f) => f.n === "connect_timeout")?.j; // "connectTimeout"
 */
export function messageSchema(fullName: string): MessageSchema | undefined {
  return schema().messages[fullName];
}

/**
 * The schema of an enum by full name, or undefined.
 *
 * @example
 * enumSchema("envoy.config.cluster.v3.Cluster.LbPolicy")?.v.RING_HASH; // 2
 */
export function enumSchema(fullName: string): EnumSchema | undefined {
  return schema().enums[fullName];
}
