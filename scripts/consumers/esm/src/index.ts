// A TypeScript ESM project ("type": "module", "module": "nodenext") using
// every public package as a user would. Run by scripts/pack-test.mjs.
import * as grpc from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { Long, TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { cluster, createSnapshotValidator, loadAssignment } from "@xdskit/resources";
import { XdsServer } from "@xdskit/server";
import { FakeEnvoy } from "@xdskit/testing";

const seconds: Long = Long.fromNumber(5);
if (Cluster.fromPartial({ connectTimeout: { seconds, nanos: 0 } }).connectTimeout?.seconds.toNumber() !== 5) throw new Error("Long");

const cache = new SnapshotCache({ validator: createSnapshotValidator() });
const xds = new XdsServer({ cache });
const server = new grpc.Server();
xds.register(server);
const port = await new Promise<number>((ok, fail) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))),
);
cache.setSnapshot("consumer", {
  version: "1",
  resources: {
    [TypeUrl.Cluster]: [cluster({ name: "web", connectTimeout: 250 })],
    [TypeUrl.ClusterLoadAssignment]: [loadAssignment({ clusterName: "web", endpoints: ["10.0.0.1:8080"] })],
  },
});
const envoy = await FakeEnvoy.start({ address: `127.0.0.1:${port}`, node: { id: "consumer" } });
try {
  const endpoints = await envoy.waitForEndpoints("web", 1);
  console.log(`esm consumer: FakeEnvoy runs web -> ${endpoints.join(", ")}`);
} finally {
  await envoy.close();
  await xds.shutdown({ deadlineMs: 1000 });
  server.forceShutdown();
  cache.dispose();
}
