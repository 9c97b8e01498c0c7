// Validation of the small boolean options objects of the JSON and YAML codecs.
import { ErrorCode, XdskitError } from "../errors.js";

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
    throw new XdskitError(ErrorCode.INVALID_OPTION, `${fn}: options must be an object, got ${options === null ? "null" : typeof options}`);
  }
  const out: Record<string, boolean | number> = { ...defaults };
  for (const [key, value] of Object.entries(options)) {
    if (!(key in defaults)) {
      throw new XdskitError(ErrorCode.INVALID_OPTION, `${fn}: unknown option "${key}"; known options: ${Object.keys(defaults).join(", ")}`);
    }
    if (value === undefined) continue;
    const want = typeof defaults[key];
    if (typeof value !== want) {
      throw new XdskitError(ErrorCode.INVALID_OPTION, `${fn}: option "${key}" must be a ${want}, got ${JSON.stringify(value)}`);
    }
    out[key] = value as boolean | number;
  }
  return out as T;
}
