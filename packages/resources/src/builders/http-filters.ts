import type { DeepPartial, MessageType } from "@xdskit/envoy-api";
import { pack } from "@xdskit/envoy-api";
import type { Permission, Principal } from "@xdskit/envoy-api/envoy/config/rbac/v3/rbac";
import { Cors, CorsPolicy } from "@xdskit/envoy-api/envoy/extensions/filters/http/cors/v3/cors";
import { ExtAuthz } from "@xdskit/envoy-api/envoy/extensions/filters/http/ext_authz/v3/ext_authz";
import { HTTPFault } from "@xdskit/envoy-api/envoy/extensions/filters/http/fault/v3/fault";
import { HealthCheck } from "@xdskit/envoy-api/envoy/extensions/filters/http/health_check/v3/health_check";
import { JwtAuthentication, type JwtRequirement } from "@xdskit/envoy-api/envoy/extensions/filters/http/jwt_authn/v3/config";
import { LocalRateLimit } from "@xdskit/envoy-api/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit";
import { RBAC } from "@xdskit/envoy-api/envoy/extensions/filters/http/rbac/v3/rbac";
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

/** What an RBAC policy permits: `"any"`, a header, a path, a destination port, or a raw Permission. */
export type PermissionInput =
  | "any"
  | { readonly header: HeaderMatch }
  | { readonly path: StringMatch }
  | { readonly destinationPort: number }
  | { readonly permission: DeepPartial<Permission> };

/** Who an RBAC policy applies to: `"any"`, an mTLS principal (e.g. a SPIFFE ID), a source CIDR, a header, or a raw Principal. */
export type PrincipalInput =
  | "any"
  | { readonly authenticated: StringMatch }
  | { readonly remoteIp: string }
  | { readonly directRemoteIp: string }
  | { readonly header: HeaderMatch }
  | { readonly principal: DeepPartial<Principal> };

function cidr(text: string, option: string) {
  const [address, len] = text.split("/");
  if (!address) throw builderError("rbacFilter", option, 'a CIDR such as "10.0.0.0/8"', text);
  return { addressPrefix: address, prefixLen: len === undefined ? (address.includes(":") ? 128 : 32) : Number(len) };
}

function permission(p: PermissionInput): DeepPartial<Permission> {
  if (p === "any") return { any: true };
  if ("header" in p) return { header: headerMatcher(p.header) };
  if ("path" in p) return { urlPath: { path: stringMatcher(p.path) } };
  if ("destinationPort" in p) return { destinationPort: p.destinationPort };
  return p.permission;
}

function principal(p: PrincipalInput): DeepPartial<Principal> {
  if (p === "any") return { any: true };
  if ("authenticated" in p) return { authenticated: { principalName: stringMatcher(p.authenticated) } };
  if ("remoteIp" in p) return { remoteIp: cidr(p.remoteIp, "principals.remoteIp") };
  if ("directRemoteIp" in p) return { directRemoteIp: cidr(p.directRemoteIp, "principals.directRemoteIp") };
  if ("header" in p) return { header: headerMatcher(p.header) };
  return p.principal;
}

/** Role-based access control. */
export interface RbacOptions {
  /** ALLOW: only requests matching a policy pass. DENY: requests matching a policy are refused. */
  readonly action: "ALLOW" | "DENY";
  /** Policies by name: a request matches a policy when it matches one permission and one principal. */
  readonly policies: Readonly<
    Record<string, { readonly permissions: readonly PermissionInput[]; readonly principals: readonly PrincipalInput[] }>
  >;
  /** Evaluate only as shadow rules (log and count, never refuse). Default false. */
  readonly shadow?: boolean;
}

/**
 * The RBAC filter.
 * @example rbacFilter({ action: "ALLOW", policies: { frontend: { permissions: ["any"], principals: [{ authenticated: { exact: "spiffe://mesh/ns/web/sa/frontend" } }] } } })
 */
export function rbacFilter(options: RbacOptions): HttpFilter {
  const rules = {
    action: options.action === "DENY" ? 1 : 0,
    policies: Object.fromEntries(
      Object.entries(options.policies).map(([name, p]) => [
        name,
        { permissions: p.permissions.map(permission), principals: p.principals.map(principal) },
      ]),
    ),
  };
  return httpFilter(WellKnownName.Rbac, RBAC, options.shadow ? { shadowRules: rules } : { rules });
}

/** A JWT provider. */
export interface JwtProviderOptions {
  /** Expected `iss`. Default: not checked. */
  readonly issuer?: string;
  /** Accepted `aud` values. Default: not checked. */
  readonly audiences?: readonly string[];
  /** Fetch keys from a URL through a cluster; `timeout` default "1s", `cacheDuration` default Envoy's 5 minutes. */
  readonly remoteJwks?: {
    readonly uri: string;
    readonly cluster: string;
    readonly timeout?: DurationInput;
    readonly cacheDuration?: DurationInput;
  };
  /** Inline JWKS JSON. */
  readonly localJwks?: string;
  /** Keep the token in the forwarded request. Default false. */
  readonly forward?: boolean;
  /** Header carrying the verified payload (base64url). Default: none. */
  readonly forwardPayloadHeader?: string;
}

/** Which requests need which providers. */
export interface JwtRuleOptions {
  /** Path prefix the rule applies to. */
  readonly prefix: string;
  /** A provider name, any of several, all of several, or nothing (`undefined`: no JWT needed). */
  readonly requires?: string | { readonly anyOf: readonly string[] } | { readonly allOf: readonly string[] };
  /** Let requests without a token through (still verifying present ones). Default false. */
  readonly allowMissing?: boolean;
}

function requirement(rule: JwtRuleOptions): DeepPartial<JwtRequirement> | undefined {
  const r = rule.requires;
  let base: DeepPartial<JwtRequirement> | undefined;
  if (typeof r === "string") base = { providerName: r };
  else if (r && "anyOf" in r) base = { requiresAny: { requirements: r.anyOf.map((p) => ({ providerName: p })) } };
  else if (r && "allOf" in r) base = { requiresAll: { requirements: r.allOf.map((p) => ({ providerName: p })) } };
  if (rule.allowMissing) {
    return base ? { requiresAny: { requirements: [base, { allowMissing: {} }] } } : { allowMissing: {} };
  }
  return base;
}

/** JWT authentication. */
export interface JwtAuthnOptions {
  readonly providers: Readonly<Record<string, JwtProviderOptions>>;
  readonly rules: readonly JwtRuleOptions[];
}

/**
 * The JWT authentication filter.
 * @example jwtAuthnFilter({ providers: { auth0: { issuer: "https://acme.auth0.com/", remoteJwks: { uri: "https://acme.auth0.com/.well-known/jwks.json", cluster: "auth0" } } }, rules: [{ prefix: "/api", requires: "auth0" }] })
 */
export function jwtAuthnFilter(options: JwtAuthnOptions): HttpFilter {
  const providers = Object.fromEntries(
    Object.entries(options.providers).map(([name, p]) => {
      if ((p.remoteJwks === undefined) === (p.localJwks === undefined)) {
        throw builderError("jwtAuthnFilter", `providers.${name}`, "exactly one of remoteJwks or localJwks", p);
      }
      return [
        name,
        {
          issuer: p.issuer ?? "",
          audiences: [...(p.audiences ?? [])],
          forward: p.forward ?? false,
          forwardPayloadHeader: p.forwardPayloadHeader ?? "",
          ...(p.remoteJwks
            ? {
                remoteJwks: {
                  httpUri: {
                    uri: p.remoteJwks.uri,
                    cluster: p.remoteJwks.cluster,
                    timeout: duration(p.remoteJwks.timeout ?? "1s", "remoteJwks.timeout"),
                  },
                  ...(p.remoteJwks.cacheDuration
                    ? { cacheDuration: duration(p.remoteJwks.cacheDuration, "remoteJwks.cacheDuration") }
                    : {}),
                },
              }
            : { localJwks: { inlineString: p.localJwks as string } }),
        },
      ];
    }),
  );
  const rules = options.rules.map((rule) => {
    const requires = requirement(rule);
    return { match: { prefix: rule.prefix }, ...(requires ? { requires } : {}) };
  });
  return httpFilter(WellKnownName.JwtAuthn, JwtAuthentication, { providers, rules });
}

/** External authorization through a gRPC or HTTP service. */
export interface ExtAuthzOptions {
  /** The cluster of a gRPC authorization service (envoy.service.auth.v3.Authorization). */
  readonly grpcCluster?: string;
  /** An HTTP authorization service: base URI, its cluster, and a path prefix. */
  readonly http?: { readonly uri: string; readonly cluster: string; readonly pathPrefix?: string };
  /** Call timeout. Default "0.2s" (Envoy's default for HTTP services; gRPC has no deadline unless set). */
  readonly timeout?: DurationInput;
  /** Let requests through when the service fails. Default false. */
  readonly failureModeAllow?: boolean;
  /** Send the request body, up to this many bytes. Default: no body. */
  readonly maxRequestBytes?: number;
}

/**
 * The ext_authz filter.
 * @example extAuthzFilter({ grpcCluster: "authz" })
 */
export function extAuthzFilter(options: ExtAuthzOptions): HttpFilter {
  if ((options.grpcCluster === undefined) === (options.http === undefined)) {
    throw builderError("extAuthzFilter", "grpcCluster/http", "exactly one of grpcCluster or http", options);
  }
  const timeout = duration(options.timeout ?? "0.2s", "timeout");
  const service = options.grpcCluster
    ? { grpcService: { envoyGrpc: { clusterName: options.grpcCluster }, timeout } }
    : {
        httpService: {
          serverUri: { uri: options.http?.uri ?? "", cluster: options.http?.cluster ?? "", timeout },
          pathPrefix: options.http?.pathPrefix ?? "",
        },
      };
  return httpFilter(WellKnownName.ExtAuthz, ExtAuthz, {
    ...service,
    transportApiVersion: 2,
    failureModeAllow: options.failureModeAllow ?? false,
    ...(options.maxRequestBytes !== undefined
      ? { withRequestBody: { maxRequestBytes: options.maxRequestBytes, allowPartialMessage: true } }
      : {}),
  });
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
    ...(options.cacheTime ? { cacheTime: duration(options.cacheTime, "cacheTime") } : {}),
  });
}
