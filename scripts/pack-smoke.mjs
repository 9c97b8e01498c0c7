// Runs inside a scratch project where the packed tarballs were installed with
// npm (see scripts/pack-test.mjs): imports every package by its public name
// and serves config to a FakeEnvoy over a real loopback socket.
import * as grpc from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { DiscoveryRequest, fromYaml, messageTypeOf, pack, TypeUrl, toJson, unpack, XdskitError } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import * as discovery from "@xdskit/envoy-api/envoy/service/discovery/v3/discovery";
import { cluster, createSnapshotValidator, loadAssignment, ResourceTypes } from "@xdskit/resources";
import { ResourceTypes as Descriptors } from "@xdskit/resources/descriptors";
import { XdsServer } from "@xdskit/server";
import { FakeEnvoy } from "@xdskit/testing";

const any = pack(Cluster, { name: "web" });
if (any.typeUrl !== TypeUrl.Cluster || unpack(any, Cluster).name !== "web") throw new Error("envoy-api: pack/unpack failed");
// The descriptors entry is the root entry's modules; a codec read from a descriptor is the one import gives.
if (Descriptors !== ResourceTypes || Descriptors.Cluster.messageType !== Cluster)
  throw new Error("resources: the descriptors entry point is a second copy");
// The bundled entry points (scripts/bundle.mjs) share one instance of each module
// with the generated subpaths and with each other: one registry, one error class.
if (messageTypeOf(TypeUrl.Cluster) !== Cluster) throw new Error("envoy-api: the registry's Cluster is not the one import gives");
// The root entry and the subpath of the discovery messages share them (envoy-api's core chunk).
if (
  DiscoveryRequest !== discovery.DiscoveryRequest ||
  messageTypeOf(`type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest`) !== DiscoveryRequest
)
  throw new Error("envoy-api: the root entry's DiscoveryRequest is not the subpath's or the registry's");
try {
  new XdsServer({ cache: undefined });
  throw new Error("server: no error for a missing cache");
} catch (error) {
  if (!(error instanceof XdskitError)) throw new Error(`server: its errors are not @xdskit/envoy-api's XdskitError: ${error}`);
}
const fromText = fromYaml(Cluster, "name: web\nconnect_timeout: 1.5s\n");
if (toJson(Cluster, fromText).connectTimeout !== "1.500s") throw new Error("envoy-api: YAML/JSON failed");

const cache = new SnapshotCache({ validator: createSnapshotValidator() });
const xds = new XdsServer({ cache });
const server = new grpc.Server();
xds.register(server);
const port = await new Promise((ok, fail) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))),
);
cache.setSnapshot("smoke", {
  version: "1",
  resources: {
    [TypeUrl.Cluster]: [cluster({ name: "web" })],
    [TypeUrl.ClusterLoadAssignment]: [loadAssignment({ clusterName: "web", endpoints: ["10.0.0.1:8080", "10.0.0.2:8080"] })],
  },
});
const envoy = await FakeEnvoy.start({ address: `127.0.0.1:${port}`, node: { id: "smoke" } });
try {
  const endpoints = await envoy.waitForEndpoints("web", 2);
  await envoy.waitForStatusAck(xds.status, TypeUrl.Cluster);
  const status = xds.status.nodeStatus("smoke")?.types[TypeUrl.Cluster];
  if (!status?.lastAck) throw new Error("server: no ACK recorded in node status for the smoke node");
  console.log(`smoke: FakeEnvoy runs web -> ${endpoints.join(", ")}; node status saw the ACK of ${status.lastAck.version}`);
} finally {
  await envoy.close();
  await xds.shutdown({ deadlineMs: 1000 });
  server.forceShutdown();
  cache.dispose();
}
