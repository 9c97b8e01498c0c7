// Incremental endpoint updates: endpoints live in a LinearCache, which
// changes one resource at a time. A registry event rewrites the endpoints of
// its service only, and only the proxies subscribed to that service's
// endpoints get a response (with delta xDS: that one resource). Clusters and
// listeners, which change rarely, stay in a SnapshotCache; a MuxCache serves
// both behind one xDS server.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { LinearCache, MuxCache, SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { cluster, loadAssignment } from "@xdskit/resources";
import { XdsServer } from "@xdskit/server";
import type { ServiceRegistry } from "./registry.js";

/**
 * Keeps `endpoints` equal to what `registry` says for `services`. Events that
 * arrive together (same tick) are applied as one batch, so a burst of changes
 * becomes one update per service. Returns a function that stops following.
 */
export function followRegistry(registry: ServiceRegistry, endpoints: LinearCache, services: readonly string[]): () => void {
  const assignment = (service: string) => loadAssignment({ clusterName: service, endpoints: registry.instances(service) });
  // Start from the registry's current state; this also marks the cache loaded.
  endpoints.replaceAll(services.map(assignment));

  const pending = new Set<string>();
  const stop = registry.onChange((event) => {
    if (!services.includes(event.service)) return;
    if (pending.size === 0) queueMicrotask(flush);
    pending.add(event.service);
  });
  function flush(): void {
    const changed = [...pending];
    pending.clear();
    endpoints.update({ upsert: changed.map(assignment) });
  }
  return stop;
}

/** A control plane for `services`: clusters from a snapshot, endpoints following `registry`. */
export async function startControlPlane(registry: ServiceRegistry, services: readonly string[], port = 18000) {
  const endpoints = new LinearCache({ typeUrl: TypeUrl.ClusterLoadAssignment });
  const rest = new SnapshotCache({ nodeGroup: () => "everyone" });
  rest.setSnapshot("everyone", { version: "1", resources: { [TypeUrl.Cluster]: services.map((name) => cluster({ name })) } });
  const cache = new MuxCache({ caches: { [TypeUrl.ClusterLoadAssignment]: endpoints }, fallback: rest });
  const stop = followRegistry(registry, endpoints, services);

  const xds = new XdsServer({ cache });
  const grpcServer = new Server();
  xds.register(grpcServer);
  const bound = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    port: bound,
    endpoints,
    close: async () => {
      stop();
      await xds.shutdown({ deadlineMs: 1000 });
      grpcServer.forceShutdown();
      endpoints.dispose();
      rest.dispose();
    },
  };
}
