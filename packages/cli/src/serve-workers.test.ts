// `xdskit serve --workers 2`: real processes (the primary and two cluster
// workers sharing the xDS port) and FakeEnvoys on real sockets. Proxies spread
// over both workers, an admin API write reaches all of them, the primary's
// status shows every node with its ACKs, and a worker killed with SIGKILL is
// restarted while its proxies reconnect and resync.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { ClientStatusDiscoveryServiceClient, TypeUrl } from "@xdskit/envoy-api";
import { ClientStatusRequest, type ClientStatusResponse } from "@xdskit/envoy-api/envoy/service/status/v3/csds";
import type { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { edsCluster, endpointsOf, FRONT_AND_BACK } from "./internal/fixtures.test.js";
import { envoy, runXdskit, startServe, tempDir } from "./internal/serve-process.test.js";

interface WorkerInfo {
  index: number;
  pid?: number;
  listening: boolean;
  streams: number;
}
interface StatusNode {
  nodeId: string;
  openStreams: number;
  types: Record<string, { lastSent?: { version: string }; lastAck?: { version: string } }>;
}

// Each proxy on its own connection (grpc-js would otherwise share one between clients of the same address).
const ownConnection = { channelOptions: { "grpc.use_local_subchannel_pool": 1 } };

describe("xdskit serve --workers", () => {
  it("spreads proxies over the workers, serves every one the primary's config, shows all in status, restarts a killed worker", async () => {
    const config = tempDir();
    writeFileSync(join(config, "front.yaml"), FRONT_AND_BACK);
    const serve = await startServe(["--config", config, "--workers", "2"]);
    expect(serve.summary.workers).toBe(2);
    const workers = async () => (await serve.admin("GET", "/v1/status")).body.workers as { workers: WorkerInfo[]; restarts: number };

    const proxies: FakeEnvoy[] = [];
    for (let i = 1; i <= 6; i++)
      proxies.push(await envoy(serve.xdsPort, `front-${i}`, { ...ownConnection, ...(i % 2 === 0 ? { protocol: "delta" as const } : {}) }));
    for (const p of proxies) await p.waitForEndpoints("web", 1);
    // node:cluster hands connections to the workers in turn: both serve some.
    await expect.poll(async () => (await workers()).workers.map((w) => w.streams > 0), { timeout: 10_000 }).toEqual([true, true]);

    // A write through the primary's admin API reaches the proxies of both workers.
    const api = { resources: [edsCluster("api"), endpointsOf("api", "10.2.0.1")] };
    expect((await serve.admin("PUT", "/v1/groups/front/resources", api)).status).toBe(200);
    for (const p of proxies) expect(await p.waitForEndpoints("api", 1)).toEqual(["10.2.0.1:8080"]);
    // Both workers serve the primary's snapshot version (delta adds a per-type suffix to it).
    for (const p of proxies) expect(p.version(TypeUrl.Cluster)).toMatch(/^files-1\.api-1($|~)/);

    // The primary's status has every node, each with the new version sent and ACKed, whichever worker serves it.
    const acked = async (typeUrl: string, api: number) => {
      const { body } = await serve.admin("GET", "/v1/status");
      return (body.nodes as StatusNode[])
        .filter((n) => {
          const t = n.types[typeUrl];
          return n.openStreams > 0 && t?.lastAck?.version === t?.lastSent?.version && t?.lastAck?.version.startsWith(`files-1.api-${api}`);
        })
        .map((n) => n.nodeId)
        .sort();
    };
    const ids = proxies.map((_, i) => `front-${i + 1}`).sort();
    await expect.poll(() => acked(TypeUrl.Cluster, 1), { timeout: 10_000 }).toEqual(ids);
    // ...and so has `xdskit status`, the admin API's client.
    const cli = await runXdskit(["status", "--admin", serve.adminUrl]);
    expect(cli.code).toBe(0);
    for (const id of ids) expect(cli.stdout).toContain(id);

    // /metrics sums the workers' counters and gauges with the primary's node status; snapshot_info counts once.
    const metrics = async () => {
      const text = String((await serve.admin("GET", "/metrics")).body);
      const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
      return {
        sotwStreams: value('xdskit_streams_open{protocol="sotw",transport="ads"}'),
        deltaStreams: value('xdskit_streams_open{protocol="delta",transport="ads"}'),
        synced: value('xdskit_nodes{group="front",state="synced"}'),
        snapshots: [...text.matchAll(/^xdskit_snapshot_info\{group="front",.*\} (\S+)$/gm)].map((m) => Number(m[1])),
      };
    };
    await expect.poll(metrics, { timeout: 10_000 }).toEqual({ sotwStreams: 3, deltaStreams: 3, synced: 6, snapshots: [1] });

    // CSDS, answered by whichever worker a client reaches, lists the proxies of both.
    for (let i = 0; i < 2; i++) {
      const csds = new ClientStatusDiscoveryServiceClient(
        `127.0.0.1:${serve.xdsPort}`,
        credentials.createInsecure(),
        ownConnection.channelOptions,
      );
      const csdsNodes = async () => {
        const response = await new Promise<ClientStatusResponse>((resolve, reject) =>
          csds.fetchClientStatus(ClientStatusRequest.fromPartial({}), (error, answer) => (error ? reject(error) : resolve(answer))),
        );
        return response.config.map((c) => c.node?.id).sort();
      };
      await expect.poll(csdsNodes, { timeout: 10_000 }).toEqual(ids);
      csds.close();
    }

    // Canaries need one xDS process: refused, saying why.
    const canary = await serve.admin("POST", "/v1/groups/front/canary", { ...api, percentage: 50 });
    expect(canary.status).toBe(409);
    expect(canary.body.error).toMatch(/--workers 1/);

    // SIGKILL one worker: the primary restarts it; its proxies' streams end, they reconnect and resync.
    const victim = (await workers()).workers[0] as WorkerInfo;
    const before = proxies.map((p) => p.streamEnds.length);
    process.kill(victim.pid as number, "SIGKILL");
    await expect
      .poll(
        async () => {
          const w = await workers();
          return w.restarts === 1 && w.workers.every((x) => x.listening) && w.workers[0]?.pid !== victim.pid;
        },
        { timeout: 15_000 },
      )
      .toBe(true);
    expect(serve.logs.some((l) => /worker 0 exited/.test(String(l.msg)))).toBe(true);
    const cut = proxies.filter((p, i) => p.streamEnds.length > (before[i] as number) || p.closed);
    expect(cut.length).toBeGreaterThan(0);
    for (const p of cut) await p.reconnect();
    // A write after the restart reaches every proxy: the moved ones and the ones that never left.
    const next = { resources: [edsCluster("api"), endpointsOf("api", "10.2.0.2")] };
    expect((await serve.admin("PUT", "/v1/groups/front/resources", next)).status).toBe(200);
    for (const p of proxies)
      await p.waitFor((e) => e.endpointAddresses("api").includes("10.2.0.2:8080"), { description: "the new endpoint" });
    await expect.poll(() => acked(TypeUrl.ClusterLoadAssignment, 2), { timeout: 10_000 }).toEqual(ids);
  });

  it("refuses a --workers that is not an integer from 1 to 4 x CPUs, naming the flag", async () => {
    const runs = await Promise.all(
      ["0", "100000"].map((bad) => runXdskit(["serve", "--workers", bad, "--admin-port", "0", "--xds", "127.0.0.1:0"])),
    );
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/workers.*an integer from 1 to \d+/);
    }
  });
});
