// gRPC xDS client rules for listeners (gRFC A27, A39, A36) and route
// configurations (A28, A31, A33, A41, A44): what grpc-js-xds and the other
// gRPC implementations NACK.

import type { Any } from "@xdskit/envoy-api/core";
import { typeNameOf } from "@xdskit/envoy-api/core";
import type { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import type { FilterChain } from "@xdskit/envoy-api/envoy/config/listener/v3/listener_components";
import type { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import type { HeaderMatcher, RetryPolicy, VirtualHost } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import { FilterConfig } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import { RBAC, RBACPerRoute } from "@xdskit/envoy-api/envoy/extensions/filters/http/rbac/v3/rbac";
import {
  HttpConnectionManager as HcmCodec,
  type HttpConnectionManager,
} from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { DownstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import { unpackIf } from "../any.js";
import { at, checkConfigSource, configTypeName, durationMs, type Out, report, UINT32_MAX } from "./common.js";

const ROUTER = "envoy.extensions.filters.http.router.v3.Router";
const HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

/** HTTP filters gRPC implements (A33 fault, A41 RBAC, A60 stateful session) and their per-route override types. */
const SUPPORTED_FILTERS = new Set([
  ROUTER,
  "envoy.extensions.filters.http.fault.v3.HTTPFault",
  "envoy.extensions.filters.http.rbac.v3.RBAC",
  "envoy.extensions.filters.http.stateful_session.v3.StatefulSession",
]);
const SUPPORTED_OVERRIDES = new Set([
  "envoy.extensions.filters.http.fault.v3.HTTPFault",
  "envoy.extensions.filters.http.rbac.v3.RBACPerRoute",
  "envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute",
]);

/** A41: gRPC cannot evaluate CEL conditions in RBAC policies. */
function checkRbacPolicies(out: Out, rbac: RBAC | undefined, path: string): void {
  for (const [key, rules] of [
    ["rules", rbac?.rules],
    ["shadow_rules", rbac?.shadowRules],
  ] as const) {
    for (const [name, policy] of Object.entries(rules?.policies ?? {})) {
      if (policy.condition || policy.checkedCondition) {
        report(out, `${at(path, key)}.policies[${name}]`, "rbac_condition", "uses a CEL condition, which gRPC does not support (gRFC A41)");
      }
    }
  }
}

function checkHcm(out: Out, hcm: HttpConnectionManager, path: string, server: boolean): void {
  const names = new Set<string>();
  const filters = hcm.httpFilters ?? [];
  if (filters.length === 0)
    report(out, at(path, "http_filters"), "router_last", "must end with the router filter (envoy.filters.http.router) (gRFC A39)");
  filters.forEach((filter, i) => {
    const p = at(path, `http_filters[${i}]`);
    if (names.has(filter.name)) report(out, at(p, "name"), "http_filter_duplicate", `repeats the filter name "${filter.name}" (gRFC A39)`);
    names.add(filter.name);
    if (filter.configDiscovery) {
      report(out, at(p, "config_discovery"), "http_filter_ecds", "is not supported by gRPC clients (no ECDS): use typed_config");
      return;
    }
    const type = configTypeName(filter.typedConfig);
    if (type === undefined) {
      report(out, at(p, "typed_config"), "http_filter_config", "must be set: gRPC needs each filter's typed_config (gRFC A39)");
      return;
    }
    if (!SUPPORTED_FILTERS.has(type) && !filter.isOptional) {
      report(
        out,
        at(p, "typed_config"),
        "http_filter_unsupported",
        `holds ${type}, which gRPC clients do not implement: use router, fault, rbac or stateful_session, or set is_optional (gRFC A39)`,
      );
    }
    if (type === "envoy.extensions.filters.http.rbac.v3.RBAC")
      checkRbacPolicies(out, unpackIf(filter.typedConfig, RBAC), at(p, "typed_config"));
    const isLast = i === filters.length - 1;
    if (type === ROUTER && !isLast) report(out, p, "router_last", "is the router filter, which must be the last filter (gRFC A39)");
    if (type !== ROUTER && isLast) report(out, p, "router_last", "must be the router filter: gRPC requires the router last (gRFC A39)");
  });
  if (hcm.rds) {
    checkConfigSource(out, hcm.rds.configSource, at(path, "rds.config_source"), "route configurations");
  } else if (hcm.routeConfig) {
    checkRouteConfiguration(out, hcm.routeConfig, at(path, "route_config"), server);
  } else {
    report(out, path, "route_specifier", "must set rds or route_config: gRPC clients do not support scoped routes (gRFC A27)");
  }
}

/** A29: server-side TLS comes from certificate providers, not SDS; no SNI requirement, lenient OCSP. */
function checkServerTls(out: Out, chain: FilterChain, path: string): void {
  const any = chain.transportSocket?.typedConfig;
  if (!any) return;
  const p = at(path, "transport_socket.typed_config");
  const tls = unpackIf(any, DownstreamTlsContext);
  if (!tls) {
    report(out, p, "transport_socket", `holds ${typeNameOf(any.typeUrl)}: gRPC servers support only DownstreamTlsContext (gRFC A29)`);
    return;
  }
  const common = tls.commonTlsContext;
  if (
    (common?.tlsCertificateSdsSecretConfigs ?? []).length > 0 ||
    common?.validationContextSdsSecretConfig ||
    common?.combinedValidationContext?.validationContextSdsSecretConfig
  ) {
    report(
      out,
      at(p, "common_tls_context"),
      "tls_sds",
      "uses SDS, which gRPC servers do not support: use certificate provider instances (gRFC A29)",
    );
  }
  if ((common?.tlsCertificates ?? []).length > 0) {
    report(
      out,
      at(p, "common_tls_context.tls_certificates"),
      "tls_certificates",
      "is not supported by gRPC servers: use tls_certificate_provider_instance (gRFC A29)",
    );
  }
  if (tls.requireSni) report(out, at(p, "require_sni"), "require_sni", "must be false for gRPC servers (gRFC A29)");
  if ((tls.ocspStaplePolicy ?? 0) !== 0)
    report(out, at(p, "ocsp_staple_policy"), "ocsp_staple_policy", "must be LENIENT_STAPLING for gRPC servers (gRFC A29)");
}

/** Client listeners carry an HttpConnectionManager in api_listener (A27); server listeners (A36) have filter chains of one HCM each. */
export function checkListener(out: Out, listener: Listener): void {
  const api = listener.apiListener?.apiListener;
  if (api) {
    const hcm = typeNameOf(api.typeUrl) === HCM ? unpackIf(api, HcmCodec) : undefined;
    if (!hcm) report(out, "api_listener.api_listener", "api_listener", `must hold an ${HCM} (gRFC A27)`);
    else checkHcm(out, hcm, "api_listener.api_listener", false);
    return;
  }
  if (!listener.address) {
    report(
      out,
      "api_listener",
      "api_listener",
      "must be set on client listeners (gRFC A27); server listeners need address and filter_chains (gRFC A36)",
    );
    return;
  }
  const chains: [FilterChain, string][] = (listener.filterChains ?? []).map((c, i) => [c, `filter_chains[${i}]`]);
  if (listener.defaultFilterChain) chains.push([listener.defaultFilterChain, "default_filter_chain"]);
  for (const [chain, p] of chains) {
    const filters = chain.filters ?? [];
    const hcmIndex = filters.findIndex((f) => typeNameOf(f.typedConfig?.typeUrl ?? "") === HCM);
    if (filters.length !== 1 || hcmIndex !== 0) {
      report(out, at(p, "filters"), "server_filter_chain", "must hold exactly one filter, an HttpConnectionManager (gRFC A36)");
    }
    const hcm = unpackIf(filters[hcmIndex]?.typedConfig, HcmCodec);
    if (hcm) checkHcm(out, hcm, at(p, `filters[${hcmIndex}].typed_config`), true);
    checkServerTls(out, chain, p);
    if (chain.filterChainMatch?.destinationPort !== undefined) {
      report(out, at(p, "filter_chain_match.destination_port"), "server_filter_chain", "is not supported by gRPC servers (gRFC A36)");
    }
  }
}

const PATH_SPECIFIERS = ["prefix", "path", "safeRegex"] as const;
const UNSUPPORTED_PATHS: Readonly<Record<string, string>> = {
  connectMatcher: "connect_matcher",
  pathSeparatedPrefix: "path_separated_prefix",
  pathMatchPolicy: "path_match_policy",
};
const HEADER_SPECIFIERS = [
  "exactMatch",
  "safeRegexMatch",
  "rangeMatch",
  "presentMatch",
  "prefixMatch",
  "suffixMatch",
  "containsMatch",
  "stringMatch",
] as const;

function checkHeader(out: Out, header: HeaderMatcher, path: string): void {
  const set = HEADER_SPECIFIERS.filter((k) => (header as unknown as Record<string, unknown>)[k] !== undefined);
  if (set.length === 0) {
    report(
      out,
      path,
      "header_matcher",
      "must set one of exact_match, safe_regex_match, range_match, present_match, prefix_match, suffix_match, contains_match, string_match (gRFC A28)",
    );
  }
}

function checkRetry(out: Out, policy: RetryPolicy | undefined, path: string): void {
  if (!policy) return;
  if (policy.numRetries !== undefined && policy.numRetries < 1) {
    report(out, at(path, "num_retries"), "retry_policy", "must be >= 1 when set (gRFC A44)");
  }
  const backOff = policy.retryBackOff;
  if (backOff) {
    const base = durationMs(backOff.baseInterval);
    if (base === undefined)
      report(out, at(path, "retry_back_off.base_interval"), "retry_policy", "is required when retry_back_off is set (gRFC A44)");
    const max = durationMs(backOff.maxInterval);
    if (base !== undefined && max !== undefined && max < base) {
      report(out, at(path, "retry_back_off.max_interval"), "retry_policy", "must be >= base_interval (gRFC A44)");
    }
  }
}

function checkOverrides(out: Out, configs: Readonly<Record<string, Any>> | undefined, path: string): void {
  for (const [name, any] of Object.entries(configs ?? {})) {
    let inner: Any | undefined = any;
    let optional = false;
    const wrapper = unpackIf(any, FilterConfig);
    if (wrapper) {
      inner = wrapper.config;
      optional = wrapper.isOptional;
    }
    const type = configTypeName(inner);
    const perRoute = unpackIf(inner, RBACPerRoute);
    if (perRoute) checkRbacPolicies(out, perRoute.rbac, `${at(path, "typed_per_filter_config")}[${name}].rbac`);
    if (!optional && (type === undefined || !SUPPORTED_OVERRIDES.has(type))) {
      report(
        out,
        `${at(path, "typed_per_filter_config")}[${name}]`,
        "filter_override_unsupported",
        `holds ${type ?? "nothing"}, which gRPC clients cannot apply: use HTTPFault, RBACPerRoute or StatefulSessionPerRoute, or wrap it in a FilterConfig with is_optional (gRFC A39)`,
      );
    }
  }
}

function checkDomain(out: Out, domain: string, path: string): void {
  const first = domain.indexOf("*");
  if (first === -1) return;
  if (first !== domain.lastIndexOf("*") || (first !== 0 && first !== domain.length - 1)) {
    report(out, path, "domain", `"${domain}" may hold one * only, at its start or end (gRFC A28)`);
  }
}

function checkVirtualHost(out: Out, vh: VirtualHost, path: string, server: boolean): void {
  (vh.domains ?? []).forEach((d, i) => {
    checkDomain(out, d, at(path, `domains[${i}]`));
  });
  checkOverrides(out, vh.typedPerFilterConfig, path);
  checkRetry(out, vh.retryPolicy, at(path, "retry_policy"));
  (vh.routes ?? []).forEach((route, j) => {
    const p = at(path, `routes[${j}]`);
    const match = route.match;
    if (!match) {
      report(out, at(p, "match"), "route_match", "is required (gRFC A28)");
    } else {
      const unsupported = Object.keys(UNSUPPORTED_PATHS).find((k) => (match as unknown as Record<string, unknown>)[k] !== undefined);
      if (unsupported) {
        report(
          out,
          at(p, `match.${UNSUPPORTED_PATHS[unsupported]}`),
          "path_matcher",
          "is not supported: use prefix, path or safe_regex (gRFC A28)",
        );
      } else if (!PATH_SPECIFIERS.some((k) => match[k] !== undefined)) {
        report(out, at(p, "match"), "path_matcher", "must set prefix, path or safe_regex (gRFC A28)");
      }
      (match.headers ?? []).forEach((h, k) => {
        checkHeader(out, h, at(p, `match.headers[${k}]`));
      });
    }
    checkOverrides(out, route.typedPerFilterConfig, p);
    // A36: server-side routes may use non_forwarding_action; clients need a route action.
    if (server && route.nonForwardingAction) return;
    const action = route.route;
    if (!action) {
      const other = route.redirect
        ? "redirect"
        : route.directResponse
          ? "direct_response"
          : route.filterAction
            ? "filter_action"
            : "non_forwarding_action";
      report(out, at(p, other), "route_action", "is not supported by gRPC clients: use route (gRFC A28)");
      return;
    }
    const ap = at(p, "route");
    if (action.cluster === undefined && action.weightedClusters === undefined && action.clusterHeader === undefined) {
      report(out, ap, "route_action", "must set cluster, weighted_clusters or cluster_header (gRFC A28)");
    }
    if (action.weightedClusters) {
      let sum = 0;
      action.weightedClusters.clusters.forEach((w, k) => {
        sum += w.weight ?? 0;
        checkOverrides(out, w.typedPerFilterConfig, at(ap, `weighted_clusters.clusters[${k}]`));
      });
      if (sum === 0 || sum > UINT32_MAX) {
        report(
          out,
          at(ap, "weighted_clusters"),
          "weighted_clusters",
          `weights must sum to between 1 and ${UINT32_MAX}; they sum to ${sum} (gRFC A28)`,
        );
      }
    }
    checkRetry(out, action.retryPolicy, at(ap, "retry_policy"));
  });
}

function checkRouteConfiguration(out: Out, rc: RouteConfiguration, path: string, server: boolean): void {
  (rc.virtualHosts ?? []).forEach((vh, i) => {
    checkVirtualHost(out, vh, at(path, `virtual_hosts[${i}]`), server);
  });
  if (rc.vhds) report(out, at(path, "vhds"), "vhds", "is not supported by gRPC clients (gRFC A28)");
}

/** Route configurations as gRPC clients accept them (A28 and later). */
export function checkRoutes(out: Out, rc: RouteConfiguration): void {
  checkRouteConfiguration(out, rc, "", false);
}
