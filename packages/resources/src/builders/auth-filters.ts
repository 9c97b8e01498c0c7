// HTTP filters that authenticate and authorize: RBAC, JWT authentication, external authorization.
import type { DeepPartial } from "@xdskit/envoy-api/core";
import type { Permission, Principal } from "@xdskit/envoy-api/envoy/config/rbac/v3/rbac";
import { ExtAuthz } from "@xdskit/envoy-api/envoy/extensions/filters/http/ext_authz/v3/ext_authz";
import { JwtAuthentication, type JwtRequirement } from "@xdskit/envoy-api/envoy/extensions/filters/http/jwt_authn/v3/config";
import { RBAC } from "@xdskit/envoy-api/envoy/extensions/filters/http/rbac/v3/rbac";
import type { HttpFilter } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { builderError, type DurationInput, duration, type HeaderMatch, headerMatcher, type StringMatch, stringMatcher } from "./common.js";
import { httpFilter } from "./http-filters.js";
import { WellKnownName } from "./well-known.js";

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
                  ...(p.remoteJwks.cacheDuration !== undefined
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
