// A replica killed with kill -9 while proxies are connected to it: three
// `xdskit serve --store etcd://…` processes share a real etcd; FakeEnvoys
// (delta and SotW, ADS) and a real @grpc/grpc-js-xds client reach replica
// one through a TCP load balancer (SwitchProxy). Replica one is killed; the
// balancer sends them to replica two. The gRPC client keeps serving with
// zero failed RPCs; the delta proxy receives zero resources (zero bytes) it
// already holds; the SotW proxy receives nothing for its wildcard types.
// Later writes through replica three reach them on replica two. Replica three
// serves on node:http2 (`--transport http2`), the others on grpc-js: its CSDS
// shows the whole fleet, from etcd, on that transport.
// docs/scale-out.md ("A replica dies").
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { credentials } from "@grpc/grpc-js";
import { ClientStatusDiscoveryServiceClient, type JsonValue, type MessageType, TypeUrl, toJson } from "@xdskit/envoy-api";
import { ClientResourceStatus } from "@xdskit/envoy-api/envoy/admin/v3/config_dump_shared";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { ClientStatusRequest, type ClientStatusResponse } from "@xdskit/envoy-api/envoy/service/status/v3/csds";
import { EtcdTestServer, findEtcdBinary } from "@xdskit/store-etcd/testing";
import { FakeEnvoy, type ResponseRecord } from "@xdskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callInLoop, Echo, EchoBackend } from "./support/echo-backend.js";
import { apiListener, edsCluster, endpoints, routeConfig, toCluster } from "./support/grpc-resources.js";
import { SwitchProxy } from "./support/switch-proxy.js";
import { xdsChannelOptions } from "./support/xds-client.js";

const skip = process.env.XDSKIT_SKIP_TOOLS === "1" && findEtcdBinary() === undefined;
const BIN = fileURLToPath(new URL("../../cli/dist/bin.js", import.meta.url));

interface Replica {
  readonly child: ChildProcess;
  readonly xdsPort: number;
  readonly adminPort: number;
}

/** Starts `xdskit serve --store …` as a process and reads its ports from the startup log line. */
function startReplica(store: string, replicaId: string, extra: readonly string[] = []): Promise<Replica> {
  const args = ["serve", "--store", store, "--replica-id", replicaId, "--xds", "127.0.0.1:0", "--admin-port", "0", ...extra];
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(() => reject(new Error(`replica did not start: ${buffer}`)), 20_000);
    child.once("exit", (code) => reject(new Error(`replica exited with ${code}: ${buffer}`)));
    child.stderr?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split("\n")) {
        if (!line.includes('"xdskit serve started"')) continue;
        const { xdsPort, adminPort } = JSON.parse(line) as { xdsPort: number; adminPort: number };
        clearTimeout(timer);
        resolve({ child, xdsPort, adminPort });
      }
    });
  });
}

const children: ChildProcess[] = [];
let etcd: EtcdTestServer;
let backend: EchoBackend;
beforeAll(async () => {
  if (skip) return;
  [etcd, backend] = await Promise.all([EtcdTestServer.start(), EchoBackend.start("echo")]);
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await Promise.all([etcd?.destroy(), backend?.stop()]);
});

function envoyJson<T>(typeUrl: string, type: MessageType<T>, message: T): JsonValue {
  return { "@type": typeUrl, ...(toJson(type, message, { useProtoNames: true }) as Record<string, JsonValue>) };
}

async function admin(replica: Replica, method: string, path: string, body?: unknown) {
  const response = await fetch(`http://127.0.0.1:${replica.adminPort}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

/** Resources and their encoded bytes in responses a proxy received after `seq`. */
function received(envoy: FakeEnvoy, after: number): { responses: number; resources: number; bytes: number } {
  const since = envoy.history.filter((r: ResponseRecord) => r.seq > after);
  let bytes = 0;
  for (const r of since) {
    for (const resource of (r.raw as { resources?: unknown[] }).resources ?? []) {
      // Delta: Resource{ resource: Any }; SotW: Any.
      const any = (resource as { resource?: { value?: Uint8Array }; value?: Uint8Array }).resource ?? resource;
      bytes += (any as { value?: Uint8Array }).value?.length ?? 0;
    }
  }
  return { responses: since.length, resources: since.reduce((n, r) => n + r.resourceNames.length, 0), bytes };
}

describe.skipIf(skip)("a replica killed under connected proxies", () => {
  it("kill -9: proxies move to another replica, the gRPC client fails no RPC, and nothing they hold is sent again", async () => {
    const store = `etcd://${etcd.endpoint.replace("http://", "")}/failover/`;
    // Replica three serves on node:http2 (replicas need not share a transport): its CSDS answers below
    // are the fleet view on that transport.
    const [one, two, three] = await Promise.all([
      startReplica(store, "r1"),
      startReplica(store, "r2"),
      startReplica(store, "r3", ["--transport", "http2"]),
    ]);
    if (!one || !two || !three) throw new Error("three replicas");

    // Config for a proxyless gRPC client (group "grpc") and for Envoys (group "front"), written through replica three.
    const grpcConfig = [
      envoyJson(TypeUrl.Listener, Listener, apiListener("echo", "echo-routes")),
      envoyJson(TypeUrl.RouteConfiguration, RouteConfiguration, routeConfig("echo-routes", [toCluster("echo")])),
      envoyJson(TypeUrl.Cluster, Cluster, edsCluster("echo")),
      envoyJson(TypeUrl.ClusterLoadAssignment, ClusterLoadAssignment, endpoints("echo", [backend.port])),
    ];
    const frontConfig = ["a", "b", "c"].flatMap((name, i) => [
      envoyJson(TypeUrl.Cluster, Cluster, edsCluster(name)),
      envoyJson(TypeUrl.ClusterLoadAssignment, ClusterLoadAssignment, endpoints(name, [9000 + i])),
    ]);
    expect((await admin(three, "PUT", "/v1/groups/grpc/resources", { resources: grpcConfig })).status).toBe(200);
    expect((await admin(three, "PUT", "/v1/groups/front/resources", { resources: frontConfig })).status).toBe(200);

    await using balancer = await SwitchProxy.start(`127.0.0.1:${one.xdsPort}`);
    await using delta = await FakeEnvoy.start({ address: balancer.address, node: { id: "front-delta" }, protocol: "delta", ads: true });
    await using sotw = await FakeEnvoy.start({ address: balancer.address, node: { id: "front-sotw" }, protocol: "sotw", ads: true });
    for (const envoy of [delta, sotw]) await envoy.waitForEndpoints("c", 1);
    // Every replica's status shows the whole fleet: replica three serves no proxy but sees them all on replica one.
    const fleet = async (replica: Replica) =>
      Object.fromEntries(
        ((await admin(replica, "GET", "/v1/status")).body.fleet ?? []).map((n: { nodeId: string; replicaId: string }) => [
          n.nodeId,
          n.replicaId,
        ]),
      );
    await expect.poll(() => fleet(three), { timeout: 10_000 }).toMatchObject({ "front-delta": "r1", "front-sotw": "r1" });
    // So does CSDS on replica three's xDS port (node:http2), each client with the replica serving it and what it ACKed.
    const csds = new ClientStatusDiscoveryServiceClient(`127.0.0.1:${three.xdsPort}`, credentials.createInsecure());
    const csdsView = async () => {
      const response = await new Promise<ClientStatusResponse>((resolve, reject) =>
        csds.fetchClientStatus(ClientStatusRequest.fromPartial({}), (error, answer) => (error ? reject(error) : resolve(answer))),
      );
      return Object.fromEntries(
        response.config.map((c) => [
          c.node?.id,
          {
            replica: c.node?.metadata?.fields["xdskit.replica"]?.stringValue,
            acked: c.genericXdsConfigs.filter((g) => g.clientStatus === ClientResourceStatus.ACKED).length,
          },
        ]),
      );
    };
    await expect
      .poll(csdsView, { timeout: 10_000 })
      .toMatchObject({ "front-delta": { replica: "r1", acked: 6 }, "front-sotw": { replica: "r1", acked: 6 } });
    const echo = new Echo("xds:///echo", xdsChannelOptions(balancer.address, "grpc-1"));
    try {
      expect(await echo.call()).toBe("echo");
      const initial = { delta: received(delta, 0), sotw: received(sotw, 0) };
      const load = callInLoop(echo);
      await new Promise((r) => setTimeout(r, 300));

      // Replica one dies; the balancer sends new connections to replica two.
      const before = { delta: delta.seq, sotw: sotw.seq };
      one.child.kill("SIGKILL");
      balancer.switchTo(`127.0.0.1:${two.xdsPort}`);
      for (const envoy of [delta, sotw]) {
        await envoy.waitForStreamEnd({ after: envoy === delta ? before.delta : before.sotw });
        await envoy.reconnect();
      }
      // Both are replica two's clients now (its status shows them), and the gRPC client keeps calling.
      await expect
        .poll(async () => (await admin(two, "GET", "/v1/status")).body.nodes.map((n: { nodeId: string }) => n.nodeId).sort(), {
          timeout: 15_000,
        })
        .toEqual(expect.arrayContaining(["front-delta", "front-sotw", "grpc-1"]));
      await new Promise((r) => setTimeout(r, 500));
      const answered = load.answers.length;
      await expect.poll(() => load.answers.length).toBeGreaterThan(answered + 20);
      await load.stop();
      expect(load.failures).toEqual([]);
      // The fleet status follows them to replica two (replica one's entries expire with its lease).
      await expect.poll(() => fleet(three), { timeout: 10_000 }).toMatchObject({ "front-delta": "r2", "front-sotw": "r2", "grpc-1": "r2" });
      await expect
        .poll(csdsView, { timeout: 10_000 })
        .toMatchObject({ "front-delta": { replica: "r2" }, "front-sotw": { replica: "r2" }, "grpc-1": { replica: "r2" } });
      csds.close();

      const after = { delta: received(delta, before.delta), sotw: received(sotw, before.sotw) };
      console.info(
        `failover: initial download delta ${initial.delta.resources} resources / ${initial.delta.bytes} B, sotw ${initial.sotw.resources} / ${initial.sotw.bytes} B; ` +
          `after moving to another replica delta ${after.delta.resources} / ${after.delta.bytes} B, sotw ${after.sotw.resources} / ${after.sotw.bytes} B; ` +
          `${load.answers.length} RPCs, ${load.failures.length} failed`,
      );
      // Delta: initial_resource_versions match replica two's content digests: nothing is sent again.
      expect(after.delta).toMatchObject({ resources: 0, bytes: 0 });
      // SotW: wildcard clusters get nothing; named endpoint subscriptions are answered on a new stream (reconnect-version).
      const sotwAfter = sotw.history.filter((r) => r.seq > before.sotw);
      expect(sotwAfter.filter((r) => r.typeUrl === TypeUrl.Cluster).flatMap((r) => r.resourceNames)).toEqual([]);
      expect(after.sotw.bytes).toBeLessThan(initial.sotw.bytes);

      // A write through replica three reaches the moved proxies through replica two.
      const moved = await admin(three, "PATCH", "/v1/groups/front/resources", {
        resources: [envoyJson(TypeUrl.ClusterLoadAssignment, ClusterLoadAssignment, endpoints("c", [9100]))],
      });
      expect(moved.status).toBe(200);
      for (const envoy of [delta, sotw]) await envoy.waitFor((e) => e.endpointAddresses("c")[0] === "127.0.0.1:9100");
      expect(received(delta, before.delta).resources).toBe(1);
      expect([...delta.nacks, ...sotw.nacks]).toEqual([]);
    } finally {
      echo.client.close();
    }
  }, 60_000);
});
