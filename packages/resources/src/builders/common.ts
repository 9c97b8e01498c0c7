import type { Any, DeepPartial, MessageType } from "@xdskit/envoy-api/core";
import { optionError, pack, type XdskitError } from "@xdskit/envoy-api/core";
import type { Address } from "@xdskit/envoy-api/envoy/config/core/v3/address";
import type { HeaderValueOption } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { ConfigSource } from "@xdskit/envoy-api/envoy/config/core/v3/config_source";
import { ApiVersion } from "@xdskit/envoy-api/envoy/config/core/v3/config_source";
import type { HeaderMatcher, QueryParameterMatcher } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import type { StringMatcher } from "@xdskit/envoy-api/envoy/type/matcher/v3/string";
import { type FractionalPercent, FractionalPercent_DenominatorType } from "@xdskit/envoy-api/envoy/type/v3/percent";
import type { Duration } from "@xdskit/envoy-api/google/protobuf/duration";
import Long from "long";

/**
 * A duration: a string with a unit (`"250ms"`, `"5s"`, `"1.5s"`, `"2m"`,
 * `"1h"`, `"100us"`), a number of **milliseconds** (`250` is `"250ms"`, as in
 * Node's own timers), or a protobuf `Duration`. Every builder option that
 * takes a duration takes this.
 */
export type DurationInput = string | number | Duration;

const UNIT_NANOS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A builder's bad option: the shared {@link optionError} format, `path` set to the option. */
export function builderError(builder: string, option: string, expected: string, actual: unknown): XdskitError {
  return optionError(builder, option, expected, actual);
}

/**
 * Turns a {@link DurationInput} into a protobuf Duration.
 * @example duration("1.5s") // { seconds: Long(1), nanos: 500000000 }
 * @example duration(1500) // the same: numbers are milliseconds
 * @throws XdskitError `XDSKIT_INVALID_OPTION` for text that is not a duration,
 * or a number that is negative or not finite.
 */
export function duration(input: DurationInput, option = "duration"): Duration {
  if (typeof input === "object" && input !== null && "seconds" in input) return input;
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0) throw builderError("duration", option, "a number of milliseconds >= 0", input);
    const nanos = Math.round(input * 1e6);
    return { seconds: Long.fromNumber(Math.floor(nanos / 1e9)), nanos: nanos % 1e9 };
  }
  const m = typeof input === "string" ? /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(input.trim()) : null;
  if (!m) throw builderError("duration", option, 'a duration such as "250ms", "5s" or "1m", or a number of milliseconds', input);
  const nanos = Math.round(Number(m[1]) * (UNIT_NANOS[m[2] as string] as number));
  return { seconds: Long.fromNumber(Math.floor(nanos / 1e9)), nanos: nanos % 1e9 };
}

/**
 * A percentage (0-100, fractions allowed) as a FractionalPercent: whole
 * numbers over HUNDRED, others over MILLION.
 * @example percent(5) // { numerator: 5, denominator: HUNDRED }
 */
export function percent(value: number, option = "percent"): FractionalPercent {
  if (typeof value !== "number" || !(value >= 0 && value <= 100)) throw builderError("percent", option, "a number from 0 to 100", value);
  if (Number.isInteger(value)) return { numerator: value, denominator: FractionalPercent_DenominatorType.HUNDRED };
  return { numerator: Math.round(value * 10_000), denominator: FractionalPercent_DenominatorType.MILLION };
}

/** A TCP socket address. @example socketAddress("10.0.0.1", 8080) */
export function socketAddress(address: string, port: number): Address {
  return { socketAddress: { protocol: 0, address, portValue: port, resolverName: "", ipv4Compat: false } };
}

/**
 * Where a resource comes from. `"ads"` (the default everywhere: the same ADS
 * stream, what gRPC clients require) or `"self"` (the server that sent the
 * referencing resource), or a ConfigSource of your own.
 */
export type ConfigSourceInput = "ads" | "self" | ConfigSource;

/** Builds a ConfigSource; `resource_api_version` is V3. */
export function configSource(input: ConfigSourceInput = "ads"): ConfigSource {
  if (typeof input === "object") return input;
  const base = { authorities: [], resourceApiVersion: ApiVersion.V3, initialFetchTimeout: undefined };
  if (input === "ads") return { ...base, ads: {} };
  if (input === "self") return { ...base, self: { transportApiVersion: ApiVersion.V3 } };
  throw builderError("configSource", "configSource", '"ads", "self" or a ConfigSource', input);
}

/** `{ name, typedConfig }` with the config packed: the shape of filters, transport sockets, access logs, extensions. */
export function typedExtension<T>(name: string, type: MessageType<T>, config: DeepPartial<T>): { name: string; typedConfig: Any } {
  return { name, typedConfig: pack(type, config) };
}

/**
 * A string match. One of `exact`, `prefix`, `suffix`, `contains`, `regex`
 * (RE2), with `ignoreCase` (default false; not for `regex`).
 */
export type StringMatch =
  | { readonly exact: string; readonly ignoreCase?: boolean }
  | { readonly prefix: string; readonly ignoreCase?: boolean }
  | { readonly suffix: string; readonly ignoreCase?: boolean }
  | { readonly contains: string; readonly ignoreCase?: boolean }
  | { readonly regex: string };

export function stringMatcher(match: StringMatch): StringMatcher {
  const ignoreCase = "ignoreCase" in match ? match.ignoreCase === true : false;
  if ("exact" in match) return { exact: match.exact, ignoreCase };
  if ("prefix" in match) return { prefix: match.prefix, ignoreCase };
  if ("suffix" in match) return { suffix: match.suffix, ignoreCase };
  if ("contains" in match) return { contains: match.contains, ignoreCase };
  if ("regex" in match) return { safeRegex: { regex: match.regex }, ignoreCase: false };
  throw builderError("stringMatcher", "match", "one of exact, prefix, suffix, contains, regex", match);
}

/**
 * A header match: a string match, `present: true|false`, or a numeric
 * `range: [start, end)`; `invert` negates it (default false).
 */
export type HeaderMatch = { readonly name: string; readonly invert?: boolean } & (
  | StringMatch
  | { readonly present: boolean }
  | { readonly range: readonly [number, number] }
);

export function headerMatcher(match: HeaderMatch): HeaderMatcher {
  const base = { name: match.name, invertMatch: match.invert === true, treatMissingHeaderAsEmpty: false };
  if ("present" in match) return { ...base, presentMatch: match.present };
  if ("range" in match) return { ...base, rangeMatch: { start: Long.fromNumber(match.range[0]), end: Long.fromNumber(match.range[1]) } };
  return { ...base, stringMatch: stringMatcher(match) };
}

/** A query-parameter match: a string match or `present: true`. */
export type QueryParameterMatch = { readonly name: string } & (StringMatch | { readonly present: true });

export function queryParameterMatcher(match: QueryParameterMatch): QueryParameterMatcher {
  if ("present" in match) return { name: match.name, presentMatch: true };
  return { name: match.name, stringMatch: stringMatcher(match) };
}

/** Headers to add, as a name-to-value record; `append` false overwrites (Envoy's default is to append). */
export function headersToAdd(headers: Readonly<Record<string, string>> | undefined, overwrite = false): HeaderValueOption[] {
  return Object.entries(headers ?? {}).map(([key, value]) => ({
    header: { key, value, rawValue: new Uint8Array(0) },
    appendAction: overwrite ? 2 : 0,
    keepEmptyValue: false,
  }));
}
