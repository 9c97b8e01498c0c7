// The test kit against the real server: FakeEnvoy's gRPC-client mode
// subscribes like a proxyless gRPC client (LDS for its target → RDS → the
// clusters the routes name → EDS), its typed waits resolve with messages, and
// waitForStatusAck bridges the moment between the FakeEnvoy's ACK and the
// server's node status recording it.

import { ErrorCode, TypeUrl, XdskitError } from "@xdskit/envoy-api";
import { Cluster, Cluster_DiscoveryType } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { FAKE_ENVOY_DEFAULTS, FakeEnvoy } from "@xdskit/testing";
import { describe, expect, expectTypeOf, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { apiListener, edsCluster, endpoints, routeConfig } from "./support/grpc-resources.js";

const NODE = "fake-grpc-client";

/** Two targets (echo, other); echo's routes split between a and b; c and d are served but named by no route of echo. */
function snapshot(version: string, echoClusters: readonly string[]) {
  const weighted = echoClusters.map((name) => ({ name, weight: 1 }));
  return {
    version,
    resources: {
      [TypeUrl.Listener]: [apiListener("echo", "echo-routes"), apiListener("other", "other-routes")],
      [TypeUrl.RouteConfiguration]: [
        routeConfig("echo-routes", [{ match: { prefix: "" }, route: { weightedClusters: { clusters: weighted } } }]),
        routeConfig("other-routes", [{ match: { prefix: "" }, route: { cluster: "d" } }]),
      ],
      [TypeUrl.Cluster]: ["a", "b", "c", "d"].map(edsCluster),
      [TypeUrl.ClusterLoadAssignment]: ["a", "b", "c", "d"].map((name, i) => endpoints(name, [9000 + i])),
    },
  };
}

describe("FakeEnvoy client: grpc", () => {
  it("subscribes like a proxyless gRPC client: its target's listener, that listener's routes, the clusters they name, their endpoints", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot(NODE, snapshot("1", ["a", "b"]));
    await using client = await FakeEnvoy.start({ address: plane.address, client: "grpc", targets: ["echo"] });

    expect(await client.waitForEndpoints("b", 1)).toEqual(["127.0.0.1:9001"]);
    expect([...client.listeners.keys()]).toEqual(["echo"]);
    expect([...client.routeConfigurations.keys()]).toEqual(["echo-routes"]);
    expect([...client.clusters.keys()].sort()).toEqual(["a", "b"]);
    expect([...client.clusterLoadAssignments.keys()].sort()).toEqual(["a", "b"]);
    // Nothing is a wildcard: the server was asked for names only.
    for (const typeUrl of [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment]) {
      expect(client.subscription(typeUrl).wildcard).toBe(false);
    }
    expect(client.options.node.userAgentName).toBe("gRPC Node Pure JS");

    // The routes move to c: the client follows them and forgets a and b.
    plane.cache.setSnapshot(NODE, snapshot("2", ["c"]));
    await client.waitForEndpoints("c", 1);
    await client.waitForAbsent(TypeUrl.Cluster, "a");
    expect([...client.clusters.keys()]).toEqual(["c"]);
    expect([...client.subscription(TypeUrl.ClusterLoadAssignment).names]).toEqual(["c"]);
  });

  it("NACKs what gRPC clients reject (the gRPC profile), where an Envoy FakeEnvoy accepts it", async () => {
    await using plane = await ControlPlane.start();
    const staticCluster = Cluster.fromPartial({ name: "a", type: Cluster_DiscoveryType.STATIC, connectTimeout: { seconds: 1 } });
    const resources = { ...snapshot("1", ["a"]).resources, [TypeUrl.Cluster]: [staticCluster] };
    plane.cache.setSnapshot(NODE, { version: "1", resources });
    plane.cache.setSnapshot("fake-envoy", { version: "1", resources });
    await using client = await FakeEnvoy.start({ address: plane.address, client: "grpc", targets: ["echo"] });
    await using envoy = await FakeEnvoy.start({ address: plane.address });

    const nack = await client.waitForNack({ typeUrl: TypeUrl.Cluster });
    expect(nack.errorDetail?.message).toMatch(/a: .*type/i);
    await envoy.waitForAck(TypeUrl.Cluster);
  });

  it("refuses options gRPC clients cannot have, naming the option", () => {
    const address = "127.0.0.1:1";
    const fails = (options: object, pattern: RegExp) => {
      let caught: unknown;
      try {
        new FakeEnvoy({ address, ...options });
      } catch (error) {
        caught = error;
      }
      expect(XdskitError.is(caught) && caught.code).toBe(ErrorCode.INVALID_OPTION);
      expect((caught as Error).message).toMatch(pattern);
    };
    fails({ client: "grpc" }, /option "targets" must be a non-empty array/);
    fails({ client: "grpc", targets: ["echo"], protocol: "delta" }, /option "protocol" must be "sotw" with client "grpc"/);
    fails({ client: "grpc", targets: ["echo"], ads: false }, /option "ads" must be true with client "grpc"/);
    fails({ targets: ["echo"] }, /option "targets" must be unset with client "envoy"/);
    fails({ client: "istio" }, /option "client" must be "envoy" or "grpc"/);
  });
});

describe("FakeEnvoy typed waits and node status", () => {
  it("waitForResource resolves with the decoded message, typed by its type URL", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("fake-envoy", snapshot("1", ["a"]));
    await using envoy = await FakeEnvoy.start({ address: plane.address });
    const cluster = await envoy.waitForResource(TypeUrl.Cluster, "a");
    expectTypeOf(cluster).toEqualTypeOf<Cluster>();
    expect(cluster.name).toBe("a");
    expect(cluster.type).toBe(Cluster_DiscoveryType.EDS);
  });

  it.each(["sotw", "delta"] as const)(
    "waitForStatusAck resolves once the server's node status records the FakeEnvoy's latest ACK (%s)",
    async (protocol) => {
      await using plane = await ControlPlane.start();
      plane.cache.setSnapshot("fake-envoy", snapshot("1", ["a"]));
      await using envoy = await FakeEnvoy.start({ address: plane.address, protocol });
      await envoy.waitForResource(TypeUrl.Cluster, "a");
      await envoy.waitForStatusAck(plane.status, TypeUrl.Cluster);
      const acked = envoy.history.findLast((r) => r.typeUrl === TypeUrl.Cluster && r.decision === "ack");
      // No polling: the status holds the ACK the moment the wait resolves.
      expect(plane.status.nodeStatus("fake-envoy")?.types[TypeUrl.Cluster]?.lastAck?.nonce).toBe(acked?.nonce);

      const first = snapshot("2", ["a"]);
      plane.cache.setSnapshot("fake-envoy", {
        ...first,
        resources: { ...first.resources, [TypeUrl.Cluster]: [...first.resources[TypeUrl.Cluster], edsCluster("e")] },
      });
      await envoy.waitForResource(TypeUrl.Cluster, "e");
      await envoy.waitForStatusAck(plane.status, TypeUrl.Cluster);
      const latest = envoy.history.findLast((r) => r.typeUrl === TypeUrl.Cluster && r.decision === "ack");
      expect(latest?.nonce).not.toBe(acked?.nonce);
      expect(plane.status.nodeStatus("fake-envoy")?.types[TypeUrl.Cluster]?.lastAck?.nonce).toBe(latest?.nonce);
    },
  );

  it("a wait that fails says what it waited for and what the status shows", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("fake-envoy", snapshot("1", ["a"]));
    await using envoy = await FakeEnvoy.start({ address: plane.address });
    await envoy.waitForResource(TypeUrl.Cluster, "a");
    const silent = { nodeStatus: () => undefined };
    await expect(envoy.waitForStatusAck(silent, TypeUrl.Cluster, { timeoutMs: 100 })).rejects.toThrow(
      /node status of "fake-envoy" for .*Cluster to record the ACK of nonce "[^"]+" \(version "[^"]+"\); it shows no ACK/,
    );
  });
});

describe("FakeEnvoy default timeout", () => {
  it("is below vitest's default test timeout, so a failing wait reports itself instead of 'Test timed out in 5000ms'", {
    timeout: 5000,
  }, async () => {
    expect(FAKE_ENVOY_DEFAULTS.timeoutMs).toBeLessThan(5000);
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("fake-envoy", snapshot("1", ["a"]));
    await using envoy = await FakeEnvoy.start({ address: plane.address });
    const error = await envoy.waitForResource(TypeUrl.Cluster, "never").catch((e: unknown) => e);
    expect(XdskitError.is(error) && error.code).toBe(ErrorCode.WAIT_TIMEOUT);
    expect((error as Error).message).toMatch(/timed out after 4000 ms waiting for resource "never" of .*Cluster\. It has: /);
  });
});
