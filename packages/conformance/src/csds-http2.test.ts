// CSDS on the node:http2 transport (XdsServer.serveHttp2's `csds` option),
// asked by real grpc-js clients: node metadata (what `xdskit serve` adds for
// its fleet view), the client bound, one answer per streamed request in order,
// the errors both transports give, and the stream ending on shutdown. The
// answers themselves (ACKED, NACKED, contents) are csds.test.ts, on both
// transports.
import http2 from "node:http2";
import { type ClientDuplexStream, credentials, Client as GrpcClient, type ServiceError } from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { ClientStatusDiscoveryServiceClient, ClientStatusDiscoveryServiceService, TypeUrl } from "@xdskit/envoy-api";
import { ClientStatusRequest, type ClientStatusResponse } from "@xdskit/envoy-api/envoy/service/status/v3/csds";
import { type CsdsOptions, type ServeHttp2Options, XdsServer } from "@xdskit/server";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane, type Transport, until } from "./support/control-plane.js";
import { cluster } from "./support/envoy-resources.js";

/** Every node of these tests is in group `edge`. */
const EDGE = { nodeGroup: () => "edge" };
const FETCH = ClientStatusDiscoveryServiceService.fetchClientStatus.path;

function fetchStatus(client: ClientStatusDiscoveryServiceClient, request: Parameters<typeof ClientStatusRequest.fromPartial>[0] = {}) {
  return new Promise<ClientStatusResponse>((resolve, reject) =>
    client.fetchClientStatus(ClientStatusRequest.fromPartial(request), (error, response) => (error ? reject(error) : resolve(response))),
  );
}

/** A FetchClientStatus call with raw request bytes (what no generated client sends). */
function fetchRaw(address: string, bytes: Buffer): Promise<ServiceError> {
  const client = new GrpcClient(address, credentials.createInsecure());
  return new Promise<ServiceError>((resolve, reject) =>
    client.makeUnaryRequest(
      FETCH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      (error) => (error ? resolve(error) : reject(new Error("expected a failure"))),
    ),
  ).finally(() => client.close());
}

/** A control plane with CSDS on node:http2 and two connected FakeEnvoys, `edge-1` and `edge-2`. */
async function planeWithNodes(transport: Transport = "http2") {
  const plane = await ControlPlane.start({ csds: true, transport, cache: EDGE });
  plane.cache.setSnapshot("edge", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
  const envoys = await Promise.all(["edge-1", "edge-2"].map((id) => FakeEnvoy.start({ address: plane.address, node: { id } })));
  for (const envoy of envoys) await envoy.waitForResource(TypeUrl.Cluster, "a");
  await until("both ACKs", () => ["edge-1", "edge-2"].every((id) => plane.status.nodeStatus(id)?.types[TypeUrl.Cluster]?.lastAck));
  return {
    plane,
    async [Symbol.asyncDispose]() {
      for (const envoy of envoys) await envoy.close();
      await plane.stop();
    },
  };
}

/**
 * An XdsServer on node:http2 with CSDS made by `csds` from the server, on a fresh port, with
 * FakeEnvoys `edge-1` then `edge-2` connected and served, and a CSDS client of that port.
 */
async function http2WithNodes(csds: (xds: XdsServer) => CsdsOptions, services?: ServeHttp2Options["services"]) {
  const cache = new SnapshotCache(EDGE);
  const xds = new XdsServer({ cache });
  const server = http2.createServer();
  xds.serveHttp2(server, { ...(services ? { services } : {}), csds: csds(xds) });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  cache.setSnapshot("edge", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
  const envoys: FakeEnvoy[] = [];
  for (const id of ["edge-1", "edge-2"]) {
    const envoy = await FakeEnvoy.start({ address, node: { id } });
    envoys.push(envoy);
    await envoy.waitForResource(TypeUrl.Cluster, "a");
  }
  const client = new ClientStatusDiscoveryServiceClient(address, credentials.createInsecure());
  return {
    client,
    async [Symbol.asyncDispose]() {
      client.close();
      for (const envoy of envoys) await envoy.close();
      await xds.shutdown({ deadlineMs: 0 });
      server.close();
      cache.dispose();
    },
  };
}

describe("CSDS on node:http2 (serveHttp2's csds option)", () => {
  it("answers with each node's metadata from nodeMetadata, at most maxClients clients, on the xDS port", async () => {
    await using served = await http2WithNodes(
      (xds) => ({
        status: xds.status!,
        nodeMetadata: (node) => (node.nodeId === "edge-2" ? { "xdskit.replica": "replica-b" } : undefined),
      }),
      ["ads"],
    );
    const answer = await fetchStatus(served.client);
    expect(answer.config.map((c) => c.node?.id).sort()).toEqual(["edge-1", "edge-2"]);
    const metadataOf = (id: string) => answer.config.find((c) => c.node?.id === id)?.node?.metadata;
    expect(metadataOf("edge-2")).toEqual({ fields: { "xdskit.replica": { stringValue: "replica-b" } } });
    expect(metadataOf("edge-1")).toBeUndefined();
  });

  it("limits an answer to maxClients (the newest) and refuses bad csds options naming them", async () => {
    const cache = new SnapshotCache(EDGE);
    const xds = new XdsServer({ cache });
    expect(() => xds.serveHttp2(http2.createServer(), { csds: {} as never })).toThrow(
      expect.objectContaining({ code: "XDSKIT_INVALID_OPTION", message: expect.stringMatching(/XdsServer\.serveHttp2.*status/) }),
    );
    expect(() => xds.serveHttp2(http2.createServer(), { csds: { status: xds.status!, maxClients: 0 } })).toThrow(/maxClients/);
    cache.dispose();
    await using served = await http2WithNodes((server) => ({ status: server.status!, maxClients: 1 }));
    expect((await fetchStatus(served.client)).config.map((c) => c.node?.id)).toEqual(["edge-2"]);
  });

  it("answers each streamed request once, in order, however fast they come", async () => {
    await using served = await planeWithNodes();
    const client = new ClientStatusDiscoveryServiceClient(served.plane.address, credentials.createInsecure());
    try {
      const stream = client.streamClientStatus();
      const answers: ClientStatusResponse[] = [];
      stream.on("data", (r: ClientStatusResponse) => answers.push(r));
      const ended = new Promise<void>((resolve, reject) => {
        stream.on("end", resolve);
        stream.on("error", reject);
      });
      const ids = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? "edge-1" : i % 3 === 1 ? "edge-2" : "nobody"));
      for (const id of ids) stream.write(ClientStatusRequest.fromPartial({ nodeMatchers: [{ nodeId: { exact: id } }] }));
      stream.end();
      await ended;
      expect(answers.map((r) => r.config.map((c) => c.node?.id)[0] ?? "nobody")).toEqual(ids);
    } finally {
      client.close();
    }
  });

  it.each(["grpc-js", "http2"] as const)(
    "gives the same errors on %s: INVALID_ARGUMENT for a request that does not decode or asks what status cannot answer",
    async (transport) => {
      await using served = await planeWithNodes(transport);
      const address = served.plane.address;
      const garbage = await fetchRaw(address, Buffer.from([0x0a, 0xff, 0xff]));
      expect({ code: garbage.code, details: garbage.details }).toEqual({
        code: 3,
        details: expect.stringMatching(/^CSDS: could not decode the ClientStatusRequest/),
      });
      const client = new ClientStatusDiscoveryServiceClient(address, credentials.createInsecure());
      try {
        const stream = client.streamClientStatus();
        const failed = new Promise<ServiceError>((resolve) => stream.on("error", resolve));
        stream.on("data", () => undefined);
        stream.write(ClientStatusRequest.fromPartial({ nodeMatchers: [{ nodeId: { exact: "edge-1" } }] }));
        stream.write(ClientStatusRequest.fromPartial({ nodeMatchers: [{ nodeMetadatas: [{ path: [{ key: "k" }] }] }] }));
        expect(await failed).toMatchObject({ code: 3, details: expect.stringMatching(/node_metadatas is not supported/) });
      } finally {
        client.close();
      }
    },
  );

  it("ends an open StreamClientStatus with UNAVAILABLE on shutdown; without the option, CSDS is UNIMPLEMENTED naming it", async () => {
    const served = await planeWithNodes();
    const client = new ClientStatusDiscoveryServiceClient(served.plane.address, credentials.createInsecure());
    try {
      const stream: ClientDuplexStream<ClientStatusRequest, ClientStatusResponse> = client.streamClientStatus();
      const answers: ClientStatusResponse[] = [];
      stream.on("data", (r: ClientStatusResponse) => answers.push(r));
      const failed = new Promise<ServiceError>((resolve) => stream.on("error", resolve));
      stream.write(ClientStatusRequest.fromPartial({}));
      await until("the first answer", () => answers.length === 1);
      await served.plane.xds.shutdown({ deadlineMs: 0 });
      expect(await failed).toMatchObject({ code: 14, details: expect.stringMatching(/shutting down/) });
    } finally {
      client.close();
      await served[Symbol.asyncDispose]();
    }

    await using plain = await ControlPlane.start({ transport: "http2" });
    const refused = await fetchRaw(plain.address, Buffer.alloc(0));
    expect(refused.code).toBe(12);
    expect(refused.details).toMatch(/FetchClientStatus is not served here.*csds option/);
  });
});
