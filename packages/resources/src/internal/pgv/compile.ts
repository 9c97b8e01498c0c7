// Compiles the protoc-gen-validate rules of the runtime schema into one
// validator per message type, made on first use and cached. Validators walk a
// generated message (ts-proto shape) and report every violation with its
// field path (proto field names, `[i]` for lists, `[key]` for maps).
import type { FieldSchema, MessageSchema } from "@xdskit/envoy-api/core";
import { schema as fullSchema, hasMessageType, messageSchema, messageTypeOf, typeNameOf } from "@xdskit/envoy-api/core";
import { type Check, ignoresEmpty, type Problem, valueChecks } from "./value-rules.js";

/** Receives violations: field path, rule id, message. */
export interface Sink {
  report(path: string, rule: string, message: string): void;
  /** How to treat an Any whose type is not registered. */
  readonly unknownAny: "ignore" | "report";
}

/** Validates one message value at `path`. */
export type MessageValidator = (message: any, path: string, sink: Sink) => void;

/** google.protobuf types that ts-proto turns into plain values (nothing to walk). */
const PLAIN_TYPES = new Set([
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
  "google.protobuf.FieldMask",
  "google.protobuf.Empty",
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.Duration",
  "google.protobuf.Timestamp",
]);
const WRAPPERS = new Set([...PLAIN_TYPES].filter((t) => t.endsWith("Value") && !/Struct|ListValue|\.Value$/.test(t)));
const ANY = "google.protobuf.Any";

const cache = new Map<string, MessageValidator>();
const NOOP: MessageValidator = () => {};

/** The validator of a message type by full name (a no-op for unknown or plain types). */
export function validatorFor(fullName: string): MessageValidator {
  let v = cache.get(fullName);
  if (v === undefined) {
    // Placeholder first: recursive message types refer to themselves.
    let compiled: MessageValidator | undefined;
    cache.set(fullName, (m, p, s) => (compiled ?? NOOP)(m, p, s));
    compiled = compileMessage(fullName);
    cache.set(fullName, compiled);
    v = compiled;
  }
  return v;
}

/** Validates an Any by decoding it with the registry and validating what it holds. */
function validateAny(any: any, path: string, sink: Sink): void {
  const typeUrl: string | undefined = any?.typeUrl;
  if (!typeUrl) return;
  if (!hasMessageType(typeUrl)) {
    if (sink.unknownAny === "report") {
      sink.report(path, "any.type_url", `holds ${typeUrl}, which is not a registered message type, so it cannot be validated`);
    }
    return;
  }
  let decoded: unknown;
  try {
    decoded = messageTypeOf(typeUrl).decode(any.value ?? new Uint8Array(0));
  } catch (error) {
    sink.report(path, "any.decode", `cannot be decoded as ${typeNameOf(typeUrl)}: ${(error as Error).message}`);
    return;
  }
  validatorFor(typeNameOf(typeUrl))(decoded, path, sink);
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === 0 || value === false) return true;
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === "object" && typeof (value as { isZero?: () => boolean }).isZero === "function") {
    return (value as { isZero: () => boolean }).isZero();
  }
  return false;
}

function applyChecks(checks: readonly Check[], value: unknown, path: string, sink: Sink): void {
  for (const check of checks) {
    const p: Problem | undefined = check(value);
    if (p) sink.report(path, p.rule, p.message);
  }
}

/** How to validate one element (a singular field's value, a list item, a map value). */
interface ElementPlan {
  readonly checks: readonly Check[];
  readonly ignoreEmpty: boolean;
  /** For message elements: validate the content (unless `message.skip`). */
  readonly nested?: MessageValidator | "any";
}

let withRules: Set<string> | undefined;

/**
 * The message types whose values can break a rule: own rules, required
 * oneofs, Any fields (their content is unknown until decoded), or a field of
 * such a type. Fields of other types are not walked at all, which is what
 * makes validating large snapshots fast.
 */
function typesWithRules(): Set<string> {
  if (withRules) return withRules;
  const messages = fullSchema().messages;
  const found = new Set<string>();
  // Reverse edges: for each message type, the message types holding a field of it.
  const holders = new Map<string, string[]>();
  const queue: string[] = [];
  for (const [name, m] of Object.entries(messages)) {
    if (m.dis || m.ign || PLAIN_TYPES.has(name)) continue;
    let own = (m.req ?? []).length > 0;
    for (const f of m.f) {
      const t = f.kind === "map" ? (f.map?.kind === "m" ? f.map.type : "") : f.kind === "m" ? f.type : "";
      if (f.rules !== undefined || t === ANY) own = true;
      if (t !== "") {
        const list = holders.get(t);
        if (list) list.push(name);
        else holders.set(t, [name]);
      }
    }
    if (own) {
      found.add(name);
      queue.push(name);
    }
  }
  while (queue.length > 0) {
    for (const holder of holders.get(queue.pop() as string) ?? []) {
      const m = messages[holder];
      if (found.has(holder) || !m || m.dis || m.ign) continue;
      found.add(holder);
      queue.push(holder);
    }
  }
  withRules = found;
  return found;
}

function elementPlan(rules: Record<string, any> | undefined, kind: string, type: string): ElementPlan {
  const r = rules ?? {};
  const checks = valueChecks(r, type, kind === "e");
  let nested: ElementPlan["nested"];
  if (kind === "m" && r.message?.skip !== true) {
    if (type === ANY) nested = "any";
    else if (typesWithRules().has(type)) nested = (m, p, s) => validatorFor(type)(m, p, s);
  }
  return { checks, ignoreEmpty: ignoresEmpty(r), ...(nested ? { nested } : {}) };
}

function runElement(plan: ElementPlan, value: unknown, path: string, sink: Sink): void {
  if (plan.ignoreEmpty && isEmptyValue(value)) return;
  if (plan.checks.length > 0) applyChecks(plan.checks, value, path, sink);
  if (plan.nested !== undefined && isSet(value)) {
    if (plan.nested === "any") validateAny(value, path, sink);
    else plan.nested(value, path, sink);
  }
}

type FieldValidator = (message: any, prefix: string, sink: Sink) => void;

function at(prefix: string, name: string): string {
  return prefix === "" ? name : `${prefix}.${name}`;
}

function compileField(field: FieldSchema): FieldValidator | undefined {
  const rules = (field.rules ?? {}) as Record<string, any>;
  const { k, n } = field;
  if (field.kind === "map") {
    const map = field.map;
    if (!map) return undefined;
    const m = rules.map ?? {};
    const keyPlan = elementPlan(m.keys, "s", map.key);
    const valuePlan = elementPlan(m.values, map.kind, map.type);
    const minPairs = m.minPairs !== undefined ? Number(m.minPairs) : undefined;
    const maxPairs = m.maxPairs !== undefined ? Number(m.maxPairs) : undefined;
    const noSparse = m.noSparse === true;
    const ignoreEmpty = m.ignoreEmpty === true;
    if (
      minPairs === undefined &&
      maxPairs === undefined &&
      !noSparse &&
      keyPlan.checks.length === 0 &&
      !valuePlan.checks.length &&
      !valuePlan.nested
    ) {
      return undefined;
    }
    return (msg, prefix, sink) => {
      const value = msg[k] as Record<string, unknown> | undefined;
      const keys = value ? Object.keys(value) : [];
      if (ignoreEmpty && keys.length === 0) return;
      const path = at(prefix, n);
      if (minPairs !== undefined && keys.length < minPairs) sink.report(path, "map.min_pairs", `must have at least ${minPairs} entries`);
      if (maxPairs !== undefined && keys.length > maxPairs) sink.report(path, "map.max_pairs", `must have at most ${maxPairs} entries`);
      for (const key of keys) {
        const v = (value as Record<string, unknown>)[key];
        const entryPath = `${path}[${key}]`;
        if (keyPlan.checks.length > 0) applyChecks(keyPlan.checks, key, `${entryPath}.key`, sink);
        if (noSparse && !isSet(v)) sink.report(entryPath, "map.no_sparse", "must have a value");
        runElement(valuePlan, v, entryPath, sink);
      }
    };
  }
  if (field.rep) {
    const r = rules.repeated ?? {};
    const itemPlan = elementPlan(r.items, field.kind, field.type);
    const minItems = r.minItems !== undefined ? Number(r.minItems) : undefined;
    const maxItems = r.maxItems !== undefined ? Number(r.maxItems) : undefined;
    const unique = r.unique === true;
    const ignoreEmpty = r.ignoreEmpty === true;
    if (minItems === undefined && maxItems === undefined && !unique && itemPlan.checks.length === 0 && !itemPlan.nested) return undefined;
    return (msg, prefix, sink) => {
      const list = (msg[k] ?? []) as unknown[];
      if (ignoreEmpty && list.length === 0) return;
      const path = at(prefix, n);
      if (minItems !== undefined && list.length < minItems) {
        sink.report(path, "repeated.min_items", `must have at least ${minItems} item${minItems === 1 ? "" : "s"}`);
      }
      if (maxItems !== undefined && list.length > maxItems) {
        sink.report(path, "repeated.max_items", `must have at most ${maxItems} item${maxItems === 1 ? "" : "s"}`);
      }
      if (unique) {
        const seen = new Set<string>();
        list.forEach((item, i) => {
          const key = uniqueKey(item);
          if (seen.has(key)) sink.report(`${path}[${i}]`, "repeated.unique", "must not repeat an earlier item");
          seen.add(key);
        });
      }
      if (itemPlan.checks.length > 0 || itemPlan.nested) {
        for (let i = 0; i < list.length; i++) runElement(itemPlan, list[i], `${path}[${i}]`, sink);
      }
    };
  }
  const plan = elementPlan(rules, field.kind, field.type);
  // PGV applies a oneof member's rules only when that member is the one set, so `required` never fires for it.
  const required =
    field.oi === undefined &&
    (rules.message?.required === true ||
      rules.duration?.required === true ||
      rules.timestamp?.required === true ||
      rules.any?.required === true);
  // Present-only fields: messages (and wrappers), oneof members, proto3 `optional`.
  const presence = field.kind === "m" || field.oi !== undefined || field.opt === 1;
  if (!required && plan.checks.length === 0 && !plan.nested) return undefined;
  if (!presence) {
    return (msg, prefix, sink) => runElement(plan, msg[k], at(prefix, n), sink);
  }
  const isWrapper = WRAPPERS.has(field.type);
  const ruleId = rules.duration?.required
    ? "duration.required"
    : rules.timestamp?.required
      ? "timestamp.required"
      : rules.any?.required
        ? "any.required"
        : "message.required";
  return (msg, prefix, sink) => {
    const value = msg[k];
    if (!isSet(value)) {
      if (required) sink.report(at(prefix, n), ruleId, isWrapper ? "is required" : "is required (must be set)");
      return;
    }
    runElement(plan, value, at(prefix, n), sink);
  };
}

function uniqueKey(item: unknown): string {
  if (item instanceof Uint8Array) return `b:${Buffer.from(item).toString("base64")}`;
  if (typeof item === "object" && item !== null) {
    if (typeof (item as { isZero?: unknown }).isZero === "function") return `l:${String(item)}`;
    return `o:${JSON.stringify(item, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v))}`;
  }
  return `${typeof item}:${String(item)}`;
}

function compileMessage(fullName: string): MessageValidator {
  const schema: MessageSchema | undefined = messageSchema(fullName);
  if (!schema || PLAIN_TYPES.has(fullName)) return NOOP;
  return compileSchema(schema);
}

/** Compiles a message schema (exported for tests of rule kinds Envoy's protos do not use). */
export function compileSchema(schema: MessageSchema): MessageValidator {
  if (schema.dis || schema.ign) return NOOP;
  const fields: FieldValidator[] = [];
  for (const field of schema.f) {
    const v = compileField(field);
    if (v) fields.push(v);
  }
  const oneofs = (schema.req ?? []).map((index) => {
    const name = schema.o?.[index] ?? `oneof_${index}`;
    const members = schema.f.filter((f) => f.oi === index);
    const keys = members.map((f) => f.k);
    const message = `exactly one of ${members.map((f) => f.n).join(", ")} must be set`;
    return { name, keys, message };
  });
  if (fields.length === 0 && oneofs.length === 0) return NOOP;
  return (message, prefix, sink) => {
    if (message === null || typeof message !== "object") return;
    for (const o of oneofs) {
      if (!o.keys.some((key) => isSet(message[key]))) sink.report(at(prefix, o.name), "oneof.required", o.message);
    }
    for (const f of fields) f(message, prefix, sink);
  };
}
