// Rules on ordered values: numbers (64-bit ones as Long), Duration, Timestamp.
import Long from "long";
import { type Check, type Json, listChecks, problem } from "./problem.js";

export interface Ordering<B> {
  parse(bound: unknown): B;
  /** Compares a field value with a parsed bound: negative, 0 or positive. */
  compare(value: any, bound: B): number;
  equals(value: any, bound: B): boolean;
  show(bound: unknown): string;
}

export function numberOrdering(): Ordering<number> {
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

export function longOrdering(unsigned: boolean): Ordering<Long> {
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

export function parseTimestamp(text: string): Instant {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`invalid timestamp "${text}"`);
  const frac = /\.(\d{1,9})/.exec(text)?.[1];
  const nanos = frac ? Number(frac.padEnd(9, "0")) : 0;
  return [Math.floor(ms / 1000), nanos];
}

export function instantOrdering(parse: (text: string) => Instant): Ordering<Instant> {
  return {
    parse: (b) => (typeof b === "string" ? parse(b) : secondsOf(b)),
    compare: (v, b) => compareInstants(secondsOf(v), b),
    equals: (v, b) => compareInstants(secondsOf(v), b) === 0,
    show: (b) => (typeof b === "string" ? b : JSON.stringify(b)),
  };
}

export function orderedChecks<B>(kind: string, rules: Json, ord: Ordering<B>): Check[] {
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

export function timestampChecks(rules: Json): Check[] {
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
