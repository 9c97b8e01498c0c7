// The example test of docs/testing.md, run in CI. Keep the code below this
// comment identical to the block in the docs; testing-guide-docs.test.ts checks it.
import * as grpc from "@grpc/grpc-js";
import { SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { Cluster, Cluster_DiscoveryType } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { XdsServer } from "@xdskit/server";
import { FakeEnvoy } from "@xdskit/testing";
import { afterEach, beforeEach, expect, it } from "vitest";

// Your control plane: a cache behind an xDS server, on a free port.
let cache: SnapshotCache;
let grpcServer: grpc.Server;
let address: string;

beforeEach(async () => {
  cache = new SnapshotCache();
  grpcServer = new grpc.Server();
  new XdsServer({ cache }).register(grpcServer);
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
});

afterEach(() => {
  grpcServer.forceShutdown();
});

const cluster = (name: string) =>
  Cluster.fromPartial({
    name,
    type: Cluster_DiscoveryType.EDS,
    edsClusterConfig: { edsConfig: { ads: {} } },
    connectTimeout: { seconds: 1 },
  });
const endpoints = (name: string, ...ports: number[]) =>
  ClusterLoadAssignment.fromPartial({
    clusterName: name,
    endpoints: [
      { lbEndpoints: ports.map((portValue) => ({ endpoint: { address: { socketAddress: { address: "10.0.0.1", portValue } } } })) },
    ],
  });

it("a proxy runs the clusters and endpoints of its node's snapshot", async () => {
  cache.setSnapshot("proxy-1", {
    version: "v1",
    resources: { [TypeUrl.Cluster]: [cluster("backend")], [TypeUrl.ClusterLoadAssignment]: [endpoints("backend", 8080, 8081)] },
  });

  // `await using` closes the FakeEnvoy at the end of the test, even when it fails.
  await using envoy = await FakeEnvoy.start({ address, node: { id: "proxy-1" } });

  expect(await envoy.waitForEndpoints("backend", 2)).toEqual(["10.0.0.1:8080", "10.0.0.1:8081"]);
  expect(envoy.nacks).toEqual([]);

  // Scale down: the proxy follows.
  cache.setSnapshot("proxy-1", {
    version: "v2",
    resources: { [TypeUrl.Cluster]: [cluster("backend")], [TypeUrl.ClusterLoadAssignment]: [endpoints("backend", 8081)] },
  });
  expect(await envoy.waitForEndpoints("backend", 1)).toEqual(["10.0.0.1:8081"]);
});

it("a proxy NACKs what it rejects and keeps running the previous config", async () => {
  cache.setSnapshot("proxy-1", { version: "v1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
  await using envoy = await FakeEnvoy.start({ address, node: { id: "proxy-1" } });
  await envoy.waitForResource(TypeUrl.Cluster, "a");
  const accepted = envoy.version(TypeUrl.Cluster);

  envoy.injectNack({ typeUrl: TypeUrl.Cluster, name: "b", message: "b is not welcome" });
  cache.setSnapshot("proxy-1", { version: "v2", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });

  const nack = await envoy.waitForNack({ resourceName: "b" });
  expect(nack.errorDetail).toEqual({ code: 3, message: "Error adding/updating cluster(s) b: b: b is not welcome" });
  expect([...envoy.clusters.keys()]).toEqual(["a"]);
  expect(envoy.version(TypeUrl.Cluster)).toBe(accepted);
});
