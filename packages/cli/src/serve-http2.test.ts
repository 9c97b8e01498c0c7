// `xdskit serve --transport http2`: real serve processes whose xDS port is
// xdskit's own gRPC over node:http2 (xds.serveHttp2 with CSDS), reached by
// FakeEnvoys and grpc-js CSDS clients on real sockets: one process, two
// cluster workers, graceful shutdown, and the flag and setting refused with a
// clear message when wrong. mTLS on this transport: serve-http2-tls.test.ts.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ChannelCredentials, credentials } from "@grpc/grpc-js";
import { ClientStatusDiscoveryServiceClient } from "@xdskit/envoy-api";
import { ClientStatusRequest, type ClientStatusResponse } from "@xdskit/envoy-api/envoy/service/status/v3/csds";
import type { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { edsCluster, endpointsOf, FRONT_AND_BACK } from "./internal/fixtures.test.js";
import { envoy, runXdskit, startServe, tempDir } from "./internal/serve-process.test.js";

// Each proxy on its own connection (grpc-js would otherwise share one between clients of the same address).
const ownConnection = { "grpc.use_local_subchannel_pool": 1 };

/** The node ids CSDS on `address` reports (a new connection each time, so with workers any of them may answer). */
async function csdsNodes(address: string, channel: ChannelCredentials = credentials.createInsecure()): Promise<string[]> {
  const client = new ClientStatusDiscoveryServiceClient(address, channel, ownConnection);
  try {
    const response = await new Promise<ClientStatusResponse>((resolve, reject) =>
      client.fetchClientStatus(ClientStatusRequest.fromPartial({}), (error, answer) => (error ? reject(error) : resolve(answer))),
    );
    return response.config.map((c) => c.node?.id ?? "").sort();
  } finally {
    client.close();
  }
}

interface StatusNode {
  nodeId: string;
  types: Record<string, { lastSent?: { version: string }; lastAck?: { version: string } }>;
}

/** The node ids the admin API's status shows with every type sent ACKed. */
async function ackedNodes(serve: Awaited<ReturnType<typeof startServe>>): Promise<string[]> {
  const { body } = await serve.admin("GET", "/v1/status");
  return (body.nodes as StatusNode[])
    .filter((n) => Object.values(n.types).every((t) => t.lastSent === undefined || t.lastAck?.version === t.lastSent.version))
    .map((n) => n.nodeId)
    .sort();
}

describe("xdskit serve --transport http2", () => {
  // The same on both transports: grpc-js is the reference.
  it.each(["http2", "grpc"])(
    "serves xDS and CSDS on --transport %s: proxies get config and ACK, CSDS and status show them, SIGTERM ends streams with UNAVAILABLE",
    async (transport) => {
      const config = tempDir();
      writeFileSync(join(config, "front.yaml"), FRONT_AND_BACK);
      const serve = await startServe(["--config", config, "--transport", transport]);
      expect(serve.summary).toMatchObject({ transport, workers: 1 });
      const sotw = await envoy(serve.xdsPort, "front-1");
      const delta = await envoy(serve.xdsPort, "front-2", { protocol: "delta" });
      for (const p of [sotw, delta]) expect(await p.waitForEndpoints("web", 1)).toHaveLength(1);
      // An update through the admin API reaches both.
      const api = { resources: [edsCluster("api"), endpointsOf("api", "10.2.0.1")] };
      expect((await serve.admin("PUT", "/v1/groups/front/resources", api)).status).toBe(200);
      for (const p of [sotw, delta]) expect(await p.waitForEndpoints("api", 1)).toEqual(["10.2.0.1:8080"]);
      await expect.poll(() => ackedNodes(serve), { timeout: 10_000 }).toEqual(["front-1", "front-2"]);
      // CSDS on the same port.
      expect(await csdsNodes(`127.0.0.1:${serve.xdsPort}`)).toEqual(["front-1", "front-2"]);
      // Metrics count the streams as on grpc-js.
      const metrics = String((await serve.admin("GET", "/metrics")).body);
      expect(metrics).toMatch(/^xdskit_streams_open\{protocol="sotw",transport="ads"\} 1$/m);
      expect(metrics).toMatch(/^xdskit_streams_open\{protocol="delta",transport="ads"\} 1$/m);

      // Graceful shutdown: GOAWAY, each stream ends with UNAVAILABLE (so proxies go elsewhere), exit 0.
      serve.child.kill("SIGTERM");
      for (const p of [sotw, delta]) expect((await p.waitForStreamEnd()).code).toBe(14);
      expect(await serve.exited).toBe(0);
    },
  );

  it("with --workers 2, both workers serve on node:http2; status, metrics and CSDS on either show every proxy; SIGTERM ends streams with UNAVAILABLE", async () => {
    const config = tempDir();
    writeFileSync(join(config, "front.yaml"), FRONT_AND_BACK);
    const serve = await startServe(["--config", config, "--transport", "http2", "--workers", "2"]);
    expect(serve.summary).toMatchObject({ transport: "http2", workers: 2 });
    const proxies: FakeEnvoy[] = [];
    for (let i = 1; i <= 4; i++)
      proxies.push(
        await envoy(serve.xdsPort, `front-${i}`, { channelOptions: ownConnection, ...(i % 2 === 0 ? { protocol: "delta" as const } : {}) }),
      );
    for (const p of proxies) await p.waitForEndpoints("web", 1);
    const workers = async () =>
      ((await serve.admin("GET", "/v1/status")).body.workers.workers as { streams: number }[]).map((w) => w.streams > 0);
    await expect.poll(workers, { timeout: 10_000 }).toEqual([true, true]);
    const ids = ["front-1", "front-2", "front-3", "front-4"];
    await expect.poll(() => ackedNodes(serve), { timeout: 10_000 }).toEqual(ids);
    // /metrics sums the workers' stream gauges, as on grpc-js.
    const streamsOpen = async () => {
      const text = String((await serve.admin("GET", "/metrics")).body);
      return ["sotw", "delta"].map((p) =>
        Number(new RegExp(`^xdskit_streams_open\\{protocol="${p}",transport="ads"\\} (\\S+)$`, "m").exec(text)?.[1]),
      );
    };
    await expect.poll(streamsOpen, { timeout: 10_000 }).toEqual([2, 2]);
    // Two connections: node:cluster hands them to the workers in turn, each answers with the whole fleet.
    for (let i = 0; i < 2; i++) await expect.poll(() => csdsNodes(`127.0.0.1:${serve.xdsPort}`), { timeout: 10_000 }).toEqual(ids);
    // SIGTERM: the workers end every stream with UNAVAILABLE (after GOAWAY), then everything exits.
    serve.child.kill("SIGTERM");
    for (const p of proxies) expect((await p.waitForStreamEnd()).code).toBe(14);
    expect(await serve.exited).toBe(0);
  });

  it("refuses a --transport or transport: setting other than grpc or http2, naming it and the allowed values", async () => {
    const dir = tempDir();
    const [good, bad] = [join(dir, "good.yaml"), join(dir, "bad.yaml")];
    writeFileSync(good, "transport: http2\n");
    writeFileSync(bad, "transport: quic\n");
    // node:http2 listens on host:port only (grpc-js also takes other target forms).
    const [flag, address, fromFile, overridden, setting] = await Promise.all([
      runXdskit(["serve", "--transport", "h3", "--admin-port", "0", "--xds", "127.0.0.1:0"]),
      runXdskit(["serve", "--transport", "http2", "--admin-port", "0", "--xds", "unix:/tmp/xds.sock"]),
      startServe(["--settings", good]),
      startServe(["--settings", good, "--transport", "grpc"]),
      startServe(["--settings", bad]).then(
        () => new Error("started"),
        (error: Error) => error,
      ),
    ]);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toMatch(/transport.*one of grpc, http2.*h3/);
    expect(address.code).toBe(1);
    expect(address.stderr).toMatch(/xds.*host:port.*--transport http2/);
    expect(fromFile.summary).toMatchObject({ transport: "http2" });
    expect(overridden.summary).toMatchObject({ transport: "grpc" });
    expect(setting.message).toMatch(/transport.*one of grpc, http2.*quic/);
  });
});
