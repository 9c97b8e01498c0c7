// Small field checkers shared by the model validator. Each reports through
// `Report` with a path relative to the object (`spec.rules[0].backendRefs[1].weight`).

/** Records one problem at a path. */
export type Report = (path: string, expected: string, got: unknown) => void;

export function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "a list";
  return `a ${typeof value === "object" ? "map" : typeof value}`;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const DURATION = /^(\d+(\.\d+)?)(ms|s|m|h)$/;

/** Milliseconds of a duration string (`"250ms"`, `"1.5s"`, `"2m"`, `"1h"`), or undefined when malformed. */
export function durationMs(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[3] as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * scale;
}

/** Field checkers bound to one object's report function. */
export class Checker {
  constructor(readonly report: Report) {}

  object(path: string, value: unknown, required = false): value is Record<string, unknown> {
    if (value === undefined && !required) return false;
    if (isObject(value)) return true;
    this.report(path, "a map", value);
    return false;
  }

  list(path: string, value: unknown, required = false): value is unknown[] {
    if (value === undefined && !required) return false;
    if (Array.isArray(value)) return true;
    this.report(path, "a list", value);
    return false;
  }

  string(path: string, value: unknown, required = false): value is string {
    if (value === undefined && !required) return false;
    if (typeof value === "string" && value.length > 0) return true;
    this.report(path, "a non-empty string", value);
    return false;
  }

  /** A DNS-1123 label, as Kubernetes names are. */
  name(path: string, value: unknown, required = true): value is string {
    if (value === undefined && !required) return false;
    if (typeof value === "string" && /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) return true;
    this.report(path, "a name of lowercase letters, digits and '-' (at most 63)", value);
    return false;
  }

  integer(path: string, value: unknown, min: number, max: number, required = false): value is number {
    if (value === undefined && !required) return false;
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return true;
    const what =
      min === 0 && max === Number.MAX_SAFE_INTEGER
        ? "a non-negative integer"
        : max === Number.MAX_SAFE_INTEGER
          ? `an integer >= ${min}`
          : `an integer from ${min} to ${max}`;
    this.report(path, what, value);
    return false;
  }

  percent(path: string, value: unknown, required = false): value is number {
    if (value === undefined && !required) return false;
    if (typeof value === "number" && value >= 0 && value <= 100) return true;
    this.report(path, "a percentage from 0 to 100", value);
    return false;
  }

  duration(path: string, value: unknown, required = false): value is string {
    if (value === undefined && !required) return false;
    if (durationMs(value) !== undefined) return true;
    this.report(path, 'a duration such as "250ms", "1.5s" or "1m"', value);
    return false;
  }

  oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[], required = false): value is T {
    if (value === undefined && !required) return false;
    if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return true;
    this.report(path, `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`, value);
    return false;
  }

  regex(path: string, value: unknown): void {
    if (!this.string(path, value, true)) return;
    try {
      new RegExp(value as string);
    } catch {
      this.report(path, "a valid regular expression (RE2 syntax)", value);
    }
  }

  /** Reports keys the schema does not know (typos would otherwise be ignored silently). */
  known(path: string, value: Record<string, unknown>, keys: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!keys.includes(key)) this.report(path === "" ? key : `${path}.${key}`, `one of the fields ${keys.join(", ")}`, key);
    }
  }
}
