// The whole control plane in one file: resources made with the builders, a
// SnapshotCache that validates them, and an xDS server on ADS that logs what
// every proxy ACKs and NACKs.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { cluster, createSnapshotValidator, httpListener, loadAssignment, route, routeConfiguration, virtualHost } from "@xdskit/resources";
import { XdsServer } from "@xdskit/server";

/** Options of {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /** Port of the xDS server; 0 picks a free one. Default 18000. */
  readonly port?: number;
  /** Where the `web` cluster's traffic goes. Default ["127.0.0.1:8080"]. */
  readonly backends?: readonly string[];
  /** Where log lines go. Default console.log. */
  readonly log?: (line: string) => void;
}

/**
 * What every proxy gets: a listener on :10000 whose routes (by RDS) send
 * everything to the `web` cluster, and that cluster's endpoints (by EDS).
 * `version` is any string that changes when the content does.
 */
export function webSnapshot(version: string, backends: readonly string[]) {
  return {
    version,
    resources: {
      [TypeUrl.Listener]: [httpListener({ name: "http", port: 10000, rds: { routeConfigName: "web" } })],
      [TypeUrl.RouteConfiguration]: [
        routeConfiguration({
          name: "web",
          virtualHosts: [virtualHost({ name: "all", routes: [route({ match: { prefix: "/" }, cluster: "web", timeout: "5s" })] })],
        }),
      ],
      [TypeUrl.Cluster]: [cluster({ name: "web", connectTimeout: 1000 })],
      [TypeUrl.ClusterLoadAssignment]: [loadAssignment({ clusterName: "web", endpoints: [...backends] })],
    },
  };
}

/** Starts the control plane; resolves once the port is bound. */
export async function startControlPlane(options: ControlPlaneOptions = {}) {
  const log = options.log ?? console.log;

  // One snapshot for every proxy ("everyone"); invalid snapshots are refused
  // with an XdskitError that names the resource and the field.
  const cache = new SnapshotCache({ nodeGroup: () => "everyone", validator: createSnapshotValidator() });
  cache.setSnapshot("everyone", webSnapshot("1", options.backends ?? ["127.0.0.1:8080"]));

  const xds = new XdsServer({
    cache,
    callbacks: {
      onAck: ({ context, version }) => log(`ACK  ${context.node.id} ${context.typeUrl} ${version}`),
      onNack: ({ context, rejectedVersion, error }) =>
        log(`NACK ${context.node.id} ${context.typeUrl} ${rejectedVersion}: ${error.message}`),
    },
  });
  const grpcServer = new Server();
  xds.register(grpcServer, { services: ["ads"] });
  // Bind errors (port in use, no permission) reject here instead of being lost.
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(`0.0.0.0:${options.port ?? 18000}`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  log(`xDS server (ADS) listening on port ${port}`);

  return {
    port,
    cache,
    /** Replaces every proxy's config; connected proxies get what changed. */
    update: (version: string, backends: readonly string[]) => cache.setSnapshot("everyone", webSnapshot(version, backends)),
    /** Ends the streams (proxies keep their config), then the server. */
    close: async () => {
      await xds.shutdown({ deadlineMs: 2000 });
      grpcServer.forceShutdown();
      cache.dispose();
    },
  };
}
