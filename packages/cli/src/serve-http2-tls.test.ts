// `xdskit serve --transport http2` over mTLS (the flags of serve-tls.test.ts):
// node ids bound to client certificates (--require-node-identity), a client
// without a certificate refused at the handshake, CSDS on the same mTLS port;
// in one process and with two cluster workers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { ClientStatusDiscoveryServiceClient, TypeUrl } from "@xdskit/envoy-api";
import { ClientStatusRequest } from "@xdskit/envoy-api/envoy/service/status/v3/csds";
import { FakeEnvoy, hasOpenssl, TestCertificateAuthority } from "@xdskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { afterThisTest, startServe } from "./internal/serve-process.test.js";

const haveOpenssl = hasOpenssl();
const skip = !haveOpenssl && process.env.XDSKIT_SKIP_TOOLS === "1";
let ca: TestCertificateAuthority | undefined;
const pem = (name: string) => readFileSync(join((ca as TestCertificateAuthority).dir, name));
beforeAll(() => {
  if (skip) return;
  if (!haveOpenssl)
    throw new Error('the TLS tests make certificates with the openssl CLI (Debian package "openssl"; or set XDSKIT_SKIP_TOOLS=1 to skip)');
  ca = TestCertificateAuthority.create();
  ca.issue("server", "DNS:localhost");
  ca.issue("edge-1", "DNS:edge-1");
});
afterAll(() => ca?.dispose());

// Each client on its own connection, so that with workers each may reach another one.
const ownConnection = { "grpc.use_local_subchannel_pool": 1 };
const edge1 = () => credentials.createSsl(pem("ca.crt"), pem("edge-1.key"), pem("edge-1.crt"));

describe("xdskit serve --transport http2 over mTLS", () => {
  it.skipIf(skip).each(["1", "2"])(
    "with --workers %s: a proxy gets its own config, another node id on its certificate is refused, CSDS answers over mTLS",
    async (workers) => {
      const dir = (ca as TestCertificateAuthority).dir;
      const serve = await startServe([
        ...["--group-by", "id", "--transport", "http2", "--require-node-identity", "--workers", workers],
        ...["--tls-cert", join(dir, "server.crt"), "--tls-key", join(dir, "server.key"), "--tls-client-ca", join(dir, "ca.crt")],
      ]);
      expect(serve.summary).toMatchObject({ transport: "http2", tls: true, clientCertificates: true, requireNodeIdentity: true });
      await serve.admin("PUT", "/v1/groups/edge-1/resources", {
        resources: [{ "@type": TypeUrl.Cluster, name: "one", connect_timeout: "1s", type: "STATIC" }],
      });
      const proxy = (id: string, channel = edge1()) => {
        const e = new FakeEnvoy({
          address: `localhost:${serve.xdsPort}`,
          node: { id },
          credentials: channel,
          channelOptions: ownConnection,
        });
        afterThisTest(() => e.close());
        void e.start().catch(() => undefined);
        return e;
      };
      await proxy("edge-1").waitForResource(TypeUrl.Cluster, "one");
      const end = await proxy("edge-2").waitForStreamEnd(); // edge-1's certificate, edge-2's node id
      expect(end.code).toBe(7); // PERMISSION_DENIED
      expect(end.details).toContain('node id "edge-2" is not named by the client certificate');
      // Without a client certificate the TLS handshake fails: nothing is served.
      const anonymous = proxy("edge-1", credentials.createSsl(pem("ca.crt")));
      await expect(anonymous.waitForResource(TypeUrl.Cluster, "one", { timeoutMs: 1000 })).rejects.toThrow();
      expect(anonymous.history).toHaveLength(0);
      // CSDS on the same mTLS port.
      const csds = new ClientStatusDiscoveryServiceClient(`localhost:${serve.xdsPort}`, edge1(), ownConnection);
      afterThisTest(() => csds.close());
      const nodes = () =>
        new Promise<string[]>((resolve, reject) =>
          csds.fetchClientStatus(ClientStatusRequest.fromPartial({}), (error, answer) =>
            error ? reject(error) : resolve(answer.config.map((c) => c.node?.id ?? "")),
          ),
        );
      await expect.poll(nodes, { timeout: 10_000 }).toContain("edge-1");
      serve.child.kill("SIGTERM");
      expect(await serve.exited).toBe(0);
    },
  );
});
