// CSDS (envoy.service.status.v3.ClientStatusDiscoveryService) over real gRPC:
// what a standard CSDS client asks the control plane about its FakeEnvoys,
// on both transports (addCsdsService on grpc-js, serveHttp2's csds option on
// node:http2: the same answers from the same code).
import { credentials } from "@grpc/grpc-js";
import { ClientStatusDiscoveryServiceClient, TypeUrl, unpack } from "@xdskit/envoy-api";
import { ClientResourceStatus } from "@xdskit/envoy-api/envoy/admin/v3/config_dump_shared";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClientStatusRequest, type ClientStatusResponse, ConfigStatus } from "@xdskit/envoy-api/envoy/service/status/v3/csds";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { cluster } from "./support/envoy-resources.js";

function fetchStatus(client: ClientStatusDiscoveryServiceClient, request: Parameters<typeof ClientStatusRequest.fromPartial>[0]) {
  return new Promise<ClientStatusResponse>((resolve, reject) =>
    client.fetchClientStatus(ClientStatusRequest.fromPartial(request), (error, response) => (error ? reject(error) : resolve(response))),
  );
}

describe("csds", () => {
  it.each(["grpc-js", "http2"] as const)(
    "csds-fetch-and-stream (%s): per client and resource, ACKED/SYNCED, NACKED/ERROR with the detail, and the content that was sent",
    async (transport) => {
      await using plane = await ControlPlane.start({ csds: true, transport });
      plane.cache.setSnapshot("good", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });
      plane.cache.setSnapshot("picky", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
      await using good = await FakeEnvoy.start({ address: plane.address, node: { id: "good" } });
      await using picky = await FakeEnvoy.start({
        address: plane.address,
        node: { id: "picky" },
        nackRules: [{ name: "b", message: "b rejected" }],
      });
      await good.waitForResource(TypeUrl.Cluster, "b");
      await picky.waitForResource(TypeUrl.Cluster, "a");
      plane.cache.setSnapshot("picky", { version: "2", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });
      await picky.waitForNack({ resourceName: "b" });
      await until(
        "status of both",
        () =>
          plane.status.nodeStatus("good")?.types[TypeUrl.Cluster]?.lastAck &&
          plane.status.nodeStatus("picky")?.types[TypeUrl.Cluster]?.lastNack,
      );

      const client = new ClientStatusDiscoveryServiceClient(plane.address, credentials.createInsecure());
      try {
        const all = await fetchStatus(client, {});
        expect(all.config.map((c) => c.node?.id).sort()).toEqual(["good", "picky"]);

        const one = await fetchStatus(client, { nodeMatchers: [{ nodeId: { exact: "picky" } }] });
        expect(one.config.map((c) => c.node?.id)).toEqual(["picky"]);
        const byName = new Map(one.config[0]!.genericXdsConfigs.map((g) => [g.name, g]));
        const nackedVersion = plane.status.nodeStatus("picky")!.types[TypeUrl.Cluster]!.lastNack!;
        expect(byName.get("b")).toMatchObject({
          typeUrl: TypeUrl.Cluster,
          configStatus: ConfigStatus.ERROR,
          clientStatus: ClientResourceStatus.NACKED,
          versionInfo: nackedVersion.keptVersion,
          errorState: { details: "Error adding/updating cluster(s) b: b: b rejected", versionInfo: nackedVersion.rejectedVersion },
        });
        // The NACK named only b: a, valid in the same response, counts as accepted (gRFC A46).
        expect(byName.get("a")).toMatchObject({ configStatus: ConfigStatus.SYNCED, clientStatus: ClientResourceStatus.ACKED });

        const goodConfigs = all.config.find((c) => c.node?.id === "good")!.genericXdsConfigs;
        expect(goodConfigs.map((g) => [g.name, g.configStatus, g.clientStatus]).sort()).toEqual([
          ["a", ConfigStatus.SYNCED, ClientResourceStatus.ACKED],
          ["b", ConfigStatus.SYNCED, ClientResourceStatus.ACKED],
        ]);
        const a = goodConfigs.find((g) => g.name === "a")!;
        expect(a.versionInfo).toBe(plane.status.nodeStatus("good")!.types[TypeUrl.Cluster]!.lastAck!.version);
        expect(unpack(a.xdsConfig!, Cluster).name).toBe("a");
        expect((await fetchStatus(client, { excludeResourceContents: true })).config[0]!.genericXdsConfigs[0]!.xdsConfig).toBeUndefined();

        // The streaming method answers each request.
        const stream = client.streamClientStatus();
        const answers: ClientStatusResponse[] = [];
        stream.on("data", (r: ClientStatusResponse) => answers.push(r));
        stream.write(ClientStatusRequest.fromPartial({ nodeMatchers: [{ nodeId: { prefix: "goo" } }] }));
        stream.write(ClientStatusRequest.fromPartial({ nodeMatchers: [{ nodeId: { exact: "nobody" } }] }));
        await until("two stream answers", () => answers.length === 2);
        expect(answers.map((r) => r.config.map((c) => c.node?.id))).toEqual([["good"], []]);
        stream.end();

        // Matching on metadata is refused with a clear reason: status keeps no metadata.
        await expect(fetchStatus(client, { nodeMatchers: [{ nodeMetadatas: [{ path: [{ key: "k" }] }] }] })).rejects.toMatchObject({
          code: 3,
          details: expect.stringMatching(/node_metadatas is not supported/),
        });
      } finally {
        client.close();
      }
    },
  );
});
