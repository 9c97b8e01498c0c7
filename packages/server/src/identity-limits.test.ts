// Limits per verified client identity (issue 9 point 3): over mTLS with real
// certificates generated here (openssl), streams and fetches are counted per
// identity of the client certificate (its SPIFFE/URI SAN), so one workload
// cannot take the slots of others; connections of another identity are served.
import { credentials, Server, ServerCredentials, status } from "@grpc/grpc-js";
import { AggregatedDiscoveryServiceClient, ClusterDiscoveryServiceClient, DiscoveryRequest, TypeUrl } from "@xdskit/envoy-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "../test-support/certificates.js";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { node, openSotw, until } from "../test-support/harness.js";
import { requireNodeIdentity, XdsServer } from "./index.js";

const CDS = TypeUrl.Cluster;
let certificates: TestCertificates | undefined;
const pem = (name: string) => certificates!.pem(name);

beforeAll(() => {
  certificates = makeTestCertificates([
    ["server", "DNS:localhost"],
    ["workload-a", "URI:spiffe://test.example/ns/default/sa/a"],
    ["workload-b", "URI:spiffe://test.example/ns/default/sa/b"],
  ]);
});

afterAll(() => certificates?.dispose());

async function mtlsServer(xds: XdsServer): Promise<{ port: number; close: () => void }> {
  const server = new Server();
  xds.register(server);
  const creds = ServerCredentials.createSsl(pem("ca.crt"), [{ cert_chain: pem("server.crt"), private_key: pem("server.key") }], true);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", creds, (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { port, close: () => server.forceShutdown() };
}

function clientCredentials(workload: string) {
  return credentials.createSsl(pem("ca.crt"), pem(`${workload}.key`), pem(`${workload}.crt`));
}

/** A client of `workload` on a connection of its own (the name in the server certificate is localhost). */
function adsAs(port: number, workload: string): AggregatedDiscoveryServiceClient {
  return new AggregatedDiscoveryServiceClient(`localhost:${port}`, clientCredentials(workload), { "grpc.use_local_subchannel_pool": 1 });
}

describe("maxStreamsPerIdentity", () => {
  it("counts the streams and fetches of one certificate identity across connections; other identities are served", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    const xds = new XdsServer({ cache, maxStreamsPerIdentity: 2 });
    const server = await mtlsServer(xds);
    const clients: Array<{ close(): void }> = [];
    try {
      const a1 = adsAs(server.port, "workload-a");
      const a2 = adsAs(server.port, "workload-a");
      clients.push(a1, a2);
      const held = [openSotw(a1), openSotw(a2)];
      for (const [i, stream] of held.entries()) stream.send({ node: node(`a-${i}`), typeUrl: CDS });
      for (const stream of held) expect((await stream.next()).versionInfo).toBe("v1");

      // A third stream of identity a, on yet another connection, is refused.
      const a3 = adsAs(server.port, "workload-a");
      clients.push(a3);
      const third = openSotw(a3);
      expect(await third.ended).toMatchObject({
        code: status.RESOURCE_EXHAUSTED,
        details: expect.stringContaining('client identity "spiffe://test.example/ns/default/sa/a" (option maxStreamsPerIdentity = 2)'),
      });
      // So is a fetch of identity a.
      const fetcher = new ClusterDiscoveryServiceClient(`localhost:${server.port}`, clientCredentials("workload-a"), {
        "grpc.use_local_subchannel_pool": 1,
      });
      clients.push(fetcher);
      const fetched = await new Promise<{ code: number; details: string } | null>((resolve) =>
        fetcher.fetchClusters(DiscoveryRequest.fromPartial({ node: node("a-fetch") }), (error) =>
          resolve(error ? { code: error.code!, details: error.details! } : null),
        ),
      );
      expect(fetched).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining("maxStreamsPerIdentity") });

      // Identity b is not affected.
      const b = adsAs(server.port, "workload-b");
      clients.push(b);
      const other = openSotw(b);
      other.send({ node: node("b-0"), typeUrl: CDS });
      expect((await other.next()).versionInfo).toBe("v1");

      // A closed stream gives its identity's slot back.
      held[0]!.close();
      await until(() => xds.stats.streams === 2, 3000, "the closed stream to be released");
      const again = openSotw(a3);
      again.send({ node: node("a-again"), typeUrl: CDS });
      expect((await again.next()).versionInfo).toBe("v1");
      for (const stream of [held[1]!, other, again]) stream.close();
    } finally {
      for (const client of clients) client.close();
      server.close();
    }
  });
});

describe("identity in hook contexts, requireNodeIdentity, empty node ids", () => {
  it("hooks see the verified certificate; requireNodeIdentity serves the node its SPIFFE id names and refuses others, streams and fetches", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    const seen: Array<{ node: string; identity: unknown }> = [];
    const policy = requireNodeIdentity();
    const xds = new XdsServer({
      cache,
      callbacks: {
        onStreamOpen: (event) => {
          seen.push({ node: event.context.node.id, identity: event.context.identity });
          return policy(event);
        },
      },
    });
    const server = await mtlsServer(xds);
    const clients: Array<{ close(): void }> = [];
    try {
      const a = adsAs(server.port, "workload-a");
      clients.push(a);
      const own = openSotw(a);
      own.send({ node: node("spiffe://test.example/ns/default/sa/a"), typeUrl: CDS });
      expect((await own.next()).versionInfo).toBe("v1");
      expect(seen[0]).toEqual({
        node: "spiffe://test.example/ns/default/sa/a",
        identity: {
          key: "spiffe://test.example/ns/default/sa/a",
          spiffeId: "spiffe://test.example/ns/default/sa/a",
          uris: ["spiffe://test.example/ns/default/sa/a"],
          dnsNames: [],
          subject: "workload-a",
        },
      });
      // Workload a claims workload b's node id: refused before it gets anything.
      const a2 = adsAs(server.port, "workload-a");
      clients.push(a2);
      const impostor = openSotw(a2);
      impostor.send({ node: node("spiffe://test.example/ns/default/sa/b"), typeUrl: CDS });
      expect(await impostor.ended).toMatchObject({
        code: status.PERMISSION_DENIED,
        details: expect.stringContaining('node id "spiffe://test.example/ns/default/sa/b" is not named by the client certificate'),
      });
      // The same for a gRPC fetch.
      const fetcher = new ClusterDiscoveryServiceClient(`localhost:${server.port}`, clientCredentials("workload-a"), {
        "grpc.use_local_subchannel_pool": 1,
      });
      clients.push(fetcher);
      const fetched = await new Promise<{ code: number } | null>((resolve) =>
        fetcher.fetchClusters(DiscoveryRequest.fromPartial({ node: node("spiffe://test.example/ns/default/sa/b") }), (error) =>
          resolve(error ? { code: error.code! } : null),
        ),
      );
      expect(fetched).toMatchObject({ code: status.PERMISSION_DENIED });
      expect(seen.at(-1)).toMatchObject({ identity: { spiffeId: "spiffe://test.example/ns/default/sa/a" } });
    } finally {
      for (const c of clients) c.close();
      server.close();
    }
  });

  it("without a client certificate the policy refuses with UNAUTHENTICATED; an empty node id is refused unless allowEmptyNodeId", async () => {
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    const insecure = new Server();
    const xds = new XdsServer({ cache, callbacks: { onStreamOpen: requireNodeIdentity() } });
    xds.register(insecure);
    const port = await new Promise<number>((resolve, reject) =>
      insecure.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const client = new AggregatedDiscoveryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const stream = openSotw(client);
      stream.send({ node: node("spiffe://test.example/ns/default/sa/a"), typeUrl: CDS });
      expect(await stream.ended).toMatchObject({ code: status.UNAUTHENTICATED });
      const anonymous = openSotw(client);
      anonymous.send({ node: node(""), typeUrl: CDS });
      expect(await anonymous.ended).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining("allowEmptyNodeId") });
    } finally {
      client.close();
      insecure.forceShutdown();
    }
    const allowing = new Server();
    const lenient = new XdsServer({ cache, allowEmptyNodeId: true });
    lenient.register(allowing);
    const port2 = await new Promise<number>((resolve, reject) =>
      allowing.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const client2 = new AggregatedDiscoveryServiceClient(`127.0.0.1:${port2}`, credentials.createInsecure());
    try {
      const stream = openSotw(client2);
      stream.send({ node: node(""), typeUrl: CDS });
      expect((await stream.next()).versionInfo).toBe("v1");
    } finally {
      client2.close();
      allowing.forceShutdown();
    }
  });
});
