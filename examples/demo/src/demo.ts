// The xdskit tour. A control plane (SnapshotCache + XdsServer) steers a real
// proxyless gRPC client (@grpc/grpc-js-xds) between two real backends:
//   1. the first config reaches the client, and the node status shows its ACKs;
//   2. a 90/10 canary, measured over real RPCs;
//   3. a broken update is refused before it is pushed, and nothing changes;
//   4. an update the client rejects: the NACK and its reason are visible per
//      node, and traffic keeps flowing on the last good config.
import * as grpc from "@grpc/grpc-js";
import * as xds from "@grpc/grpc-js-xds";
import { type NodeStatus, SnapshotCache } from "@xdskit/cache";
import { TypeUrl, XdskitError } from "@xdskit/envoy-api";
import {
  apiListener,
  cluster,
  createSnapshotValidator,
  formatViolation,
  loadAssignment,
  route,
  routeConfiguration,
  type Violation,
  validateSnapshot,
  virtualHost,
} from "@xdskit/resources";
import { XdsServer } from "@xdskit/server";
import { greeterClient, startBackend } from "./greeter.js";

/** What the tour measured, for its test. */
export interface DemoResult {
  readonly firstRound: Record<string, number>;
  readonly canaryRound: Record<string, number>;
  readonly refusedViolations: readonly string[];
  readonly nack?: { readonly version: string; readonly message: string };
  readonly afterNackRound: Record<string, number>;
}

const NODE = "frontend-1";

export async function runDemo(log: (line: string) => void = console.log): Promise<DemoResult> {
  // The control plane. The validator runs on every snapshot and refuses bad
  // ones, so a broken config never reaches a client.
  const cache = new SnapshotCache({ validator: createSnapshotValidator() });
  const server = new XdsServer({ cache });
  // Node status: what each client was sent, ACKed and NACKed, fed by the server.
  const status = server.status!;
  const grpcServer = new grpc.Server();
  server.register(grpcServer);
  const port = await new Promise<number>((ok, fail) =>
    grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))),
  );
  log(`control plane: xDS on 127.0.0.1:${port}`);

  const v1 = await startBackend("greeter-v1");
  const v2 = await startBackend("greeter-v2");
  log(`backends: greeter-v1 on :${v1.port}, greeter-v2 on :${v2.port}`);

  // What gRPC clients dialing xds:///greeter get: a listener, its routes, two EDS clusters.
  const snapshot = (version: string, weights: [number, number], clusterType: "eds" | "static" = "eds") => ({
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
                route({
                  match: { prefix: "" },
                  weightedClusters: [
                    { name: "greeter-v1", weight: weights[0] },
                    { name: "greeter-v2", weight: weights[1] },
                  ],
                }),
              ],
            }),
          ],
        }),
      ],
      [TypeUrl.Cluster]: [
        cluster({ name: "greeter-v1" }),
        clusterType === "eds"
          ? cluster({ name: "greeter-v2" })
          : cluster({ name: "greeter-v2", discovery: "static", endpoints: [`127.0.0.1:${v2.port}`] }),
      ],
      [TypeUrl.ClusterLoadAssignment]: [
        loadAssignment({ clusterName: "greeter-v1", endpoints: [`127.0.0.1:${v1.port}`] }),
        loadAssignment({ clusterName: "greeter-v2", endpoints: [`127.0.0.1:${v2.port}`] }),
      ],
    },
  });

  // The gRPC client learns where the control plane is from its bootstrap (gRFC A27).
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: "insecure" }], server_features: [] }],
    node: { id: NODE, cluster: "frontend", locality: { zone: "local" } },
  });
  xds.register();
  const client = greeterClient("xds:///greeter");
  const round = async (rpcs: number) => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < rpcs; i++) {
      const backend = await client.hello();
      counts[backend] = (counts[backend] ?? 0) + 1;
    }
    return counts;
  };
  /** Each version's share of the RPCs beside the share the routes asked for: "greeter-v1 181 (90.5%, target 90%)". */
  const show = (counts: Record<string, number>, targets: Record<string, number>) => {
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    return Object.entries(targets)
      .map(([backend, target]) => {
        const n = counts[backend] ?? 0;
        return `${backend} ${n} (${((100 * n) / total).toFixed(1)}%, target ${target}%)`;
      })
      .join(", ");
  };
  const ALL_ON_V1 = { "greeter-v1": 100, "greeter-v2": 0 };
  const CANARY = { "greeter-v1": 90, "greeter-v2": 10 };

  try {
    // 1. First config: everything to v1. gRPC clients NACK more than Envoy
    //    does, so check the snapshot against their rules before pushing it.
    const first = snapshot("1", [100, 0]);
    const grpcProblems = validateSnapshot(first.resources, { profile: "grpc" }).length;
    log(`\n1. push version 1 (100% to greeter-v1)`);
    log(`   checked first against the gRPC profile (what gRPC clients reject beyond Envoy's rules): ${grpcProblems} problems`);
    cache.setSnapshot(NODE, first);
    const firstRound = await round(20); // the client subscribes on its first RPC
    log(`   20 RPCs -> ${show(firstRound, ALL_ON_V1)}`);
    await rolledOut(server, "1");
    printStatus(log, status.nodeStatus(NODE));

    // 2. Canary: 90/10, measured over 200 real RPCs.
    cache.setSnapshot(NODE, snapshot("2", [90, 10]));
    await rolledOut(server, "2");
    const canaryRound = await round(200);
    log(`\n2. push version 2 (90/10 canary); 200 RPCs -> ${show(canaryRound, CANARY)}`);

    // 3. A broken update (a port out of range) is refused before it is pushed.
    const broken = snapshot("3", [90, 10]);
    broken.resources[TypeUrl.ClusterLoadAssignment][1] = loadAssignment({ clusterName: "greeter-v2", endpoints: ["127.0.0.1:70000"] });
    let refusedViolations: string[] = [];
    try {
      cache.setSnapshot(NODE, broken);
    } catch (error) {
      if (!XdskitError.is(error)) throw error;
      // The validator's violations name the resource and the field: "endpoints[greeter-v2].endpoints[0]...".
      refusedViolations = ((error as XdskitError & { violations?: Violation[] }).violations ?? []).map(formatViolation);
      log(`\n3. version 3 refused before push (${error.code}):`);
      for (const v of refusedViolations) log(`   - ${v}`);
      log(`   still serving version ${cache.getSnapshot(NODE)?.version}`);
    }

    // 4. A config Envoy would take but gRPC clients reject (a STATIC cluster).
    //    We skip the gRPC-profile check on purpose to show what a NACK looks like.
    cache.setSnapshot(NODE, snapshot("4", [90, 10], "static"));
    const rollout = await server.waitForAck({ node: NODE, version: "4", timeoutMs: 10_000 });
    const nack = rollout.nacked[0];
    if (rollout.outcome !== "nacked" || nack === undefined) throw new Error(`demo: expected a NACK of version 4, got ${rollout.outcome}`);
    log(`\n4. push version 4 with greeter-v2 as a STATIC cluster: waitForAck says "${rollout.outcome}"`);
    log(`   ${nack.nodeId} rejected ${nack.typeUrl.slice(nack.typeUrl.lastIndexOf(".") + 1)} version ${short(nack.rejectedVersion)}`);
    log(`   reason: ${nack.message}`);
    log(`   rejected resources (from the NACK's error detail): ${nack.resourceNames?.join(", ") || "(not named)"}`);
    log("   A client that rejects part of an update keeps running the last version it accepted of each rejected");
    log("   resource and applies the rest (gRPC specifies this in its design note gRFC A46), so nothing breaks.");
    const afterNackRound = await round(100);
    log(`   100 RPCs -> ${show(afterNackRound, CANARY)}: both clusters still serve the 90/10 split`);
    return {
      firstRound,
      canaryRound,
      refusedViolations,
      nack: { version: nack.rejectedVersion, message: nack.message },
      afterNackRound,
    };
  } finally {
    client.close();
    await server.shutdown({ deadlineMs: 1000 });
    grpcServer.forceShutdown();
    cache.dispose();
    v1.stop();
    v2.stop();
  }
}

/** Waits until the node runs snapshot `version` (every type ACKed); throws on a NACK or after 10 s. */
async function rolledOut(server: XdsServer, version: string): Promise<void> {
  const result = await server.waitForAck({ node: NODE, version, timeoutMs: 10_000 });
  if (result.outcome !== "acked") throw new Error(`demo: version ${version} ${result.outcome}: ${JSON.stringify(result.nacked)}`);
}

/** `release-42~26deb5cbe36b...` shortened to `release-42~26deb5cb`: the snapshot label and the start of the content digest. */
function short(version: string | undefined): string {
  if (version === undefined) return "-";
  const at = version.lastIndexOf("~");
  return at < 0 ? version.slice(0, 8) : version.slice(0, at + 9);
}

function printStatus(log: (line: string) => void, status: NodeStatus | undefined): void {
  if (!status) return;
  log(`   node status of ${status.nodeId} (group ${status.group}):`);
  for (const t of Object.values(status.types)) {
    const name = t.typeUrl.slice(t.typeUrl.lastIndexOf(".") + 1);
    log(`     ${name.padEnd(22)} sent ${short(t.lastSent?.version).padEnd(12)}  ACKed ${short(t.lastAck?.version)}`);
  }
}
