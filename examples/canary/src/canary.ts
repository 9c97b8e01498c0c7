// A canary rollout of the Greeter service to proxyless gRPC clients:
// greeter-v2 takes 5%, then 50%, then 100% of the traffic, and the control
// plane waits between steps until the client ACKed the new routes. Mobile
// clients (request header `x-platform: mobile`) go to v2 from the start.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { register as registerXds } from "@grpc/grpc-js-xds";
import { SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { apiListener, cluster, createSnapshotValidator, loadAssignment, route, routeConfiguration, virtualHost } from "@xdskit/resources";
import { XdsServer } from "@xdskit/server";

/** The default rollout: greeter-v2's share of the traffic at each step, in percent. */
export const CANARY_STEPS: readonly number[] = [5, 50, 100];

/** Where the two versions run (host:port each). */
export interface Backends {
  readonly v1: readonly string[];
  readonly v2: readonly string[];
}

/**
 * The config gRPC clients dialing `xds:///greeter` get, with `v2Percent` of
 * the traffic on greeter-v2 and mobile clients always on greeter-v2. Routes
 * are tried in order: the header route first, then the weighted split.
 */
export function canarySnapshot(version: string, v2Percent: number, backends: Backends) {
  return {
    version,
    resources: {
      [TypeUrl.Listener]: [apiListener({ name: "greeter", rds: { routeConfigName: "greeter" } })],
      [TypeUrl.RouteConfiguration]: [
        routeConfiguration({
          name: "greeter",
          virtualHosts: [
            virtualHost({
              name: "greeter",
              routes: [
                route({ match: { prefix: "", headers: [{ name: "x-platform", exact: "mobile" }] }, cluster: "greeter-v2" }),
                route({
                  match: { prefix: "" },
                  weightedClusters: [
                    { name: "greeter-v1", weight: 100 - v2Percent },
                    { name: "greeter-v2", weight: v2Percent },
                  ].filter((c) => c.weight > 0),
                }),
              ],
            }),
          ],
        }),
      ],
      [TypeUrl.Cluster]: [cluster({ name: "greeter-v1" }), cluster({ name: "greeter-v2" })],
      [TypeUrl.ClusterLoadAssignment]: [
        loadAssignment({ clusterName: "greeter-v1", endpoints: [...backends.v1] }),
        loadAssignment({ clusterName: "greeter-v2", endpoints: [...backends.v2] }),
      ],
    },
  };
}

/**
 * Runs the rollout for one node group: for each step, pushes a snapshot
 * versioned `canary-<step>` and waits until every connected node of the group
 * runs it (`xds.waitForAck`), then calls `afterStep` (measure, check error
 * rates, ask a human) before going on. A NACK or a timeout stops the rollout
 * with an error naming the node and its reason; so does a throw from
 * `afterStep`. Push a 0% snapshot to roll back.
 */
export async function rollout(options: {
  readonly cache: SnapshotCache;
  /** The xDS server (its `waitForAck` tells when the group runs a version). */
  readonly xds: XdsServer;
  readonly group: string;
  /** How long each step may take to reach every node. Default 10 s. */
  readonly timeoutMs?: number;
  readonly backends: Backends;
  readonly steps?: readonly number[];
  readonly afterStep?: (v2Percent: number) => Promise<void> | void;
}): Promise<void> {
  for (const [i, v2Percent] of (options.steps ?? CANARY_STEPS).entries()) {
    const version = `canary-${i + 1}`;
    options.cache.setSnapshot(options.group, canarySnapshot(version, v2Percent, options.backends));
    const result = await options.xds.waitForAck({ group: options.group, version, timeoutMs: options.timeoutMs ?? 10_000 });
    if (result.outcome === "nacked") {
      const [nack] = result.nacked;
      throw new Error(`canary: ${nack?.nodeId} rejected ${version} (${nack?.typeUrl}): ${nack?.message}`);
    }
    if (result.outcome === "timeout") throw new Error(`canary: ${version} not ACKed in time by ${result.pending.join(", ") || "any node"}`);
    await options.afterStep?.(v2Percent);
  }
}

/** Starts a SnapshotCache behind an xDS server on `port` (0: a free one). */
export async function startControlPlane(port = 18000) {
  const cache = new SnapshotCache({ validator: createSnapshotValidator() });
  const xds = new XdsServer({ cache });
  const grpcServer = new Server();
  xds.register(grpcServer, { services: ["ads"] });
  const bound = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    port: bound,
    cache,
    xds,
    close: async () => {
      await xds.shutdown({ deadlineMs: 1000 });
      grpcServer.forceShutdown();
      cache.dispose();
    },
  };
}

/**
 * Points this process's gRPC xDS clients at the control plane (gRFC A27
 * bootstrap, here from an environment variable) and registers the `xds:`
 * scheme. Call once, before the first `xds:///` channel.
 */
export function useControlPlane(port: number, nodeId: string): void {
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: "insecure" }], server_features: [] }],
    node: { id: nodeId, cluster: "frontend", locality: { zone: "local" } },
  });
  registerXds();
}
