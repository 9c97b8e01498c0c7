// Checks for one value against protoc-gen-validate rules of its kind
// (strings, bytes, numbers, bools, enums, Any, Duration, Timestamp).
// Each rule compiles once into a function that returns a Problem or undefined,
// so validating allocates only when something is wrong.
import { enumSchema } from "@xdskit/envoy-api/core";
import {
  instantOrdering,
  longOrdering,
  numberOrdering,
  type Ordering,
  orderedChecks,
  parseDuration,
  timestampChecks,
} from "./ordered-rules.js";
import { type Check, type Json, listChecks, problem } from "./problem.js";
import { bytesChecks, stringChecks } from "./text-rules.js";

export { parseDuration } from "./ordered-rules.js";
export type { Check, Problem } from "./problem.js";

const LONG_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const UNSIGNED = new Set(["uint64", "fixed64"]);
const NUMBER_TYPES = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32", "float", "double", ...LONG_TYPES]);

function enumChecks(rules: Json, enumType: string): Check[] {
  const checks: Check[] = [];
  if (rules.definedOnly === true) {
    const schema = enumSchema(enumType);
    if (schema) {
      const values = new Set(Object.values(schema.v));
      const p = problem("enum", "definedOnly", `must be a defined value of ${enumType}`);
      checks.push((v) => (values.has(Number(v ?? 0)) ? undefined : p));
    }
  }
  if (rules.const !== undefined) {
    const p = problem("enum", "const", `must equal ${rules.const}`);
    checks.push((v) => (Number(v ?? 0) === Number(rules.const) ? undefined : p));
  }
  listChecks(
    "enum",
    rules,
    checks,
    (list) => {
      const set = new Set(list.map(Number));
      return (v) => set.has(Number(v ?? 0));
    },
    (list) => list.map(String).join(", "),
  );
  return checks;
}

function anyChecks(rules: Json): Check[] {
  const checks: Check[] = [];
  listChecks("any", rules, checks, (list) => {
    const set = new Set(list);
    return (v) => set.has(v?.typeUrl);
  });
  return checks;
}

/**
 * The checks of one value for the rule set of its kind, e.g. `{uint32: {lte: 65535}}`
 * for a `uint32` (or `UInt32Value`) field. `type` is the scalar name or the
 * message/enum full name. `message`, `repeated` and `map` rules are handled
 * by the message compiler, not here.
 */
export function valueChecks(rules: Json, type: string, isEnum: boolean): Check[] {
  const checks: Check[] = [];
  for (const [kind, body] of Object.entries(rules)) {
    if (typeof body !== "object" || body === null) continue;
    const r = body as Json;
    if (kind === "string") checks.push(...stringChecks(r));
    else if (kind === "bytes") checks.push(...bytesChecks(r));
    else if (kind === "bool") {
      if (r.const !== undefined) {
        const p = problem("bool", "const", `must be ${r.const}`);
        checks.push((v) => (Boolean(v) === r.const ? undefined : p));
      }
    } else if (kind === "enum" && isEnum) checks.push(...enumChecks(r, type));
    else if (kind === "any") checks.push(...anyChecks(r));
    else if (kind === "duration") checks.push(...orderedChecks("duration", r, instantOrdering(parseDuration)));
    else if (kind === "timestamp") checks.push(...timestampChecks(r));
    else if (NUMBER_TYPES.has(kind)) {
      const ordering = LONG_TYPES.has(kind) ? longOrdering(UNSIGNED.has(kind)) : numberOrdering();
      checks.push(...orderedChecks(kind, r, ordering as Ordering<unknown>));
    }
  }
  return checks;
}

/** True when the rules say to skip the checks for an empty (default) value. */
export function ignoresEmpty(rules: Json): boolean {
  for (const body of Object.values(rules)) {
    if (typeof body === "object" && body !== null && (body as Json).ignoreEmpty === true) return true;
  }
  return false;
}
