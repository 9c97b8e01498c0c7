// A proxyless gRPC client's resources (gRFC A27 and later): per Service port
// an api_listener named `<name>.<namespace>:<port>` (the client dials
// `xds:///<name>.<namespace>:<port>`) whose routes come by RDS, EDS clusters
// over ADS and their endpoints. Only what gRPC implements is generated.
import { TypeUrl } from "@xdskit/envoy-api";
import { apiListener, faultFilter, routeConfiguration, virtualHost } from "@xdskit/resources";
import type { Service, ServicePort } from "../model.js";
import { buildCluster, buildEndpoints, mergedPolicy } from "./clusters.js";
import type { CompileContext } from "./context.js";
import { nsOf } from "./model-index.js";
import { type Planned, planUpstreams, routeDeps } from "./plan.js";
import { routesFor } from "./routes.js";

/** The target a gRPC client dials for a Service port, without the `xds:///` scheme. */
export const grpcTarget = (s: Service, p: ServicePort): string => `${s.metadata.name}.${nsOf(s)}:${p.port}`;

/** Everything the proxyless gRPC clients of a node group receive (the same for every calling Service). */
export function planProxyless(ctx: CompileContext): Planned[] {
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
            virtualHosts: [virtualHost({ name, domains: ["*"], routes: routesFor(index, s, p, "grpc", new Set()) })],
          }),
      });
    }
  }
  out.push(
    ...planUpstreams(index, "grpc", {
      clusterParams: () => ({ params: settings.connectTimeout, deps: [] }),
      cluster: (s, p, v, name) =>
        buildCluster(name, p, mergedPolicy(index.trafficPoliciesFor(s, p.port, v)), "grpc", { connectTimeout: settings.connectTimeout }),
      endpoints: (s, p, v, name) =>
        buildEndpoints(
          name,
          s,
          p,
          v,
          ctx.instances(s),
          mergedPolicy(index.trafficPoliciesFor(s, p.port, v)).loadBalancer?.localityFailover,
        ),
    }),
  );
  return out;
}
