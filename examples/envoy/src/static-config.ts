// Serve an existing Envoy config over xDS: read the `static_resources` of a
// YAML file (Envoy's own format), turn them into a snapshot, and serve it
// again whenever the file changes. A file that does not parse or validate is
// reported and the last good config keeps serving.
import { watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { fromYaml, TypeUrl } from "@xdskit/envoy-api";
import { Bootstrap } from "@xdskit/envoy-api/envoy/config/bootstrap/v3/bootstrap";
import { createSnapshotValidator } from "@xdskit/resources";
import { XdsServer } from "@xdskit/server";

/**
 * The snapshot for an Envoy config file's `static_resources`: its listeners,
 * clusters and secrets, as they are. `version` names the content.
 * @throws XdskitError when the text is not a valid Bootstrap (the message names the field).
 */
export function snapshotFromEnvoyConfig(yaml: string, version: string) {
  const { staticResources } = fromYaml(Bootstrap, yaml);
  return {
    version,
    resources: {
      [TypeUrl.Listener]: staticResources?.listeners ?? [],
      [TypeUrl.Cluster]: staticResources?.clusters ?? [],
      [TypeUrl.Secret]: staticResources?.secrets ?? [],
    },
  };
}

/** Options of {@link serveEnvoyConfig}. */
export interface ServeEnvoyConfigOptions {
  /** The YAML file whose `static_resources` every proxy gets. Required. */
  readonly file: string;
  /** Port of the xDS server; 0 picks a free one. Default 18000. */
  readonly port?: number;
  /** Where log lines go. Default console.log. */
  readonly log?: (line: string) => void;
}

/** Serves `file` to every proxy over ADS, and reloads it when it changes. */
export async function serveEnvoyConfig(options: ServeEnvoyConfigOptions) {
  const log = options.log ?? console.log;
  const cache = new SnapshotCache({ nodeGroup: () => "everyone", validator: createSnapshotValidator() });
  let loads = 0;
  const load = async (): Promise<boolean> => {
    const version = `file-${++loads}`;
    try {
      cache.setSnapshot("everyone", snapshotFromEnvoyConfig(await readFile(options.file, "utf8"), version));
      log(`serving ${options.file} as version ${version}`);
      return true;
    } catch (error) {
      log(
        `not serving ${options.file} (still serving ${cache.getSnapshot("everyone")?.version ?? "nothing"}): ${(error as Error).message}`,
      );
      return false;
    }
  };
  await load();

  // Editors save in bursts (truncate, write, rename): reload once things settle.
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(options.file, () => {
    clearTimeout(timer);
    timer = setTimeout(() => void load(), 50);
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
    grpcServer.bindAsync(`0.0.0.0:${options.port ?? 18000}`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  log(`xDS server (ADS) listening on port ${port}`);
  return {
    port,
    cache,
    /** Reads the file again now; resolves false when it was refused. */
    reload: load,
    close: async () => {
      watcher.close();
      clearTimeout(timer);
      await xds.shutdown({ deadlineMs: 2000 });
      grpcServer.forceShutdown();
      cache.dispose();
    },
  };
}
