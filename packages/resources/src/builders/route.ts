import type { Any, DeepPartial } from "@xdskit/envoy-api/core";
import { pack } from "@xdskit/envoy-api/core";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import {
  type RateLimit_Action,
  RetryPolicy,
  Route,
  type RouteAction,
  type RouteMatch,
  VirtualHost,
} from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import { CorsPolicy } from "@xdskit/envoy-api/envoy/extensions/filters/http/cors/v3/cors";
import { HTTPFault } from "@xdskit/envoy-api/envoy/extensions/filters/http/fault/v3/fault";
import { LocalRateLimit } from "@xdskit/envoy-api/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit";
import {
  builderError,
  type DurationInput,
  duration,
  type HeaderMatch,
  headerMatcher,
  headersToAdd,
  percent,
  type QueryParameterMatch,
  queryParameterMatcher,
} from "./common.js";
import {
  type CorsOptions,
  corsPolicy,
  type FaultOptions,
  faultConfig,
  type LocalRateLimitOptions,
  localRateLimitConfig,
} from "./http-filters.js";
import { WellKnownName } from "./well-known.js";

/** Retries. Envoy retries nothing unless `retry_on` is set. */
export interface RetryOptions {
  /** Conditions, e.g. `"5xx"`, `"reset"`, `"connect-failure"`, `"retriable-status-codes"`, gRPC `"unavailable"`. Default `["5xx", "reset", "connect-failure"]`. */
  readonly retryOn?: string | readonly string[];
  /** Attempts after the first. Default 1 (Envoy's default). */
  readonly numRetries?: number;
  /** Timeout of each attempt. Default: the route timeout (Envoy's default). */
  readonly perTryTimeout?: DurationInput;
  /** Idle timeout of each attempt. Default none. */
  readonly perTryIdleTimeout?: DurationInput;
  /** Exponential back-off; Envoy's defaults are 25ms and 10 times that. */
  readonly backOff?: { readonly base: DurationInput; readonly max?: DurationInput };
  /** HTTP status codes to retry with `retriable-status-codes`. */
  readonly retriableStatusCodes?: readonly number[];
}

/** A RetryPolicy message. @example retryPolicy({ numRetries: 3, perTryTimeout: "250ms" }) */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const retryOn = options.retryOn ?? ["5xx", "reset", "connect-failure"];
  return RetryPolicy.fromPartial({
    retryOn: typeof retryOn === "string" ? retryOn : retryOn.join(","),
    ...(options.numRetries !== undefined ? { numRetries: options.numRetries } : {}),
    ...(options.perTryTimeout !== undefined ? { perTryTimeout: duration(options.perTryTimeout, "retry.perTryTimeout") } : {}),
    ...(options.perTryIdleTimeout !== undefined
      ? { perTryIdleTimeout: duration(options.perTryIdleTimeout, "retry.perTryIdleTimeout") }
      : {}),
    ...(options.backOff
      ? {
          retryBackOff: {
            baseInterval: duration(options.backOff.base, "retry.backOff.base"),
            ...(options.backOff.max !== undefined ? { maxInterval: duration(options.backOff.max, "retry.backOff.max") } : {}),
          },
        }
      : {}),
    retriableStatusCodes: [...(options.retriableStatusCodes ?? [])],
  });
}

/** How a route matches a request: one path matcher plus optional headers and query parameters. */
export type MatchOptions = (
  | { readonly prefix: string }
  | { readonly path: string }
  | { readonly regex: string }
  | { readonly pathSeparatedPrefix: string }
) & {
  readonly headers?: readonly HeaderMatch[];
  readonly queryParameters?: readonly QueryParameterMatch[];
  /** Case-sensitive path matching. Default true (Envoy's default). */
  readonly caseSensitive?: boolean;
  /** Only gRPC requests. Default false. */
  readonly grpc?: boolean;
};

function routeMatch(m: MatchOptions): DeepPartial<RouteMatch> {
  const path =
    "prefix" in m
      ? { prefix: m.prefix }
      : "path" in m
        ? { path: m.path }
        : "regex" in m
          ? { safeRegex: { regex: m.regex } }
          : "pathSeparatedPrefix" in m
            ? { pathSeparatedPrefix: m.pathSeparatedPrefix }
            : undefined;
  if (!path) throw builderError("route", "match", "one of prefix, path, regex, pathSeparatedPrefix", m);
  return {
    ...path,
    headers: (m.headers ?? []).map(headerMatcher),
    queryParameters: (m.queryParameters ?? []).map(queryParameterMatcher),
    ...(m.caseSensitive !== undefined ? { caseSensitive: m.caseSensitive } : {}),
    ...(m.grpc ? { grpc: {} } : {}),
  };
}

/** A redirect. */
export interface RedirectOptions {
  /** Switch to https. */
  readonly https?: boolean;
  readonly host?: string;
  readonly port?: number;
  /** Replace the whole path. */
  readonly path?: string;
  /** Replace the matched prefix. */
  readonly prefixRewrite?: string;
  /** Status. Default 301 (Envoy's default). */
  readonly code?: 301 | 302 | 303 | 307 | 308;
  /** Drop the query string. Default false. */
  readonly stripQuery?: boolean;
}

const REDIRECT_CODES: Readonly<Record<number, number>> = { 301: 0, 302: 1, 303: 2, 307: 3, 308: 4 };

/** Where a route sends requests: exactly one of these. */
export type RouteTarget =
  | { readonly cluster: string }
  /** Split traffic by weight (canary, A/B). Weights are relative; Envoy sums them. */
  | { readonly weightedClusters: readonly { readonly name: string; readonly weight: number }[] }
  /** The cluster named by a request header. */
  | { readonly clusterHeader: string }
  | { readonly redirect: RedirectOptions }
  | { readonly directResponse: { readonly status: number; readonly body?: string } };

/** Options of {@link route}. */
export type RouteOptions = RouteTarget & {
  readonly match: MatchOptions;
  /** A name for stats and debugging. */
  readonly name?: string;
  /** Upstream timeout of the whole request. Default 15s (Envoy's default); `"0s"` disables it. */
  readonly timeout?: DurationInput;
  /** Idle timeout of the stream. Default: the connection manager's. */
  readonly idleTimeout?: DurationInput;
  readonly retry?: RetryOptions;
  /** Shadow a copy of requests to other clusters (fire and forget), for `percent` of requests (default 100). */
  readonly mirror?: readonly { readonly cluster: string; readonly percent?: number }[];
  /** Replace the matched prefix before forwarding. */
  readonly prefixRewrite?: string;
  /** Rewrite the path with an RE2 pattern and substitution. */
  readonly regexRewrite?: { readonly pattern: string; readonly substitution: string };
  /** Rewrite Host: a literal, the upstream host's name (`auto`), or a request header's value. */
  readonly hostRewrite?: string | { readonly auto: true } | { readonly header: string };
  /** Fault injection for this route (needs {@link faultFilter} in the connection manager). */
  readonly fault?: FaultOptions;
  /** Local rate limit for this route (needs {@link localRateLimitFilter} in the connection manager). */
  readonly rateLimit?: LocalRateLimitOptions;
  /** Descriptors for a global rate-limit service: each entry is one descriptor of actions. */
  readonly rateLimits?: readonly (readonly RateLimitActionInput[])[];
  /** CORS policy for this route (needs {@link corsFilter}). */
  readonly cors?: CorsOptions;
  /** Consistent-hash keys (ring hash / maglev): headers, cookies, or the source IP. */
  readonly hashPolicy?: readonly (
    | { readonly header: string }
    | { readonly cookie: string; readonly ttl?: DurationInput }
    | { readonly sourceIp: true }
  )[];
  readonly requestHeadersToAdd?: Readonly<Record<string, string>>;
  readonly requestHeadersToRemove?: readonly string[];
  readonly responseHeadersToAdd?: Readonly<Record<string, string>>;
  readonly responseHeadersToRemove?: readonly string[];
  /** Other per-filter configs, by filter name. */
  readonly perFilterConfig?: Readonly<Record<string, Any>>;
};

/** One rate-limit action: the client address, a fixed key, or a request header's value. */
export type RateLimitActionInput =
  | "remoteAddress"
  | { readonly genericKey: string; readonly descriptorKey?: string }
  | { readonly requestHeader: string; readonly descriptorKey: string };

function rateLimitAction(a: RateLimitActionInput): DeepPartial<RateLimit_Action> {
  if (a === "remoteAddress") return { remoteAddress: {} };
  if ("genericKey" in a) return { genericKey: { descriptorValue: a.genericKey, descriptorKey: a.descriptorKey ?? "" } };
  return { requestHeaders: { headerName: a.requestHeader, descriptorKey: a.descriptorKey, skipIfAbsent: false } };
}

function typedPerFilter(options: {
  readonly fault?: FaultOptions;
  readonly rateLimit?: LocalRateLimitOptions;
  readonly cors?: CorsOptions;
  readonly perFilterConfig?: Readonly<Record<string, Any>>;
}): Record<string, Any> {
  return {
    ...(options.fault ? { [WellKnownName.Fault]: pack(HTTPFault, faultConfig(options.fault)) } : {}),
    ...(options.rateLimit ? { [WellKnownName.LocalRateLimit]: pack(LocalRateLimit, localRateLimitConfig(options.rateLimit)) } : {}),
    ...(options.cors ? { [WellKnownName.Cors]: pack(CorsPolicy, corsPolicy(options.cors)) } : {}),
    ...(options.perFilterConfig ?? {}),
  };
}

function routeAction(o: RouteOptions): DeepPartial<RouteAction> {
  const target =
    "cluster" in o
      ? { cluster: o.cluster }
      : "weightedClusters" in o
        ? { weightedClusters: { clusters: o.weightedClusters.map((w) => ({ name: w.name, weight: w.weight })) } }
        : { clusterHeader: (o as { clusterHeader: string }).clusterHeader };
  const host = o.hostRewrite;
  return {
    ...target,
    ...(o.timeout !== undefined ? { timeout: duration(o.timeout, "timeout") } : {}),
    ...(o.idleTimeout !== undefined ? { idleTimeout: duration(o.idleTimeout, "idleTimeout") } : {}),
    ...(o.retry ? { retryPolicy: retryPolicy(o.retry) } : {}),
    requestMirrorPolicies: (o.mirror ?? []).map((m) => ({
      cluster: m.cluster,
      ...(m.percent !== undefined ? { runtimeFraction: { defaultValue: percent(m.percent, "mirror.percent"), runtimeKey: "" } } : {}),
    })),
    prefixRewrite: o.prefixRewrite ?? "",
    ...(o.regexRewrite ? { regexRewrite: { pattern: { regex: o.regexRewrite.pattern }, substitution: o.regexRewrite.substitution } } : {}),
    ...(typeof host === "string"
      ? { hostRewriteLiteral: host }
      : host && "auto" in host
        ? { autoHostRewrite: true }
        : host
          ? { hostRewriteHeader: host.header }
          : {}),
    rateLimits: (o.rateLimits ?? []).map((actions) => ({ actions: actions.map(rateLimitAction) })),
    hashPolicy: (o.hashPolicy ?? []).map((h) =>
      "header" in h
        ? { header: { headerName: h.header } }
        : "cookie" in h
          ? { cookie: { name: h.cookie, ...(h.ttl !== undefined ? { ttl: duration(h.ttl, "hashPolicy.ttl") } : {}) } }
          : { connectionProperties: { sourceIp: true } },
    ),
  };
}

/**
 * A route: a match and a target (cluster, weighted clusters, cluster header,
 * redirect or direct response) with the forwarding options.
 *
 * @example
 * route({ match: { prefix: "/" }, weightedClusters: [{ name: "web-v1", weight: 95 }, { name: "web-v2", weight: 5 }] })
 * route({ match: { prefix: "/api", headers: [{ name: "x-canary", exact: "1" }] }, cluster: "api-v2", timeout: "2s", retry: { numRetries: 3 } })
 */
export function route(options: RouteOptions): Route {
  const common = {
    name: options.name ?? "",
    match: routeMatch(options.match),
    typedPerFilterConfig: typedPerFilter(options),
    requestHeadersToAdd: headersToAdd(options.requestHeadersToAdd),
    requestHeadersToRemove: [...(options.requestHeadersToRemove ?? [])],
    responseHeadersToAdd: headersToAdd(options.responseHeadersToAdd),
    responseHeadersToRemove: [...(options.responseHeadersToRemove ?? [])],
  };
  if ("redirect" in options) {
    const r = options.redirect;
    const code = REDIRECT_CODES[r.code ?? 301];
    if (code === undefined) throw builderError("route", "redirect.code", "301, 302, 303, 307 or 308", r.code);
    return Route.fromPartial({
      ...common,
      redirect: {
        ...(r.https ? { httpsRedirect: true } : {}),
        hostRedirect: r.host ?? "",
        portRedirect: r.port ?? 0,
        ...(r.path !== undefined ? { pathRedirect: r.path } : {}),
        ...(r.prefixRewrite !== undefined ? { prefixRewrite: r.prefixRewrite } : {}),
        responseCode: code,
        stripQuery: r.stripQuery ?? false,
      },
    });
  }
  if ("directResponse" in options) {
    const d = options.directResponse;
    return Route.fromPartial({
      ...common,
      directResponse: { status: d.status, ...(d.body !== undefined ? { body: { inlineString: d.body } } : {}) },
    });
  }
  return Route.fromPartial({ ...common, route: routeAction(options) });
}

/** Options of {@link virtualHost}. */
export interface VirtualHostOptions {
  readonly name: string;
  /** Host names (with `*` wildcards at the start or end). Default `["*"]`. */
  readonly domains?: readonly string[];
  /** Routes, first match wins. */
  readonly routes: readonly Route[];
  /** Retries for every route without its own. */
  readonly retry?: RetryOptions;
  /** CORS for every route (needs {@link corsFilter}). */
  readonly cors?: CorsOptions;
  /** Redirect plain HTTP to HTTPS: `"all"`, only `"external"` requests, or `"none"` (default). */
  readonly requireTls?: "none" | "external" | "all";
  /** Other per-filter configs, by filter name. */
  readonly perFilterConfig?: Readonly<Record<string, Any>>;
  readonly requestHeadersToAdd?: Readonly<Record<string, string>>;
  readonly responseHeadersToAdd?: Readonly<Record<string, string>>;
}

/** A virtual host. @example virtualHost({ name: "web", domains: ["web.example.com"], routes: [route({ match: { prefix: "/" }, cluster: "web" })] }) */
export function virtualHost(options: VirtualHostOptions): VirtualHost {
  return VirtualHost.fromPartial({
    name: options.name,
    domains: [...(options.domains ?? ["*"])],
    routes: [...options.routes],
    ...(options.retry ? { retryPolicy: retryPolicy(options.retry) } : {}),
    requireTls: options.requireTls === "all" ? 2 : options.requireTls === "external" ? 1 : 0,
    typedPerFilterConfig: typedPerFilter(options),
    requestHeadersToAdd: headersToAdd(options.requestHeadersToAdd),
    responseHeadersToAdd: headersToAdd(options.responseHeadersToAdd),
  });
}

/** Options of {@link routeConfiguration}. */
export interface RouteConfigurationOptions {
  /** The name listeners use in `rds.route_config_name`. */
  readonly name: string;
  readonly virtualHosts: readonly VirtualHost[];
  /** Make Envoy reject the config when a route names an unknown cluster. Default Envoy's (false for RDS). */
  readonly validateClusters?: boolean;
  readonly requestHeadersToAdd?: Readonly<Record<string, string>>;
  readonly responseHeadersToAdd?: Readonly<Record<string, string>>;
}

/** A route configuration (RDS resource). */
export function routeConfiguration(options: RouteConfigurationOptions): RouteConfiguration {
  return RouteConfiguration.fromPartial({
    name: options.name,
    virtualHosts: [...options.virtualHosts],
    ...(options.validateClusters !== undefined ? { validateClusters: options.validateClusters } : {}),
    requestHeadersToAdd: headersToAdd(options.requestHeadersToAdd),
    responseHeadersToAdd: headersToAdd(options.responseHeadersToAdd),
  });
}
