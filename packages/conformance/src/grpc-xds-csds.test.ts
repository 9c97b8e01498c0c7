// A real grpc-js-xds client's own CSDS view (the client status it serves as a
// gRPC admin service) and the control plane's node status agree, resource by
// resource, on the version each runs, and that version carries the user's
// snapshot label (docs/cache.md "Versions in your words").
import { addAdminServicesToServer, credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import { labelOf } from "@xdskit/cache";
import { ClientStatusDiscoveryServiceClient, TypeUrl } from "@xdskit/envoy-api";
import { ClientStatusRequest, type ClientStatusResponse } from "@xdskit/envoy-api/envoy/service/status/v3/csds";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { Echo, EchoBackend } from "./support/echo-backend.js";
import { echoSnapshot } from "./support/grpc-resources.js";
import { xdsChannelOptions } from "./support/xds-client.js";

const NODE = "csds-client";
let backends: EchoBackend[];
beforeAll(async () => {
  backends = await Promise.all(["b1", "b2"].map((name) => EchoBackend.start(name)));
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.stop()));
});

/** A type URL without its `type.googleapis.com/` prefix (grpc-js-xds's CSDS reports types that way). */
const bare = (typeUrl: string) => typeUrl.slice(typeUrl.lastIndexOf("/") + 1);

/** The client's CSDS answer for NODE: version per bare type name (one resource per type here). */
async function clientView(client: ClientStatusDiscoveryServiceClient): Promise<Map<string, string>> {
  const response = await new Promise<ClientStatusResponse>((resolve, reject) =>
    client.fetchClientStatus(ClientStatusRequest.fromPartial({}), (error, r) => (error ? reject(error) : resolve(r))),
  );
  const mine = response.config.find((c) => c.node?.id === NODE);
  return new Map((mine?.genericXdsConfigs ?? []).map((g) => [bare(g.typeUrl), g.versionInfo]));
}

it("grpc-js-xds's own CSDS and the control plane's status agree on each type's version, labelled with the user's snapshot version", async () => {
  const [b1, b2] = backends as [EchoBackend, EchoBackend];
  await using plane = await ControlPlane.start();
  plane.cache.setSnapshot(NODE, echoSnapshot("release-7", [b1.port]));
  const echo = new Echo("xds:///echo", xdsChannelOptions(plane.address, NODE));
  // The client process serves CSDS about its own xDS clients (gRPC admin services).
  const admin = new Server();
  addAdminServicesToServer(admin);
  const port = await new Promise<number>((resolve, reject) =>
    admin.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const csds = new ClientStatusDiscoveryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    expect(await echo.call()).toBe("b1");
    expect((await plane.xds.waitForAck({ node: NODE, version: "release-7", timeoutMs: 10_000 })).outcome).toBe("acked");
    const agree = async (labels: Record<string, string>) => {
      const view = await clientView(csds);
      const status = plane.status.nodeStatus(NODE)!;
      for (const [typeUrl, label] of Object.entries(labels)) {
        const version = view.get(bare(typeUrl));
        expect(version, typeUrl).toBe(status.types[typeUrl]?.lastAck?.version);
        expect(labelOf(version!), typeUrl).toBe(label);
      }
    };
    await agree({
      [TypeUrl.Listener]: "release-7",
      [TypeUrl.RouteConfiguration]: "release-7",
      [TypeUrl.Cluster]: "release-7",
      [TypeUrl.ClusterLoadAssignment]: "release-7",
    });

    // release-8 moves the endpoints only: the client runs them under release-8, the rest stays release-7.
    plane.cache.setSnapshot(NODE, echoSnapshot("release-8", [b2.port]));
    expect((await plane.xds.waitForAck({ node: NODE, version: "release-8", timeoutMs: 10_000 })).outcome).toBe("acked");
    let answered = "";
    for (let i = 0; i < 50 && answered !== "b2"; i++) answered = await echo.call();
    expect(answered).toBe("b2");
    await agree({
      [TypeUrl.Listener]: "release-7",
      [TypeUrl.RouteConfiguration]: "release-7",
      [TypeUrl.Cluster]: "release-7",
      [TypeUrl.ClusterLoadAssignment]: "release-8",
    });
  } finally {
    csds.close();
    echo.close();
    admin.forceShutdown();
  }
});
