import type { DeepPartial, MessageType } from "@xdskit/envoy-api/core";
import { pack } from "@xdskit/envoy-api/core";
import { Cors, CorsPolicy } from "@xdskit/envoy-api/envoy/extensions/filters/http/cors/v3/cors";
import { HTTPFault } from "@xdskit/envoy-api/envoy/extensions/filters/http/fault/v3/fault";
import { HealthCheck } from "@xdskit/envoy-api/envoy/extensions/filters/http/health_check/v3/health_check";
import { LocalRateLimit } from "@xdskit/envoy-api/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit";
import { Router } from "@xdskit/envoy-api/envoy/extensions/filters/http/router/v3/router";
import { HttpFilter } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import {
  builderError,
  type DurationInput,
  duration,
  type HeaderMatch,
  headerMatcher,
  percent,
  type StringMatch,
  stringMatcher,
} from "./common.js";
import { WellKnownName } from "./well-known.js";

/**
 * An HTTP filter with its config packed into `typed_config`.
 * @example httpFilter("acme.filters.http.audit", Audit, { level: 2 })
 */
export function httpFilter<T>(name: string, type: MessageType<T>, config: DeepPartial<T>, isOptional = false): HttpFilter {
  return HttpFilter.fromPartial({ name, typedConfig: pack(type, config), isOptional });
}

/** Options of {@link routerFilter}. Every field defaults to Envoy's default. */
export interface RouterFilterOptions {
  /** Do not add `x-envoy-*` headers to responses. Default false. */
  readonly suppressEnvoyHeaders?: boolean;
  /** Start a child span per upstream request. Default false. */
  readonly startChildSpan?: boolean;
}

/**
 * The router filter, which must end every HTTP filter chain (httpConnectionManager adds it when missing).
 * @example routerFilter() // { name: "envoy.filters.http.router", typedConfig: Any(Router) }
 */
export function routerFilter(options: RouterFilterOptions = {}): HttpFilter {
  return httpFilter(WellKnownName.Router, Router, {
    suppressEnvoyHeaders: options.suppressEnvoyHeaders ?? false,
    startChildSpan: options.startChildSpan ?? false,
  });
}

/** Fault injection: a delay and/or an abort, each applied to a percentage of requests. */
export interface FaultOptions {
  /** Delay requests: `fixed` duration, for `percent` of requests (default 100). */
  readonly delay?: { readonly fixed: DurationInput; readonly percent?: number };
  /** Abort requests with an HTTP or gRPC status, for `percent` of requests (default 100). */
  readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: number; readonly percent?: number };
  /** Only requests matching these headers get faults. Default: all. */
  readonly headers?: readonly HeaderMatch[];
  /** Only requests to this upstream cluster get faults. Default: all. */
  readonly upstreamCluster?: string;
  /** Cap on concurrently active faults. Default: unlimited. */
  readonly maxActiveFaults?: number;
}

/**
 * The fault-injection config (`HTTPFault`): for the filter, or per route
 * (`route({ fault })` puts it in `typed_per_filter_config`).
 */
export function faultConfig(options: FaultOptions = {}): HTTPFault {
  const { delay, abort } = options;
  if (abort && (abort.httpStatus === undefined) === (abort.grpcStatus === undefined)) {
    throw builderError("faultConfig", "abort", "exactly one of httpStatus or grpcStatus", abort);
  }
  return HTTPFault.fromPartial({
    ...(delay
      ? { delay: { fixedDelay: duration(delay.fixed, "delay.fixed"), percentage: percent(delay.percent ?? 100, "delay.percent") } }
      : {}),
    ...(abort
      ? {
          abort: {
            ...(abort.httpStatus !== undefined ? { httpStatus: abort.httpStatus } : { grpcStatus: abort.grpcStatus as number }),
            percentage: percent(abort.percent ?? 100, "abort.percent"),
          },
        }
      : {}),
    headers: (options.headers ?? []).map(headerMatcher),
    upstreamCluster: options.upstreamCluster ?? "",
    ...(options.maxActiveFaults !== undefined ? { maxActiveFaults: options.maxActiveFaults } : {}),
  });
}

/**
 * The fault-injection filter. Without options it injects nothing until a
 * route enables faults (`route({ fault })`).
 * @example faultFilter({ delay: { fixed: "2s", percent: 10 } })
 */
export function faultFilter(options: FaultOptions = {}): HttpFilter {
  return httpFilter(WellKnownName.Fault, HTTPFault, faultConfig(options));
}

/** The CORS filter; policies come per virtual host or route (`cors` option, see {@link corsPolicy}). */
export function corsFilter(): HttpFilter {
  return httpFilter(WellKnownName.Cors, Cors, {});
}

/** A CORS policy. */
export interface CorsOptions {
  /** Allowed origins. */
  readonly allowOrigins: readonly StringMatch[];
  /** `Access-Control-Allow-Methods`. Default: not set. */
  readonly allowMethods?: readonly string[];
  /** `Access-Control-Allow-Headers`. Default: not set. */
  readonly allowHeaders?: readonly string[];
  /** `Access-Control-Expose-Headers`. Default: not set. */
  readonly exposeHeaders?: readonly string[];
  /** `Access-Control-Max-Age` in seconds. Default: not set. */
  readonly maxAgeSeconds?: number;
  /** `Access-Control-Allow-Credentials`. Default false. */
  readonly allowCredentials?: boolean;
}

/** A CORS policy for `typed_per_filter_config` (what `virtualHost({ cors })` and `route({ cors })` pack). */
export function corsPolicy(options: CorsOptions): CorsPolicy {
  return CorsPolicy.fromPartial({
    allowOriginStringMatch: options.allowOrigins.map(stringMatcher),
    allowMethods: (options.allowMethods ?? []).join(","),
    allowHeaders: (options.allowHeaders ?? []).join(","),
    exposeHeaders: (options.exposeHeaders ?? []).join(","),
    maxAge: options.maxAgeSeconds !== undefined ? String(options.maxAgeSeconds) : "",
    ...(options.allowCredentials !== undefined ? { allowCredentials: options.allowCredentials } : {}),
  });
}

/** A token-bucket local rate limit. */
export interface LocalRateLimitOptions {
  /** Stats prefix. Default `"http_local_rate_limiter"`. */
  readonly statPrefix?: string;
  /** Bucket size (burst). */
  readonly maxTokens: number;
  /** Tokens added per fill. Default 1 (Envoy's default). */
  readonly tokensPerFill?: number;
  /** How often the bucket is filled. */
  readonly fillInterval: DurationInput;
  /**
   * Percentage of requests the limit applies to, and is enforced for.
   * Default 100 for both. (Envoy treats unset as 0%, which would make the
   * limit do nothing: this builder turns it on.)
   */
  readonly enabledPercent?: number;
  readonly enforcedPercent?: number;
  /** Status for limited requests. Default 429 (Envoy's default). */
  readonly status?: number;
}

/** The local rate-limit config (`LocalRateLimit`), for the filter or per route (`route({ rateLimit })`). */
export function localRateLimitConfig(options: LocalRateLimitOptions): LocalRateLimit {
  return LocalRateLimit.fromPartial({
    statPrefix: options.statPrefix ?? "http_local_rate_limiter",
    tokenBucket: {
      maxTokens: options.maxTokens,
      tokensPerFill: options.tokensPerFill ?? 1,
      fillInterval: duration(options.fillInterval, "fillInterval"),
    },
    filterEnabled: { defaultValue: percent(options.enabledPercent ?? 100, "enabledPercent"), runtimeKey: "local_rate_limit_enabled" },
    filterEnforced: { defaultValue: percent(options.enforcedPercent ?? 100, "enforcedPercent"), runtimeKey: "local_rate_limit_enforced" },
    ...(options.status !== undefined ? { status: { code: options.status } } : {}),
  });
}

/**
 * The local rate-limit filter. With no options it limits nothing until a
 * route sets `rateLimit`; with options it limits every request of the listener.
 */
export function localRateLimitFilter(options?: LocalRateLimitOptions): HttpFilter {
  return httpFilter(
    WellKnownName.LocalRateLimit,
    LocalRateLimit,
    options ? localRateLimitConfig(options) : { statPrefix: "http_local_rate_limiter" },
  );
}

/** Health-check answering. */
export interface HealthCheckFilterOptions {
  /** Path that health checkers request, matched exactly. */
  readonly path: string;
  /** Forward health checks to the upstream (true) or answer them in Envoy (false). Default false. */
  readonly passThrough?: boolean;
  /** Cache pass-through answers this long. Default: no caching. */
  readonly cacheTime?: DurationInput;
}

/** The health_check filter. @example healthCheckFilter({ path: "/healthz" }) */
export function healthCheckFilter(options: HealthCheckFilterOptions): HttpFilter {
  return httpFilter(WellKnownName.HealthCheck, HealthCheck, {
    passThroughMode: options.passThrough ?? false,
    headers: [headerMatcher({ name: ":path", exact: options.path })],
    ...(options.cacheTime !== undefined ? { cacheTime: duration(options.cacheTime, "cacheTime") } : {}),
  });
}
