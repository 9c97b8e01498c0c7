// A proxyless gRPC client's resources (gRFC A27 and later): per Service port
// an api_listener named `<name>.<namespace>:<port>` (the client dials
// `xds:///<name>.<namespace>:<port>`) whose routes come by RDS, EDS clusters
// over ADS and their endpoints. Only what gRPC implements is generated.
import { TypeUrl } from "@xdskit/envoy-api";
import { Route } from "@xdskit/envoy-api/envoy/config/route/v3/route_components";
import {
  apiListener,
  faultFilter,
  filterChain,
  httpConnectionManager,
  httpConnectionManagerFilter,
  listener,
  routeConfiguration,
  virtualHost,
} from "@xdskit/resources";
import type { Service, ServicePort } from "../model.js";
import { buildCluster, endpointsOf, grpcDownstreamTls, mergedPolicy } from "./clusters.js";
import type { CompileContext } from "./context.js";
import { nsOf } from "./model-index.js";
import { instancesKey, keyOf, type Planned, planUpstreams, routeDeps } from "./plan.js";
import { routesFor } from "./routes.js";
import { authzFilters } from "./sidecar.js";

/**
 * The name template of xDS-enabled gRPC servers' listeners (gRFC A36): put it
 * in the servers' bootstrap as `server_listener_resource_name_template`.
 */
export const GRPC_SERVER_LISTENER_TEMPLATE = "grpc/server?xds.resource.listening_address=%s";

/** The listener of one gRPC server instance: every call accepted (non-forwarding), guarded by the Service's RBAC. */
function serverListener(ctx: CompileContext, service: Service, name: string, address: string, port: number): unknown {
  const hcm = httpConnectionManager({
    statPrefix: "grpc_server",
    routeConfig: routeConfiguration({
      name: "inbound",
      virtualHosts: [
        virtualHost({ name: "inbound", domains: ["*"], routes: [Route.fromPartial({ match: { prefix: "/" }, nonForwardingAction: {} })] }),
      ],
    }),
    httpFilters: authzFilters(ctx.index, service),
  });
  const chain = filterChain({ filters: [httpConnectionManagerFilter(hcm)] });
  // gRPC servers cannot take both on one port by transport protocol: PERMISSIVE is served as STRICT (callers use mTLS anyway).
  if ((ctx.index.mtlsFor(service)?.spec.mode ?? "DISABLE") !== "DISABLE")
    chain.transportSocket = grpcDownstreamTls(ctx.settings.grpcCertificateProvider);
  return listener({ name, address, port, filterChains: [chain], trafficDirection: "INBOUND" });
}

/** The target a gRPC client dials for a Service port, without the `xds:///` scheme. */
export const grpcTarget = (s: Service, p: ServicePort): string => `${s.metadata.name}.${nsOf(s)}:${p.port}`;

/**
 * Everything the proxyless gRPC clients and servers of a Service receive: the
 * client side (the same for every Service) and, for each instance of the
 * Service, its xDS-enabled server's listener with the Service's authorization.
 */
export function planProxyless(ctx: CompileContext, own: Service): Planned[] {
  // The client side is the same for every gRPC group: planned once per model and registry state.
  const out: Planned[] = [...ctx.shared("grpc-clients", () => planClients(ctx))];
  const { index, settings } = ctx;
  const ownMtls = index.mtlsFor(own);
  const authz = [keyOf(own), instancesKey(own), ...index.authzFor(own).map(keyOf), ...(ownMtls ? [keyOf(ownMtls)] : [])];
  for (const instance of ctx.instances(own)) {
    for (const p of own.spec.ports) {
      const port = instance.ports?.[String(p.port)] ?? instance.port ?? p.targetPort ?? p.port;
      const name = GRPC_SERVER_LISTENER_TEMPLATE.replace(
        "%s",
        `${instance.address.includes(":") ? `[${instance.address}]` : instance.address}:${port}`,
      );
      out.push({
        typeUrl: TypeUrl.Listener,
        name,
        sources: authz,
        params: settings.grpcCertificateProvider,
        build: () => serverListener(ctx, own, name, instance.address, port),
      });
    }
  }
  return out;
}

/** Client listeners, routes, clusters and endpoints of every Service port, as proxyless gRPC clients see them. */
function planClients(ctx: CompileContext): Planned[] {
  const { index, settings } = ctx;
  const out: Planned[] = [];
  for (const s of index.services.values()) {
    for (const p of s.spec.ports) {
      const name = grpcTarget(s, p);
      out.push({
        typeUrl: TypeUrl.Listener,
        name,
        sources: [],
        params: "",
        build: () => apiListener({ name, statPrefix: name, rds: { routeConfigName: name }, httpFilters: [faultFilter()] }),
      });
      out.push({
        typeUrl: TypeUrl.RouteConfiguration,
        name,
        sources: routeDeps(index, s, p),
        params: "",
        build: () =>
          routeConfiguration({
            name,
            virtualHosts: [virtualHost({ name, domains: ["*"], routes: routesFor(index, s, p, "grpc") })],
          }),
      });
    }
  }
  out.push(
    ...planUpstreams(index, "grpc", {
      clusterParams: (s) => {
        const m = index.mtlsFor(s);
        return { params: `${settings.connectTimeout}|${settings.grpcCertificateProvider}|${index.trustDomain}`, deps: m ? [keyOf(m)] : [] };
      },
      cluster: (s, p, v, name) =>
        buildCluster(name, p, mergedPolicy(index.trafficPoliciesFor(s, p.port, v)), "grpc", {
          connectTimeout: settings.connectTimeout,
          ...((index.mtlsFor(s)?.spec.mode ?? "DISABLE") !== "DISABLE"
            ? {
                tls: {
                  certificateSecret: "",
                  validationContextSecret: "",
                  peerSpiffeId: index.spiffeId(nsOf(s), index.serviceAccount(s)),
                  certificateProvider: settings.grpcCertificateProvider,
                },
              }
            : {}),
        }),
      endpoints: (s, p, v, name) => endpointsOf(ctx, s, p, v, name),
    }),
  );
  return out;
}
