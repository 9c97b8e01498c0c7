// What a compiled rule reports, and helpers shared by the rule kinds.

/** One broken rule: its id (e.g. `uint32.lte`) and what the value must be. */
export interface Problem {
  readonly rule: string;
  readonly message: string;
}

/** A compiled rule. */
export type Check = (value: any) => Problem | undefined;

export type Json = Record<string, any>;

/** `minLen` -> `min_len`: rule ids use PGV's proto field names. */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function problem(kind: string, rule: string, message: string): Problem {
  return { rule: `${kind}.${snake(rule)}`, message };
}

export const quote = (value: unknown) => JSON.stringify(value);

/** "must be at least N characters long" with N filled in and the noun in the right number. */
export function sizeText(text: string, n: number): string {
  return text.replace(/N (\w+?)s\b/, (_m, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`);
}

/** Adds the `in` and `not_in` checks of a rule set. */
export function listChecks(
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
