// Checks for one value against protoc-gen-validate rules of its kind
// (strings, bytes, numbers, bools, enums, Any, Duration, Timestamp).
// Each rule compiles once into a function that returns a Problem or undefined,
// so validating allocates only when something is wrong.
import { enumSchema } from "@xdskit/envoy-api";
import Long from "long";
import {
  HEADER_LOOSE,
  HEADER_NAME_STRICT,
  HEADER_VALUE_STRICT,
  isAddress,
  isEmail,
  isHostname,
  isIP,
  isIPv4,
  isIPv6,
  isUri,
  isUriRef,
  isUuid,
} from "./formats.js";
import { compileRe2 } from "./regex.js";

/** One broken rule: its id (e.g. `uint32.lte`) and what the value must be. */
export interface Problem {
  readonly rule: string;
  readonly message: string;
}

/** A compiled rule. */
export type Check = (value: any) => Problem | undefined;

type Json = Record<string, any>;

const LONG_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const UNSIGNED = new Set(["uint64", "fixed64"]);
const NUMBER_TYPES = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32", "float", "double", ...LONG_TYPES]);

/** `minLen` -> `min_len`: rule ids use PGV's proto field names. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function problem(kind: string, rule: string, message: string): Problem {
  return { rule: `${kind}.${snake(rule)}`, message };
}

const quote = (value: unknown) => JSON.stringify(value);

/** "must be at least N characters long" with N filled in and the noun in the right number. */
function sizeText(text: string, n: number): string {
  return text.replace(/N (\w+?)s\b/, (_m, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`);
}

// ---------- ordered values (numbers, 64-bit, Duration, Timestamp) ----------

interface Ordering<B> {
  parse(bound: unknown): B;
  /** Compares a field value with a parsed bound: negative, 0 or positive. */
  compare(value: any, bound: B): number;
  equals(value: any, bound: B): boolean;
  show(bound: unknown): string;
}

function numberOrdering(): Ordering<number> {
  return {
    parse: (b) => Number(b),
    compare: (v, b) => Number(v ?? 0) - b,
    equals: (v, b) => Number(v ?? 0) === b,
    show: (b) => String(b),
  };
}

function toLong(value: unknown, unsigned: boolean): Long {
  if (Long.isLong(value)) {
    const long = value as Long;
    if (long.unsigned === unsigned) return long;
    return unsigned ? long.toUnsigned() : long.toSigned();
  }
  if (value === undefined || value === null) return unsigned ? Long.UZERO : Long.ZERO;
  return Long.fromValue(value as string | number, unsigned);
}

function longOrdering(unsigned: boolean): Ordering<Long> {
  return {
    parse: (b) => Long.fromString(String(b), unsigned),
    compare: (v, b) => toLong(v, unsigned).compare(b),
    equals: (v, b) => toLong(v, unsigned).equals(b),
    show: (b) => String(b),
  };
}

/** Seconds and nanoseconds, compared as a pair. */
type Instant = readonly [number, number];

function compareInstants(a: Instant, b: Instant): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

function secondsOf(value: any): Instant {
  const seconds = value?.seconds;
  const s = Long.isLong(seconds) ? (seconds as Long).toNumber() : Number(seconds ?? 0);
  return [s, Number(value?.nanos ?? 0)];
}

/** Parses proto3 JSON durations such as `"0.001s"` or `"-1.5s"`. */
export function parseDuration(text: string): Instant {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!m) throw new Error(`invalid duration "${text}"`);
  const sign = m[1] ? -1 : 1;
  const seconds = Number(m[2]);
  const nanos = m[3] ? Number(m[3].padEnd(9, "0")) : 0;
  return [sign * seconds, sign * nanos];
}

function parseTimestamp(text: string): Instant {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`invalid timestamp "${text}"`);
  const frac = /\.(\d{1,9})/.exec(text)?.[1];
  const nanos = frac ? Number(frac.padEnd(9, "0")) : 0;
  return [Math.floor(ms / 1000), nanos];
}

function instantOrdering(parse: (text: string) => Instant): Ordering<Instant> {
  return {
    parse: (b) => (typeof b === "string" ? parse(b) : secondsOf(b)),
    compare: (v, b) => compareInstants(secondsOf(v), b),
    equals: (v, b) => compareInstants(secondsOf(v), b) === 0,
    show: (b) => (typeof b === "string" ? b : JSON.stringify(b)),
  };
}

function orderedChecks<B>(kind: string, rules: Json, ord: Ordering<B>): Check[] {
  const checks: Check[] = [];
  if (rules.const !== undefined) {
    const c = ord.parse(rules.const);
    const p = problem(kind, "const", `must equal ${ord.show(rules.const)}`);
    checks.push((v) => (ord.equals(v, c) ? undefined : p));
  }
  const lowerKey = rules.gt !== undefined ? "gt" : rules.gte !== undefined ? "gte" : undefined;
  const upperKey = rules.lt !== undefined ? "lt" : rules.lte !== undefined ? "lte" : undefined;
  const ops: Record<string, [string, (c: number) => boolean]> = {
    gt: [">", (c) => c > 0],
    gte: [">=", (c) => c >= 0],
    lt: ["<", (c) => c < 0],
    lte: ["<=", (c) => c <= 0],
  };
  const single = (key: string) => {
    const bound = ord.parse(rules[key]);
    const [op, ok] = ops[key] as [string, (c: number) => boolean];
    const p = problem(kind, key, `must be ${op} ${ord.show(rules[key])}`);
    checks.push((v) => (ok(ord.compare(v, bound)) ? undefined : p));
  };
  if (lowerKey && upperKey) {
    const lower = ord.parse(rules[lowerKey]);
    const upper = ord.parse(rules[upperKey]);
    // PGV: with upper above lower the value must lie inside; otherwise outside.
    if (ord.compare(upperOf(upper), lower) > 0) {
      single(lowerKey);
      single(upperKey);
    } else {
      const [uop, uok] = ops[upperKey] as [string, (c: number) => boolean];
      const [lop, lok] = ops[lowerKey] as [string, (c: number) => boolean];
      const p = problem(
        kind,
        `${upperKey}_${lowerKey}`,
        `must be ${uop} ${ord.show(rules[upperKey])} or ${lop} ${ord.show(rules[lowerKey])}`,
      );
      checks.push((v) => (uok(ord.compare(v, upper)) || lok(ord.compare(v, lower)) ? undefined : p));
    }
  } else {
    if (lowerKey) single(lowerKey);
    if (upperKey) single(upperKey);
  }
  listChecks(
    kind,
    rules,
    checks,
    (list) => {
      const bounds = list.map((b) => ord.parse(b));
      return (v) => bounds.some((b) => ord.equals(v, b));
    },
    (list) => list.map((b) => ord.show(b)).join(", "),
  );
  return checks;

  // A bound is compared as a value: for Instants and numbers that is the bound itself.
  function upperOf(b: B): any {
    if (Long.isLong(b)) return b;
    if (Array.isArray(b)) return { seconds: b[0], nanos: b[1] };
    return b;
  }
}

function listChecks(
  kind: string,
  rules: Json,
  checks: Check[],
  member: (list: unknown[]) => (v: any) => boolean,
  show: (list: unknown[]) => string = (list) => list.map(quote).join(", "),
): void {
  if (Array.isArray(rules.in) && rules.in.length > 0) {
    const has = member(rules.in);
    const p = problem(kind, "in", `must be one of [${show(rules.in)}]`);
    checks.push((v) => (has(v) ? undefined : p));
  }
  if (Array.isArray(rules.notIn) && rules.notIn.length > 0) {
    const has = member(rules.notIn);
    const p = problem(kind, "notIn", `must not be one of [${show(rules.notIn)}]`);
    checks.push((v) => (has(v) ? p : undefined));
  }
}

// ---------- strings ----------

const SURROGATE = /[\uD800-\uDFFF]/;
function codePoints(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}
const utf8Length = (s: string) => Buffer.byteLength(s, "utf8");

const STRING_FORMATS: Record<string, [(s: string) => boolean, string]> = {
  email: [isEmail, "must be a valid email address"],
  hostname: [isHostname, "must be a valid host name"],
  ip: [(s) => isIP(s) !== 0, "must be a valid IP address"],
  ipv4: [isIPv4, "must be a valid IPv4 address"],
  ipv6: [isIPv6, "must be a valid IPv6 address"],
  uri: [isUri, "must be an absolute URI"],
  uriRef: [isUriRef, "must be a valid URI reference"],
  address: [isAddress, "must be a valid host name or IP address"],
  uuid: [isUuid, "must be a UUID"],
};

function stringChecks(rules: Json): Check[] {
  const k = "string";
  const checks: Check[] = [];
  const sized = (rule: string, measure: (s: string) => number, test: (n: number, b: number) => boolean, text: string) => {
    if (rules[rule] === undefined) return;
    const b = Number(rules[rule]);
    const p = problem(k, rule, sizeText(text, b));
    checks.push((v: string) => (test(measure(v ?? ""), b) ? undefined : p));
  };
  if (rules.const !== undefined) {
    const p = problem(k, "const", `must equal ${quote(rules.const)}`);
    checks.push((v) => ((v ?? "") === rules.const ? undefined : p));
  }
  sized("len", codePoints, (n, b) => n === b, "must be exactly N characters long");
  sized("minLen", codePoints, (n, b) => n >= b, "must be at least N characters long");
  sized("maxLen", codePoints, (n, b) => n <= b, "must be at most N characters long");
  sized("lenBytes", utf8Length, (n, b) => n === b, "must be exactly N bytes long");
  sized("minBytes", utf8Length, (n, b) => n >= b, "must be at least N bytes long");
  sized("maxBytes", utf8Length, (n, b) => n <= b, "must be at most N bytes long");
  if (typeof rules.pattern === "string") {
    let re: RegExp | undefined;
    try {
      re = compileRe2(rules.pattern);
    } catch (error) {
      const p = problem(k, "pattern", `has a pattern /${rules.pattern}/ that cannot run in JavaScript: ${(error as Error).message}`);
      checks.push(() => p);
    }
    if (re) {
      const compiled = re;
      const p = problem(k, "pattern", `must match the pattern /${rules.pattern}/`);
      checks.push((v) => (compiled.test(v ?? "") ? undefined : p));
    }
  }
  const affix = (rule: string, test: (v: string, a: string) => boolean, text: string) => {
    if (typeof rules[rule] !== "string") return;
    const a = rules[rule] as string;
    const p = problem(k, rule, `${text} ${quote(a)}`);
    checks.push((v) => (test(v ?? "", a) ? undefined : p));
  };
  affix("prefix", (v, a) => v.startsWith(a), "must start with");
  affix("suffix", (v, a) => v.endsWith(a), "must end with");
  affix("contains", (v, a) => v.includes(a), "must contain");
  affix("notContains", (v, a) => !v.includes(a), "must not contain");
  listChecks(k, rules, checks, (list) => {
    const set = new Set(list);
    return (v) => set.has(v ?? "");
  });
  for (const [rule, [test, text]] of Object.entries(STRING_FORMATS)) {
    if (rules[rule] === true) {
      const p = problem(k, rule, text);
      checks.push((v) => (test(v ?? "") ? undefined : p));
    }
  }
  const known = rules.wellKnownRegex;
  if (known === "HTTP_HEADER_NAME" || known === 1 || known === "HTTP_HEADER_VALUE" || known === 2) {
    const isName = known === "HTTP_HEADER_NAME" || known === 1;
    const strict = rules.strict !== false;
    const re = strict ? (isName ? HEADER_NAME_STRICT : HEADER_VALUE_STRICT) : HEADER_LOOSE;
    const what = isName ? "HTTP header name" : "HTTP header value";
    const p = problem(k, "wellKnownRegex", strict ? `must be a valid ${what}` : `must be a valid ${what} (no NUL, CR or LF)`);
    // An empty header name never matches the strict rule; PGV then reports it like Envoy does.
    checks.push((v) => (re.test(v ?? "") ? undefined : p));
  }
  return checks;
}

// ---------- bytes ----------

function fromBase64(text: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(String(text), "base64"));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

function bytesChecks(rules: Json): Check[] {
  const k = "bytes";
  const checks: Check[] = [];
  const bytesOf = (v: Uint8Array | undefined) => v ?? new Uint8Array(0);
  const sized = (rule: string, test: (n: number, b: number) => boolean, text: string) => {
    if (rules[rule] === undefined) return;
    const b = Number(rules[rule]);
    const p = problem(k, rule, sizeText(text, b));
    checks.push((v) => (test(bytesOf(v).length, b) ? undefined : p));
  };
  sized("len", (n, b) => n === b, "must be exactly N bytes long");
  sized("minLen", (n, b) => n >= b, "must be at least N bytes long");
  sized("maxLen", (n, b) => n <= b, "must be at most N bytes long");
  const buf = (v: Uint8Array | undefined) => Buffer.from(bytesOf(v));
  if (rules.const !== undefined) {
    const c = fromBase64(rules.const);
    const p = problem(k, "const", `must equal the bytes ${rules.const} (base64)`);
    checks.push((v) => (bytesEqual(bytesOf(v), c) ? undefined : p));
  }
  const affix = (rule: string, test: (v: Buffer, a: Uint8Array) => boolean, text: string) => {
    if (rules[rule] === undefined) return;
    const a = fromBase64(rules[rule]);
    const p = problem(k, rule, `${text} the bytes ${rules[rule]} (base64)`);
    checks.push((v) => (test(buf(v), a) ? undefined : p));
  };
  affix("prefix", (v, a) => v.subarray(0, a.length).equals(a), "must start with");
  affix("suffix", (v, a) => v.length >= a.length && v.subarray(v.length - a.length).equals(a), "must end with");
  affix("contains", (v, a) => v.indexOf(a) >= 0, "must contain");
  if (typeof rules.pattern === "string") {
    const re = compileRe2(rules.pattern);
    const p = problem(k, "pattern", `must match the pattern /${rules.pattern}/`);
    checks.push((v) => (re.test(buf(v).toString("utf8")) ? undefined : p));
  }
  listChecks(
    k,
    rules,
    checks,
    (list) => {
      const members = list.map(fromBase64);
      return (v) => members.some((m) => bytesEqual(bytesOf(v), m));
    },
    (list) => list.map((b) => `${String(b)} (base64)`).join(", "),
  );
  const size = (rule: string, ok: (n: number) => boolean, text: string) => {
    if (rules[rule] !== true) return;
    const p = problem(k, rule, text);
    checks.push((v) => (ok(bytesOf(v).length) ? undefined : p));
  };
  size("ip", (n) => n === 4 || n === 16, "must be an IP address in bytes (4 or 16 bytes)");
  size("ipv4", (n) => n === 4, "must be an IPv4 address in bytes (4 bytes)");
  size("ipv6", (n) => n === 16, "must be an IPv6 address in bytes (16 bytes)");
  return checks;
}

// ---------- enums, bools, Any, Timestamp ----------

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

function timestampChecks(rules: Json): Check[] {
  const checks = orderedChecks("timestamp", rules, instantOrdering(parseTimestamp));
  const nowInstant = (): Instant => {
    const ms = Date.now();
    return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
  };
  if (rules.ltNow === true) {
    const p = problem("timestamp", "ltNow", "must be in the past");
    checks.push((v) => (compareInstants(secondsOf(v), nowInstant()) < 0 ? undefined : p));
  }
  if (rules.gtNow === true) {
    const p = problem("timestamp", "gtNow", "must be in the future");
    checks.push((v) => (compareInstants(secondsOf(v), nowInstant()) > 0 ? undefined : p));
  }
  if (typeof rules.within === "string") {
    const [ws, wn] = parseDuration(rules.within);
    const windowNanos = ws * 1e9 + wn;
    const p = problem("timestamp", "within", `must be within ${rules.within} of now`);
    checks.push((v) => {
      const [s, n] = secondsOf(v);
      const [ns, nn] = nowInstant();
      return Math.abs((s - ns) * 1e9 + (n - nn)) <= windowNanos ? undefined : p;
    });
  }
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
