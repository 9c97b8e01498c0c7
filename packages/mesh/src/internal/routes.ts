// From HTTPRoute/GRPCRoute rules to Envoy routes, for one parent Service port.
// Proxyless gRPC gets only what gRPC implements: matches on path and headers,
// weighted clusters, retries on gRPC statuses, max stream duration, faults.
import { HeaderValueOption, HeaderValueOption_HeaderAppendAction } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { Route as EnvoyRoute } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import {
  duration,
  type HeaderMatch as EnvoyHeaderMatch,
  type FaultOptions,
  type MatchOptions,
  type RetryOptions,
  type RouteOptions,
  route,
} from "@xdskit/resources";
import type {
  BackendRef,
  FaultInjection,
  GRPCRouteMatch,
  HeaderMatch,
  HeaderModifier,
  HTTPRouteMatch,
  RouteFilter,
  Service,
  ServicePort,
} from "../model.js";
import type { Profile } from "./clusters.js";
import { clusterName, type ModelIndex, nsOf, type Route } from "./model-index.js";

function headers(list: readonly HeaderMatch[] | undefined): EnvoyHeaderMatch[] {
  return (list ?? []).map((h) => (h.type === "RegularExpression" ? { name: h.name, regex: h.value } : { name: h.name, exact: h.value }));
}

function httpMatch(m: HTTPRouteMatch): MatchOptions {
  const p = m.path ?? { type: "PathPrefix", value: "/" };
  const path = p.type === "Exact" ? { path: p.value } : p.type === "RegularExpression" ? { regex: p.value } : { prefix: p.value };
  return {
    ...path,
    headers: [...headers(m.headers), ...(m.method ? [{ name: ":method", exact: m.method }] : [])],
    queryParameters: (m.queryParams ?? []).map((q) =>
      q.type === "RegularExpression" ? { name: q.name, regex: q.value } : { name: q.name, exact: q.value },
    ),
  };
}

function grpcMatch(m: GRPCRouteMatch): MatchOptions {
  const s = m.method?.service;
  const method = m.method?.method;
  const path = s && method ? { path: `/${s}/${method}` } : s ? { prefix: `/${s}/` } : { prefix: "/" };
  return { ...path, headers: headers(m.headers) };
}

/** The fault of a route: the route's own FaultInjection, else its parent Service's. */
export function faultOf(faults: readonly FaultInjection[]): FaultOptions | undefined {
  const f = faults[0]?.spec;
  if (!f) return undefined;
  return {
    ...(f.delay ? { delay: { fixed: f.delay.fixedDelay, percent: f.delay.percent } } : {}),
    ...(f.abort
      ? {
          abort: {
            ...(f.abort.httpStatus !== undefined ? { httpStatus: f.abort.httpStatus } : { grpcStatus: f.abort.grpcStatus as number }),
            percent: f.abort.percent,
          },
        }
      : {}),
  };
}

function modifier(
  m: HeaderModifier | undefined,
): { add: Record<string, string>; set: Record<string, string>; remove: string[] } | undefined {
  if (!m) return undefined;
  const add: Record<string, string> = {};
  const set: Record<string, string> = {};
  for (const h of m.add ?? []) add[h.name] = h.value;
  for (const h of m.set ?? []) set[h.name] = h.value;
  return { add, set, remove: [...(m.remove ?? [])] };
}

/** Gateway API `set`: replace the header, or add it when missing (Envoy's OVERWRITE_IF_EXISTS_OR_ADD). */
function overwrite(headers: Record<string, string>): HeaderValueOption[] {
  return Object.entries(headers).map(([key, value]) =>
    HeaderValueOption.fromPartial({
      header: { key, value },
      appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
    }),
  );
}

function retryOf(
  rule: { readonly retry?: { attempts: number; codes?: readonly number[]; grpcStatuses?: readonly string[]; backoff?: string } },
  perTry: string | undefined,
  profile: Profile,
): RetryOptions | undefined {
  const r = rule.retry;
  if (profile === "grpc") {
    if (!r || r.attempts < 1) return undefined;
    return {
      retryOn: [...(r.grpcStatuses ?? ["unavailable"])],
      numRetries: r.attempts,
      ...(r.backoff ? { backOff: { base: r.backoff } } : {}),
    };
  }
  if (!r && !perTry) return undefined;
  const on = r ? ["connect-failure", "reset", ...(r.codes?.length ? ["retriable-status-codes"] : ["5xx"]), ...(r.grpcStatuses ?? [])] : [];
  return {
    ...(on.length ? { retryOn: on } : {}),
    numRetries: r?.attempts ?? 0,
    ...(r?.codes?.length ? { retriableStatusCodes: r.codes } : {}),
    ...(r?.backoff ? { backOff: { base: r.backoff } } : {}),
    ...(perTry ? { perTryTimeout: perTry } : {}),
  };
}

/** The cluster of a backendRef, resolved against its Service (its port defaults to the parent's, or the backend's only port). */
export function backendCluster(
  index: ModelIndex,
  from: Route,
  ref: BackendRef,
  parentPort: number,
): { service: Service; port: number; name: string } | undefined {
  const service = index.service(ref.name, ref.namespace ?? nsOf(from));
  if (!service) return undefined;
  const port =
    ref.port ?? (service.spec.ports.some((p) => p.port === parentPort) ? parentPort : (service.spec.ports[0]?.port ?? parentPort));
  return { service, port, name: clusterName(service, port, ref.version ?? "") };
}

/** The Envoy routes of one Service port: every rule of every route attached to it, or one default route. */
export function routesFor(index: ModelIndex, service: Service, port: ServicePort, profile: Profile): EnvoyRoute[] {
  const attached = index.routesFor(service, port);
  const serviceFault = index.faultsForService(service, port.port);
  const hash = hashHeaderOf(index, service, port.port);
  if (attached.length === 0) {
    const fault = faultOf(serviceFault);
    return [
      route({
        match: { prefix: "/" },
        cluster: clusterName(service, port.port),
        ...(fault ? { fault } : {}),
        ...(hash ? { hashPolicy: [{ header: hash }] } : {}),
      }),
    ];
  }
  const out: EnvoyRoute[] = [];
  for (const r of attached) {
    const routeFaults = index.faultsForRoute(r);
    const fault = faultOf(routeFaults.length ? routeFaults : serviceFault);
    r.spec.rules.forEach((rule, i) => {
      const filters: readonly RouteFilter[] = rule.filters ?? [];
      const req = modifier(filters.find((f) => f.type === "RequestHeaderModifier")?.requestHeaderModifier);
      const res = modifier(filters.find((f) => f.type === "ResponseHeaderModifier")?.responseHeaderModifier);
      const redirect = filters.find((f) => f.type === "RequestRedirect")?.requestRedirect;
      const rewrite = filters.find((f) => f.type === "URLRewrite")?.urlRewrite;
      const mirrors = filters.filter((f) => f.type === "RequestMirror").map((f) => f.requestMirror);
      const targets = (rule.backendRefs ?? []).map((b) => ({ b, c: backendCluster(index, r, b, port.port) }));
      const retry = retryOf(rule, profile === "envoy" ? rule.timeouts?.backendRequest : undefined, profile);
      const common = {
        name: `${r.metadata.name}.${nsOf(r)}.${i}`,
        ...(req ? { requestHeadersToAdd: req.add, requestHeadersToRemove: req.remove } : {}),
        ...(res ? { responseHeadersToAdd: res.add, responseHeadersToRemove: res.remove } : {}),
        ...(fault ? { fault } : {}),
      };
      const action = {
        ...(rule.timeouts?.request && profile === "envoy" ? { timeout: rule.timeouts.request } : {}),
        ...(retry ? { retry } : {}),
        ...(hash ? { hashPolicy: [{ header: hash }] } : {}),
        ...(mirrors.length && profile === "envoy"
          ? {
              mirror: mirrors.flatMap((m) => {
                const c = m && backendCluster(index, r, m.backendRef, port.port);
                return c ? [{ cluster: c.name, ...(m.percent !== undefined ? { percent: m.percent } : {}) }] : [];
              }),
            }
          : {}),
        ...(rewrite?.hostname ? { hostRewrite: rewrite.hostname } : {}),
        ...(rewrite?.path?.type === "ReplacePrefixMatch" ? { prefixRewrite: rewrite.path.replacePrefixMatch ?? "/" } : {}),
        ...(rewrite?.path?.type === "ReplaceFullPath"
          ? { regexRewrite: { pattern: "^.*$", substitution: rewrite.path.replaceFullPath ?? "/" } }
          : {}),
      };
      // gRPC clients cannot follow redirects (gRFC A28 lists the route actions they take): such rules are left out for them.
      if (redirect && profile === "grpc") return;
      const weighted = targets.filter((t) => t.c).map((t) => ({ name: (t.c as { name: string }).name, weight: t.b.weight ?? 1 }));
      const matches: MatchOptions[] =
        r.kind === "GRPCRoute"
          ? (r.spec.rules[i]?.matches ?? [{}]).map(grpcMatch)
          : ((rule.matches as readonly HTTPRouteMatch[] | undefined) ?? [{}]).map(httpMatch);
      for (const match of matches.length ? matches : [{ prefix: "/" }]) {
        let options: RouteOptions;
        if (redirect && profile === "envoy") {
          options = {
            ...common,
            match,
            redirect: {
              ...(redirect.scheme === "https" ? { https: true } : {}),
              ...(redirect.hostname ? { host: redirect.hostname } : {}),
              ...(redirect.port ? { port: redirect.port } : {}),
              ...(redirect.path?.type === "ReplaceFullPath" ? { path: redirect.path.replaceFullPath ?? "/" } : {}),
              ...(redirect.path?.type === "ReplacePrefixMatch" ? { prefixRewrite: redirect.path.replacePrefixMatch ?? "/" } : {}),
              code: redirect.statusCode ?? 302,
            },
          };
        } else if (weighted.length === 1) {
          options = { ...common, ...action, match, cluster: (weighted[0] as { name: string }).name };
        } else {
          options = { ...common, ...action, match, weightedClusters: weighted };
        }
        const built = route(options);
        if (req) built.requestHeadersToAdd.push(...overwrite(req.set));
        if (res) built.responseHeadersToAdd.push(...overwrite(res.set));
        if (profile === "grpc" && rule.timeouts?.request && built.route) {
          built.route.maxStreamDuration = { maxStreamDuration: duration(rule.timeouts.request) };
        }
        out.push(built);
      }
    });
  }
  return out;
}

function hashHeaderOf(index: ModelIndex, service: Service, port: number): string | undefined {
  for (const p of index.trafficPoliciesFor(service, port, "")) {
    if (p.spec.loadBalancer?.hashHeader) {
      return p.spec.loadBalancer.hashHeader;
    }
  }
  return undefined;
}
