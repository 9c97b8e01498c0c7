// A TypeScript CommonJS project, as `npm init -y` makes it ("type":
// "commonjs"), with "module": "nodenext". tsc turns these imports into
// require() calls, which load the ESM-only xdskit packages through Node's
// require(esm) (Node 20.19+, 22.12+). Run by scripts/pack-test.mjs.
import * as grpc from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { Long, TypeUrl } from "@xdskit/envoy-api";
import { cluster, loadAssignment } from "@xdskit/resources";
import { XdsServer } from "@xdskit/server";
import { FakeEnvoy } from "@xdskit/testing";

async function main(): Promise<void> {
  if (typeof require !== "function") throw new Error("expected to run as CommonJS");
  const cache = new SnapshotCache();
  const xds = new XdsServer({ cache });
  const server = new grpc.Server();
  xds.register(server);
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))),
  );
  cache.setSnapshot("consumer", {
    version: "1",
    resources: {
      [TypeUrl.Cluster]: [cluster({ name: "web", connectTimeout: "1s" })],
      [TypeUrl.ClusterLoadAssignment]: [loadAssignment({ clusterName: "web", endpoints: ["10.0.0.1:8080", "10.0.0.2:8080"] })],
    },
  });
  const envoy = await FakeEnvoy.start({ address: `127.0.0.1:${port}`, node: { id: "consumer" } });
  try {
    const endpoints = await envoy.waitForEndpoints("web", 2);
    console.log(`cjs consumer: FakeEnvoy runs web -> ${endpoints.join(", ")} (Long ${Long.ONE.toString()})`);
  } finally {
    await envoy.close();
    await xds.shutdown({ deadlineMs: 1000 });
    server.forceShutdown();
    cache.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
