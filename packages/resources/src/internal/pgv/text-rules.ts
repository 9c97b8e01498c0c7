// Rules on strings and bytes.
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
import { type Check, type Json, listChecks, problem, quote, sizeText } from "./problem.js";
import { compileRe2 } from "./regex.js";

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

export function stringChecks(rules: Json): Check[] {
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

function fromBase64(text: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(String(text), "base64"));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

export function bytesChecks(rules: Json): Check[] {
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
