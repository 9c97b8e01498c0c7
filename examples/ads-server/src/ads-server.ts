import { Server, ServerCredentials } from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { cluster, httpListener, loadAssignment, route, routeConfiguration, virtualHost } from "@xdskit/resources";
import { XdsServer } from "@xdskit/server";

// Every node gets the same snapshot: Envoy listens on :10000 and proxies to 127.0.0.1:8080.
const cache = new SnapshotCache({ nodeGroup: () => "everyone" });
cache.setSnapshot("everyone", {
  version: "1",
  resources: {
    [TypeUrl.Cluster]: [cluster({ name: "web" })],
    [TypeUrl.ClusterLoadAssignment]: [loadAssignment({ clusterName: "web", localities: [{ endpoints: ["127.0.0.1:8080"] }] })],
    [TypeUrl.Listener]: [httpListener({ name: "http", port: 10000, rds: { routeConfigName: "web" } })],
    [TypeUrl.RouteConfiguration]: [
      routeConfiguration({
        name: "web",
        virtualHosts: [virtualHost({ name: "all", routes: [route({ match: { prefix: "/" }, cluster: "web" })] })],
      }),
    ],
  },
});

const xds = new XdsServer({
  cache,
  callbacks: {
    onAck: ({ context, version }) => console.log(`ACK  ${context.node.id} ${context.typeUrl} ${version}`),
    onNack: ({ context, rejectedVersion, error }) =>
      console.log(`NACK ${context.node.id} ${context.typeUrl} ${rejectedVersion}: ${error.message}`),
  },
});

/** Serves ADS on `port` (0: any free port); resolves to the port and a close function. */
export async function startAdsServer(port: number) {
  const server = new Server();
  xds.register(server, { services: ["ads"] });
  const bound = await new Promise<number>((ok, fail) =>
    server.bindAsync(`0.0.0.0:${port}`, ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))),
  );
  return { port: bound, cache, close: () => xds.shutdown({ deadlineMs: 2000 }).then(() => server.forceShutdown()) };
}
