// XdsServer.serveHttp2 (the node:http2 transport) against real xDS clients:
// FakeEnvoy in the four ways a client talks xDS (SotW or delta, ADS or
// per-type) through a whole Envoy-like sync, an update and a NACK; FakeEnvoy
// over mTLS (identity in hooks, requireNodeIdentity). A proxyless gRPC client
// (@grpc/grpc-js-xds) resolving and calling a service through it is in
// grpc-xds-rds-eds.test.ts, which runs on both transports.
// The rest of the conformance suite runs against this transport too with
// XDSKIT_CONFORMANCE_TRANSPORT=http2 (support/control-plane.ts).
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { credentials } from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { type PeerIdentity, requireNodeIdentity, XdsServer } from "@xdskit/server";
import { FakeEnvoy, hasOpenssl, type IssuedCertificate, TestCertificateAuthority } from "@xdskit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { assignment, cluster, listener, routes } from "./support/envoy-resources.js";
import { VARIANTS } from "./support/variants.js";

describe.each(VARIANTS)("serveHttp2, FakeEnvoy $name", (variant) => {
  it("syncs CDS, EDS, LDS and RDS, ACKs, takes an update and reports a NACK", async () => {
    await using plane = await ControlPlane.start({ transport: "http2" });
    expect(plane.transport).toBe("http2");
    const resources = (version: string, ports: number[], extra: ReturnType<typeof cluster>[] = []) => ({
      version,
      resources: {
        [TypeUrl.Cluster]: [cluster("web"), ...extra],
        [TypeUrl.ClusterLoadAssignment]: [assignment("web", ...ports)],
        [TypeUrl.Listener]: [listener("ingress", 8080, "web-routes")],
        [TypeUrl.RouteConfiguration]: [routes("web-routes", "web")],
      },
    });
    plane.cache.setSnapshot("n1", resources("1", [8001]));
    await using envoy = await FakeEnvoy.start({
      address: plane.address,
      protocol: variant.protocol,
      ads: variant.ads,
      node: { id: "n1" },
      nackRules: [{ name: "bad" }],
    });
    expect(await envoy.waitForEndpoints("web", 1)).toEqual(["10.1.0.1:8001"]);
    await envoy.waitForResource(TypeUrl.RouteConfiguration, "web-routes");
    for (const typeUrl of [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration]) {
      await until(`an ACK of ${typeUrl}`, () => plane.status.nodeStatus("n1")?.types[typeUrl]?.lastAck);
    }
    plane.cache.setSnapshot("n1", resources("2", [8001, 8002]));
    expect((await envoy.waitForEndpoints("web", 2)).sort()).toEqual(["10.1.0.1:8001", "10.1.0.1:8002"]);
    plane.cache.setSnapshot("n1", resources("3", [8001, 8002], [cluster("bad")]));
    await envoy.waitForNack({ resourceName: "bad" });
    await until("the NACK in node status", () => plane.status.nodeStatus("n1")?.types[TypeUrl.Cluster]?.lastNack);
    expect(plane.xds.stats.streams).toBe(variant.ads ? 1 : 4);
    await envoy.close();
    await until("streams released", () => plane.xds.stats.streams === 0);
  });
});

describe("serveHttp2 over mTLS with FakeEnvoy", () => {
  let ca: TestCertificateAuthority | undefined;
  let server: IssuedCertificate;
  let edge: IssuedCertificate;
  beforeAll(() => {
    if (!hasOpenssl()) return;
    ca = TestCertificateAuthority.create();
    server = ca.issue("server", "DNS:localhost");
    edge = ca.issue("edge-1", "URI:spiffe://cluster.local/ns/edge/sa/edge-1");
  });
  afterAll(() => ca?.dispose());

  it.skipIf(!hasOpenssl())("hooks see the client certificate; requireNodeIdentity serves its own node and refuses another's", async () => {
    const cache = new SnapshotCache();
    const own = "spiffe://cluster.local/ns/edge/sa/edge-1";
    cache.setSnapshot(own, { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
    const identities: Array<PeerIdentity | undefined> = [];
    const policy = requireNodeIdentity();
    const xds = new XdsServer({
      cache,
      callbacks: {
        onStreamOpen: (event) => {
          identities.push(event.context.identity);
          return policy(event);
        },
      },
    });
    const h2 = http2.createSecureServer({ key: server.key, cert: server.cert, ca: ca!.cert, requestCert: true });
    xds.serveHttp2(h2);
    await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
    const address = `localhost:${(h2.address() as AddressInfo).port}`;
    const tls = () => credentials.createSsl(ca!.cert, edge.key, edge.cert);
    try {
      await using envoy = await FakeEnvoy.start({
        address,
        credentials: tls(),
        node: { id: own },
        types: [TypeUrl.Cluster],
        follow: false,
      });
      await envoy.waitForResource(TypeUrl.Cluster, "a");
      expect(identities[0]).toMatchObject({ key: own, spiffeId: own, subject: "edge-1" });
      await using impostor = await FakeEnvoy.start({
        address,
        credentials: tls(),
        node: { id: "spiffe://cluster.local/ns/edge/sa/edge-2" },
        types: [TypeUrl.Cluster],
        follow: false,
      });
      const end = await impostor.waitForStreamEnd();
      expect(end).toMatchObject({ code: 7 }); // PERMISSION_DENIED
    } finally {
      await xds.shutdown({ deadlineMs: 0 });
      await new Promise<void>((resolve) => h2.close(() => resolve()));
      cache.dispose();
    }
  });
});
