// Validation of the small boolean options objects of the JSON and YAML codecs.
import { optionError } from "../errors.js";

/**
 * Merges `options` over `defaults`, refusing unknown keys and values of the
 * wrong type with an `XDSKIT_INVALID_OPTION` error naming the option.
 */
export function resolveOptions<T extends Record<string, boolean | number>>(
  fn: string,
  defaults: Readonly<T>,
  options: unknown,
): Readonly<T> {
  if (options === undefined) return defaults;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw optionError(fn, "(options)", "an object", options);
  }
  const out: Record<string, boolean | number> = { ...defaults };
  for (const [key, value] of Object.entries(options)) {
    if (!(key in defaults)) {
      throw optionError(fn, key, `one of the known options (${Object.keys(defaults).join(", ")})`, value);
    }
    if (value === undefined) continue;
    const want = typeof defaults[key];
    if (typeof value !== want) {
      throw optionError(fn, key, `a ${want}`, value);
    }
    out[key] = value as boolean | number;
  }
  return out as T;
}
