import { readFileSync } from "node:fs";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy, hasOpenssl, TestCertificateAuthority } from "@xdskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { afterThisTest, runXdskit, startServe } from "./internal/serve-process.test.js";

const haveOpenssl = hasOpenssl();
const skip = !haveOpenssl && process.env.XDSKIT_SKIP_TOOLS === "1";

let dir = "";
const pem = (name: string) => readFileSync(join(dir, name));
let ca: TestCertificateAuthority | undefined;
beforeAll(() => {
  if (skip) return;
  if (!haveOpenssl)
    throw new Error('the TLS tests make certificates with the openssl CLI (Debian package "openssl"; or set XDSKIT_SKIP_TOOLS=1 to skip)');
  ca = TestCertificateAuthority.create();
  dir = ca.dir;
  ca.issue("server", "DNS:localhost");
  ca.issue("edge-1", "DNS:edge-1");
  ca.issue("edge-2", "DNS:edge-2");
});

afterAll(() => {
  ca?.dispose();
});

const cluster = (name: string) => ({
  "@type": TypeUrl.Cluster,
  name,
  connect_timeout: "1s",
  type: "STATIC",
  load_assignment: {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: 80 } } } }] }],
  },
});

/** A FakeEnvoy presenting `cert`'s client certificate (none: TLS without one), claiming node id `id`. */
async function proxy(port: number, id: string, cert: string | undefined) {
  const e = new FakeEnvoy({
    address: `localhost:${port}`,
    node: { id },
    credentials: cert ? credentials.createSsl(pem("ca.crt"), pem(`${cert}.key`), pem(`${cert}.crt`)) : credentials.createSsl(pem("ca.crt")),
    channelOptions: { "grpc.use_local_subchannel_pool": 1 },
    timeoutMs: 3000,
  });
  afterThisTest(() => e.close());
  void e.start().catch(() => undefined);
  return e;
}

function tlsArgs(...extra: string[]): string[] {
  return [
    "--group-by",
    "id",
    "--tls-cert",
    join(dir, "server.crt"),
    "--tls-key",
    join(dir, "server.key"),
    "--tls-client-ca",
    join(dir, "ca.crt"),
    ...extra,
  ];
}

describe("xDS over mTLS", () => {
  it.skipIf(skip)("with --require-node-identity, a proxy gets its own config and is refused another's", async () => {
    const serve = await startServe(tlsArgs("--require-node-identity"));
    expect(serve.summary).toMatchObject({ tls: true, clientCertificates: true, requireNodeIdentity: true });
    await serve.admin("PUT", "/v1/groups/edge-1/resources", { resources: [cluster("one")] });
    await serve.admin("PUT", "/v1/groups/edge-2/resources", { resources: [cluster("two")] });

    const own = await proxy(serve.xdsPort, "edge-1", "edge-1");
    await own.waitForResource(TypeUrl.Cluster, "one");
    expect([...own.clusters.keys()]).toEqual(["one"]);

    const impostor = await proxy(serve.xdsPort, "edge-2", "edge-1"); // edge-1's certificate, edge-2's node id
    const end = await impostor.waitForStreamEnd();
    expect(end.code).toBe(7); // PERMISSION_DENIED
    expect(end.details).toContain('node id "edge-2" is not named by the client certificate');
    expect(impostor.clusters.size).toBe(0);
    expect(impostor.history).toHaveLength(0);

    // Without a client certificate the TLS handshake itself fails: nothing is served.
    const anonymous = await proxy(serve.xdsPort, "edge-2", undefined);
    await expect(anonymous.waitForResource(TypeUrl.Cluster, "two", { timeoutMs: 1000 })).rejects.toThrow();
    expect(anonymous.history).toHaveLength(0);

    const rightful = await proxy(serve.xdsPort, "edge-2", "edge-2");
    await rightful.waitForResource(TypeUrl.Cluster, "two");
  });

  it.skipIf(skip)(
    "without --require-node-identity, client certificates are checked but any node id is served (the flag is what binds them)",
    async () => {
      const serve = await startServe(tlsArgs());
      await serve.admin("PUT", "/v1/groups/edge-2/resources", { resources: [cluster("two")] });
      const claimed = await proxy(serve.xdsPort, "edge-2", "edge-1");
      await claimed.waitForResource(TypeUrl.Cluster, "two");
      // A plaintext client cannot talk to the TLS port.
      const plain = new FakeEnvoy({ address: `127.0.0.1:${serve.xdsPort}`, node: { id: "edge-2" }, timeoutMs: 3000 });
      afterThisTest(() => plain.close());
      void plain.start().catch(() => undefined);
      await expect(plain.waitForResource(TypeUrl.Cluster, "two", { timeoutMs: 1000 })).rejects.toThrow(/two/);
      expect(plain.history).toHaveLength(0);
    },
  );

  it.skipIf(skip)("with --workers 2, every worker serves mTLS and binds node ids to certificates", async () => {
    const serve = await startServe(tlsArgs("--require-node-identity", "--workers", "2"));
    await serve.admin("PUT", "/v1/groups/edge-1/resources", { resources: [cluster("one")] });
    // Each proxy on its own connection: the cluster hands them to the workers in turn.
    const proxies = [await proxy(serve.xdsPort, "edge-1", "edge-1"), await proxy(serve.xdsPort, "edge-1", "edge-1")];
    for (const p of proxies) await p.waitForResource(TypeUrl.Cluster, "one");
    const impostors = [await proxy(serve.xdsPort, "edge-2", "edge-1"), await proxy(serve.xdsPort, "edge-2", "edge-1")];
    for (const p of impostors) expect((await p.waitForStreamEnd()).code).toBe(7); // PERMISSION_DENIED, whichever worker
  });

  it.skipIf(skip)("refuses flags that cannot work together, naming them", async () => {
    const [noCa, noCert] = await Promise.all([
      runXdskit(["serve", "--require-node-identity", "--admin-port", "0", "--xds", "127.0.0.1:0"]),
      runXdskit(["serve", "--tls-client-ca", join(dir, "ca.crt"), "--admin-port", "0", "--xds", "127.0.0.1:0"]),
    ]);
    expect(noCa.code).toBe(1);
    expect(noCa.stderr).toMatch(/require-node-identity.*--tls-client-ca/);
    expect(noCert.code).toBe(1);
    expect(noCert.stderr).toMatch(/tls-client-ca.*--tls-cert/);
  });
});
