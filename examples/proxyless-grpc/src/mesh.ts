// Proxyless gRPC: the control plane tells gRPC clients where each service
// runs, with no sidecar. A client dials `xds:///<service>`; its xDS client
// (@grpc/grpc-js-xds) asks the control plane for the listener of that name,
// follows it to routes, clusters and endpoints, and balances RPCs itself.
//
// Here the services and their instances come from a plain object (in real
// life: your service registry, Kubernetes, a database). Every change becomes a
// new snapshot, checked against the rules gRPC clients enforce before any
// client sees it.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { register as registerXds } from "@grpc/grpc-js-xds";
import { SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { apiListener, cluster, createSnapshotValidator, loadAssignment, route, routeConfiguration, virtualHost } from "@xdskit/resources";
import { XdsServer } from "@xdskit/server";

/** Services by name (what clients dial as `xds:///<name>`), each with its instances (`host:port`, IP literals). */
export type ServiceMap = Readonly<Record<string, readonly string[]>>;

/**
 * The xDS resources for every service: per service an API listener (what a
 * gRPC client looks up for `xds:///<name>`), its route configuration, an EDS
 * cluster and the cluster's endpoints. Retries on UNAVAILABLE move a failed
 * RPC to another instance.
 */
export function servicesSnapshot(version: string, services: ServiceMap) {
  const names = Object.keys(services).sort();
  return {
    version,
    resources: {
      [TypeUrl.Listener]: names.map((name) => apiListener({ name, rds: { routeConfigName: name } })),
      [TypeUrl.RouteConfiguration]: names.map((name) =>
        routeConfiguration({
          name,
          virtualHosts: [
            virtualHost({
              name,
              routes: [route({ match: { prefix: "" }, cluster: name, retry: { retryOn: ["unavailable"], numRetries: 2 } })],
            }),
          ],
        }),
      ),
      [TypeUrl.Cluster]: names.map((name) => cluster({ name })),
      [TypeUrl.ClusterLoadAssignment]: names.map((name) => loadAssignment({ clusterName: name, endpoints: [...services[name]!] })),
    },
  };
}

/**
 * A control plane for proxyless gRPC: one config for every client (they all
 * see every service), validated with the gRPC profile so that a change
 * gRPC clients would reject is refused here, with the reason, and the last
 * good config keeps serving.
 */
export async function startControlPlane(port = 18000) {
  const cache = new SnapshotCache({
    nodeGroup: () => "grpc-clients",
    validator: createSnapshotValidator({ profile: "grpc" }),
  });
  const xds = new XdsServer({ cache });
  const grpcServer = new Server();
  xds.register(grpcServer, { services: ["ads"] }); // gRPC clients speak SotW over ADS only
  const bound = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  let version = 0;
  return {
    port: bound,
    cache,
    /** Publishes the services (a new version each call); throws XdskitError if gRPC clients would reject them. */
    publish: (services: ServiceMap) => cache.setSnapshot("grpc-clients", servicesSnapshot(`v${++version}`, services)),
    close: async () => {
      await xds.shutdown({ deadlineMs: 1000 });
      grpcServer.forceShutdown();
      cache.dispose();
    },
  };
}

/**
 * Points this process's gRPC xDS clients at the control plane: the gRFC A27
 * bootstrap (JSON) in GRPC_XDS_BOOTSTRAP_CONFIG, or a file named by
 * GRPC_XDS_BOOTSTRAP in production. Call once, before the first `xds:///` channel.
 */
export function useControlPlane(port: number, nodeId: string): void {
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: "insecure" }], server_features: [] }],
    node: { id: nodeId, cluster: "clients", locality: { zone: "local" } },
  });
  registerXds();
}
