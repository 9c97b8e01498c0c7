// mTLS with certificates served by SDS and rotated without restarting
// anything. Envoy terminates mutual TLS on :10443 with the certificate
// `server-cert` and trusts clients signed by `client-ca`; both come from the
// control plane over SDS. When the files in the certificate directory change,
// only the secrets are pushed again: the listener is untouched, so Envoy keeps
// its connections and uses the new certificate for new handshakes.
import { watch } from "node:fs";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import {
  cluster,
  createSnapshotValidator,
  filterChain,
  httpConnectionManager,
  httpConnectionManagerFilter,
  listener,
  loadAssignment,
  route,
  routeConfiguration,
  virtualHost,
} from "@xdskit/resources";
import { XdsServer } from "@xdskit/server";
import { loadCertificates, SecretName } from "./certificates.js";

const GROUP = "edge";

/** The listener and cluster: they name the secrets, and never change on rotation. */
export function edgeResources(backend: string) {
  return {
    [TypeUrl.Listener]: [
      listener({
        name: "https",
        port: 10443,
        filterChains: [
          filterChain({
            filters: [
              httpConnectionManagerFilter(
                httpConnectionManager({
                  routeConfig: routeConfiguration({
                    name: "local",
                    virtualHosts: [virtualHost({ name: "web", routes: [route({ match: { prefix: "/" }, cluster: "web" })] })],
                  }),
                }),
              ),
            ],
            tls: {
              certificateSecret: SecretName.serverCertificate,
              validationContextSecret: SecretName.clientCa,
              requireClientCertificate: true,
            },
          }),
        ],
      }),
    ],
    [TypeUrl.Cluster]: [cluster({ name: "web" })],
    [TypeUrl.ClusterLoadAssignment]: [loadAssignment({ clusterName: "web", endpoints: [backend] })],
  };
}

/** Options of {@link startControlPlane}. */
export interface MtlsControlPlaneOptions {
  /** Directory holding server.pem, server-key.pem and ca.pem. Required. */
  readonly certDir: string;
  /** Where plain traffic goes after TLS. Default "127.0.0.1:8080". */
  readonly backend?: string;
  /** xDS port; 0 picks a free one. Default 18000. */
  readonly port?: number;
  readonly log?: (line: string) => void;
}

export async function startControlPlane(options: MtlsControlPlaneOptions) {
  const log = options.log ?? console.log;
  const cache = new SnapshotCache({ nodeGroup: () => GROUP, validator: createSnapshotValidator() });
  const first = await loadCertificates(options.certDir);
  cache.setSnapshot(GROUP, {
    version: `cert-${first.serial}`,
    resources: { ...edgeResources(options.backend ?? "127.0.0.1:8080"), [TypeUrl.Secret]: first.secrets },
  });
  log(`serving certificate ${first.serial} (valid to ${first.validTo})`);

  // Rotation: re-read the directory after changes settle, push the secrets only.
  const rotate = async () => {
    try {
      const loaded = await loadCertificates(options.certDir);
      const change = cache.updateResources(GROUP, { version: `cert-${loaded.serial}`, upsert: { [TypeUrl.Secret]: loaded.secrets } });
      if (change.changedTypes.length > 0) log(`rotated to certificate ${loaded.serial} (valid to ${loaded.validTo})`);
    } catch (error) {
      log(`keeping the current certificate: ${(error as Error).message}`);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(options.certDir, () => {
    clearTimeout(timer);
    timer = setTimeout(() => void rotate(), 100);
  });

  const xds = new XdsServer({
    cache,
    callbacks: {
      onNack: ({ context, rejectedVersion, error }) =>
        log(`NACK ${context.node.id} ${context.typeUrl} ${rejectedVersion}: ${error.message}`),
    },
  });
  const grpcServer = new Server();
  xds.register(grpcServer, { services: ["ads"] });
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(`0.0.0.0:${options.port ?? 18000}`, ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  log(`xDS server (ADS, with SDS) listening on port ${port}`);
  return {
    port,
    cache,
    /** Re-reads the certificates now (the watcher does this on its own). */
    rotate,
    close: async () => {
      watcher.close();
      clearTimeout(timer);
      await xds.shutdown({ deadlineMs: 2000 });
      grpcServer.forceShutdown();
      cache.dispose();
    },
  };
}
