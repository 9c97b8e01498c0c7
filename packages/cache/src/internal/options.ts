import { ErrorCode, XdskitError } from "@xdskit/envoy-api";

function shown(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value;
}

/** Throws INVALID_OPTION naming the owner, the option, what was expected and what arrived. */
export function optionError(owner: string, option: string, expected: string, actual: unknown): XdskitError {
  return new XdskitError(ErrorCode.INVALID_OPTION, `${owner}: option "${option}" must be ${expected}; got ${shown(actual)}`);
}

export function checkObject(owner: string, options: unknown): void {
  if (typeof options !== "object" || options === null) throw optionError(owner, "(options)", "an object", options);
}

/** Throws for keys not in `known` (typos compile in JS callers). */
export function checkKnown(owner: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw optionError(owner, key, `one of the known options (${known.join(", ")})`, key);
  }
}

export function checkFunction(owner: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") throw optionError(owner, name, "a function", value);
}

export function checkBoolean(owner: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "boolean") throw optionError(owner, name, "a boolean", value);
}

export function checkDuration(owner: string, name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0)) {
    throw optionError(owner, name, "a number of milliseconds >= 0", value);
  }
}
