// An Envoy sidecar's resources: one outbound listener (an HTTP proxy that
// routes by Host to every Service of the mesh), its routes, clusters and
// endpoints; and per port of its own Service an inbound listener with the
// Service's authorization (RBAC), rate limit and mTLS, in front of the app.
import { TypeUrl } from "@xdskit/envoy-api";
import type { FilterChain } from "@xdskit/envoy-api/envoy/config/listener/v3/listener_components";
import type { HttpFilter } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import {
  cluster,
  faultFilter,
  filterChain,
  httpConnectionManager,
  httpConnectionManagerFilter,
  httpListener,
  listener,
  localRateLimitFilter,
  type PermissionInput,
  type PrincipalInput,
  rbacFilter,
  route,
  routeConfiguration,
  spiffeValidationContextSecret,
  tlsCertificateSecret,
  virtualHost,
} from "@xdskit/resources";
import type { AuthorizationPolicy, Service, ServicePort } from "../model.js";
import { buildCluster, endpointsOf, mergedPolicy } from "./clusters.js";
import type { CompileContext } from "./context.js";
import { hostNames, type ModelIndex, nsOf } from "./model-index.js";
import { keyOf, type Planned, planUpstreams, routeDeps } from "./plan.js";
import { routesFor } from "./routes.js";

export const OUTBOUND = "outbound";

/** The SPIFFE id of a Service's workloads. */
export const identityOf = (index: ModelIndex, s: Service): string => index.spiffeId(nsOf(s), index.serviceAccount(s));

function principals(
  index: ModelIndex,
  policy: AuthorizationPolicy,
  from: NonNullable<AuthorizationPolicy["spec"]["rules"][number]["from"]>,
): PrincipalInput[] {
  if (from.length === 0) return ["any"];
  return from.map((f) => {
    if (f.serviceAccount?.startsWith("spiffe://")) return { authenticated: { exact: f.serviceAccount } };
    if (f.serviceAccount) {
      const [ns, sa] = f.serviceAccount.split("/") as [string, string];
      return { authenticated: { exact: index.spiffeId(ns, sa) } };
    }
    return { authenticated: { prefix: `spiffe://${index.trustDomain}/ns/${f.namespace ?? nsOf(policy)}/` } };
  });
}

function permissions(to: AuthorizationPolicy["spec"]["rules"][number]["to"]): PermissionInput[] {
  if (!to || to.length === 0) return ["any"];
  return to.map((t) => {
    const paths: PermissionInput[] = (t.paths ?? []).map((p) => ({ path: p.endsWith("*") ? { prefix: p.slice(0, -1) } : { exact: p } }));
    const methods: PermissionInput[] = (t.methods ?? []).map((m) => ({ header: { name: ":method", exact: m } }));
    const and = [
      ...(paths.length ? [{ orRules: { rules: paths.map(raw) } }] : []),
      ...(methods.length ? [{ orRules: { rules: methods.map(raw) } }] : []),
    ];
    return and.length === 0 ? "any" : { permission: { andRules: { rules: and } } };
  });
}

/** A PermissionInput as a raw Permission (for and/or rules). */
function raw(p: PermissionInput): object {
  if (p === "any") return { any: true };
  if ("path" in p)
    return { urlPath: { path: "prefix" in p.path ? { prefix: p.path.prefix } : { exact: (p.path as { exact: string }).exact } } };
  if ("header" in p) return { header: { name: p.header.name, stringMatch: { exact: (p.header as { exact: string }).exact } } };
  return (p as { permission: object }).permission;
}

/** RBAC filters from the Service's AuthorizationPolicies: DENY ones first, then ALLOW ones (a request must match one). */
export function authzFilters(index: ModelIndex, service: Service): HttpFilter[] {
  const policies = index.authzFor(service);
  const out: HttpFilter[] = [];
  for (const action of ["DENY", "ALLOW"] as const) {
    const mine = policies.filter((p) => (p.spec.action ?? "ALLOW") === action);
    if (mine.length === 0) continue;
    const rules: Record<string, { permissions: PermissionInput[]; principals: PrincipalInput[] }> = {};
    for (const p of mine) {
      p.spec.rules.forEach((rule, i) => {
        rules[`${nsOf(p)}/${p.metadata.name}[${i}]`] = {
          permissions: permissions(rule.to),
          principals: principals(index, p, rule.from ?? []),
        };
      });
    }
    const f = rbacFilter({ action, policies: rules });
    out.push({ ...f, name: `envoy.filters.http.rbac.${action.toLowerCase()}` });
  }
  return out;
}

function inboundListener(ctx: CompileContext, service: Service, port: ServicePort): unknown {
  const { index } = ctx;
  const limit = index.rateLimitsFor(service, port.port)[0]?.spec;
  const filters = [
    ...authzFilters(index, service),
    ...(limit
      ? [
          localRateLimitFilter({
            maxTokens: limit.maxTokens,
            tokensPerFill: limit.tokensPerFill ?? 1,
            fillInterval: limit.fillInterval ?? "1s",
            statPrefix: "inbound_rate_limit",
          }),
        ]
      : []),
  ];
  const name = `inbound|${port.port}`;
  const hcm = httpConnectionManagerFilter(
    httpConnectionManager({
      statPrefix: name,
      routeConfig: routeConfiguration({
        name,
        virtualHosts: [
          virtualHost({
            name: "inbound",
            domains: ["*"],
            routes: [route({ match: { prefix: "/" }, cluster: `${name}|local`, timeout: "0s" })],
          }),
        ],
      }),
      httpFilters: filters,
    }),
  );
  const mode = index.mtlsFor(service)?.spec.mode ?? "DISABLE";
  const tls = { certificateSecret: ctx.settings.certificateSecret, validationContextSecret: ctx.settings.trustBundleSecret };
  const chains: FilterChain[] =
    mode === "DISABLE"
      ? [filterChain({ filters: [hcm] })]
      : mode === "STRICT"
        ? [filterChain({ filters: [hcm], tls })]
        : [
            filterChain({ name: "mtls", filters: [hcm], tls, transportProtocol: "tls" }),
            filterChain({ name: "plaintext", filters: [hcm], transportProtocol: "raw_buffer" }),
          ];
  return listener({ name, address: ctx.settings.inboundAddress, port: port.port, filterChains: chains, trafficDirection: "INBOUND" });
}

/** Everything the sidecars of `service` receive. */
export function planSidecar(ctx: CompileContext, service: Service): Planned[] {
  // The outbound side is the same for every sidecar group: planned once per model and registry state.
  const out: Planned[] = [...ctx.shared("sidecar-outbound", () => planOutbound(ctx))];
  out.push(...planInbound(ctx, service));
  return out;
}

/** The outbound listener, its routes, and every Service's clusters and endpoints, as sidecars see them. */
function planOutbound(ctx: CompileContext): Planned[] {
  const { index, settings } = ctx;
  const out: Planned[] = [];
  const portsOf = [...index.services.values()].flatMap((s) => s.spec.ports.map((p) => ({ s, p })));
  out.push({
    typeUrl: TypeUrl.Listener,
    name: OUTBOUND,
    sources: [],
    params: `${settings.outboundAddress}:${settings.outboundPort}`,
    build: () =>
      httpListener({
        name: OUTBOUND,
        address: settings.outboundAddress,
        port: settings.outboundPort,
        statPrefix: OUTBOUND,
        rds: { routeConfigName: OUTBOUND },
        httpFilters: [faultFilter()],
        trafficDirection: "OUTBOUND",
      }),
  });
  out.push({
    typeUrl: TypeUrl.RouteConfiguration,
    name: OUTBOUND,
    sources: [...new Set(portsOf.flatMap(({ s, p }) => routeDeps(index, s, p)))].sort(),
    params: "",
    build: () => {
      const firstPort = new Set<Service>();
      const hosts = portsOf.map(({ s, p }) => {
        const names = hostNames(s);
        const bare = !firstPort.has(s);
        firstPort.add(s);
        return virtualHost({
          name: `${s.metadata.name}.${nsOf(s)}:${p.port}`,
          domains: [...names.map((n) => `${n}:${p.port}`), ...(bare ? names : [])],
          routes: routesFor(index, s, p, "envoy"),
        });
      });
      return routeConfiguration({ name: OUTBOUND, virtualHosts: hosts, validateClusters: false });
    },
  });
  out.push(
    ...planUpstreams(index, "envoy", {
      clusterParams: (s) => {
        const m = index.mtlsFor(s);
        return {
          params: `${settings.connectTimeout}|${settings.trustBundleSecret}|${settings.certificateSecret}|${index.trustDomain}`,
          deps: m ? [keyOf(m)] : [],
        };
      },
      cluster: (s, p, v, name) => {
        const mode = index.mtlsFor(s)?.spec.mode ?? "DISABLE";
        return buildCluster(name, p, mergedPolicy(index.trafficPoliciesFor(s, p.port, v)), "envoy", {
          connectTimeout: settings.connectTimeout,
          ...(mode !== "DISABLE"
            ? {
                tls: {
                  certificateSecret: settings.certificateSecret,
                  validationContextSecret: settings.trustBundleSecret,
                  peerSpiffeId: identityOf(index, s),
                },
              }
            : {}),
        });
      },
      endpoints: (s, p, v, name) => endpointsOf(ctx, s, p, v, name),
    }),
  );
  return out;
}

/** A sidecar's inbound side: listeners with RBAC, rate limit and mTLS, the local clusters, and its secrets. */
function planInbound(ctx: CompileContext, service: Service): Planned[] {
  const { index, settings } = ctx;
  const out: Planned[] = [];
  const mtls = index.mtlsFor(service);
  const inboundDeps = [keyOf(service), ...index.authzFor(service).map(keyOf), ...(mtls ? [keyOf(mtls)] : [])];
  for (const port of service.spec.ports) {
    const name = `inbound|${port.port}`;
    out.push({
      typeUrl: TypeUrl.Listener,
      name,
      sources: [...inboundDeps, ...index.rateLimitsFor(service, port.port).map(keyOf)],
      params: `${settings.inboundAddress}|${settings.trustBundleSecret}|${index.trustDomain}`,
      build: () => inboundListener(ctx, service, port),
    });
    out.push({
      typeUrl: TypeUrl.Cluster,
      name: `${name}|local`,
      sources: [keyOf(service)],
      params: `${settings.appAddress}|${settings.connectTimeout}`,
      build: () =>
        cluster({
          name: `${name}|local`,
          discovery: "static",
          endpoints: [{ address: settings.appAddress, port: port.targetPort ?? port.port }],
          connectTimeout: settings.connectTimeout,
          ...((port.protocol ?? "HTTP") === "GRPC" ? { http2: true } : {}),
        }),
    });
  }
  // Secrets, when the compiler was given certificates and mTLS is in force for this workload or a Service it calls.
  const needsTls = [...index.services.values()].some((s) => (index.mtlsFor(s)?.spec.mode ?? "DISABLE") !== "DISABLE");
  if (needsTls && settings.certificates) {
    const identity = { namespace: nsOf(service), serviceAccount: index.serviceAccount(service), spiffeId: identityOf(index, service) };
    const material = settings.certificates(identity);
    out.push({
      typeUrl: TypeUrl.Secret,
      name: settings.certificateSecret,
      sources: [keyOf(service)],
      params: JSON.stringify(material),
      build: () =>
        tlsCertificateSecret({
          name: settings.certificateSecret,
          certificateChain: material.certificateChain,
          privateKey: material.privateKey,
        }),
    });
    const bundle = settings.trustBundle;
    if (bundle) {
      out.push({
        typeUrl: TypeUrl.Secret,
        name: settings.trustBundleSecret,
        sources: [],
        params: `${index.trustDomain}|${JSON.stringify(bundle)}`,
        build: () => spiffeValidationContextSecret({ name: settings.trustBundleSecret, trustDomains: { [index.trustDomain]: bundle } }),
      });
    }
  }
  return out;
}
