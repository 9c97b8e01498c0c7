// Fault injection, retries, timeouts and circuit breaking, configured by the
// control plane and enforced by the gRPC clients themselves (gRFCs A33, A44,
// A32; Envoy reads the same messages). Four services, one per feature:
//
//   faulty   - every RPC delayed 100 ms; 50% aborted with UNAVAILABLE
//   flaky    - the backend fails every other call; the route retries UNAVAILABLE twice
//   slow     - the backend takes 1 s; the route caps RPCs at 200 ms
//   guarded  - at most 2 RPCs in flight to the cluster; more fail at once
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import { register as registerXds } from "@grpc/grpc-js-xds";
import { SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import {
  apiListener,
  cluster,
  createSnapshotValidator,
  duration,
  faultFilter,
  loadAssignment,
  type RouteOptions,
  route,
  routeConfiguration,
  virtualHost,
} from "@xdskit/resources";
import { XdsServer } from "@xdskit/server";

/** Where each service's backend runs (`host:port`). */
export type Backends = Readonly<Record<"faulty" | "flaky" | "slow" | "guarded", string>>;

/** The knobs, as the example sets them. */
export const RESILIENCE = Object.freeze({
  faultDelayMs: 100,
  faultAbortPercent: 50,
  retries: 2,
  timeoutMs: 200,
  maxRequests: 2,
});

/** One service: API listener (with the fault filter), its route, an EDS cluster and its endpoint. */
function service(name: string, address: string, routeOptions: Omit<RouteOptions, "match" | "cluster">, maxRequests?: number) {
  const theRoute = route({ match: { prefix: "" }, cluster: name, ...routeOptions } as RouteOptions);
  return {
    // The fault filter must be in the connection manager for per-route faults
    // to apply; it does nothing on routes without a `fault`.
    listener: apiListener({ name, rds: { routeConfigName: name }, httpFilters: [faultFilter()] }),
    routes: routeConfiguration({ name, virtualHosts: [virtualHost({ name, routes: [theRoute] })] }),
    cluster: cluster({ name, ...(maxRequests !== undefined ? { circuitBreakers: { maxRequests } } : {}) }),
    endpoints: loadAssignment({ clusterName: name, endpoints: [address] }),
  };
}

/** The snapshot for the four services. */
export function resilienceSnapshot(version: string, backends: Backends) {
  const services = [
    service("faulty", backends.faulty, {
      fault: {
        delay: { fixed: RESILIENCE.faultDelayMs, percent: 100 },
        abort: { grpcStatus: status.UNAVAILABLE, percent: RESILIENCE.faultAbortPercent },
      },
    }),
    service("flaky", backends.flaky, {
      retry: { retryOn: ["unavailable"], numRetries: RESILIENCE.retries, backOff: { base: 10, max: 50 } },
    }),
    withMaxStreamDuration(service("slow", backends.slow, {}), RESILIENCE.timeoutMs),
    service("guarded", backends.guarded, {}, RESILIENCE.maxRequests),
  ];
  return {
    version,
    resources: {
      [TypeUrl.Listener]: services.map((s) => s.listener),
      [TypeUrl.RouteConfiguration]: services.map((s) => s.routes),
      [TypeUrl.Cluster]: services.map((s) => s.cluster),
      [TypeUrl.ClusterLoadAssignment]: services.map((s) => s.endpoints),
    },
  };
}

/**
 * gRPC clients take a route's timeout from `max_stream_duration` (gRFC A44),
 * not from `timeout` (which Envoy uses). The builders return plain messages,
 * so a field they have no option for is set directly.
 */
function withMaxStreamDuration<T extends ReturnType<typeof service>>(s: T, ms: number): T {
  const theRoute = s.routes.virtualHosts[0]!.routes[0]!;
  theRoute.route!.maxStreamDuration = {
    maxStreamDuration: duration(ms),
    grpcTimeoutHeaderMax: undefined,
    grpcTimeoutHeaderOffset: undefined,
  };
  return s;
}

/** A SnapshotCache (gRPC-profile validation) behind an xDS server on `port` (0: a free one). */
export async function startControlPlane(port = 18000) {
  const cache = new SnapshotCache({ nodeGroup: () => "clients", validator: createSnapshotValidator({ profile: "grpc" }) });
  const xds = new XdsServer({ cache });
  const grpcServer = new Server();
  xds.register(grpcServer, { services: ["ads"] });
  const bound = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    port: bound,
    cache,
    close: async () => {
      await xds.shutdown({ deadlineMs: 1000 });
      grpcServer.forceShutdown();
      cache.dispose();
    },
  };
}

/** Points this process's gRPC xDS clients at the control plane (gRFC A27 bootstrap). Call once. */
export function useControlPlane(port: number, nodeId: string): void {
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: "insecure" }], server_features: [] }],
    node: { id: nodeId, cluster: "clients", locality: { zone: "local" } },
  });
  registerXds();
}
