import { optionError } from "@xdskit/envoy-api/core";

// The one INVALID_OPTION format (`owner: option "x" must be ...; got ...`, path set) lives in @xdskit/envoy-api.
export { optionError };

export function checkObject(owner: string, options: unknown): void {
  if (typeof options !== "object" || options === null) throw optionError(owner, "(options)", "an object", options);
}

/** Throws for keys not in `known` (typos compile in JS callers). */
export function checkKnown(owner: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      throw optionError(owner, key, `one of the known options (${known.join(", ")})`, (options as Record<string, unknown>)[key]);
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
