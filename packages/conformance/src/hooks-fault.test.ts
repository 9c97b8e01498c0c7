// Hardening: users' own hooks are hostile input too. An async hook that
// rejects (`onNack: async (e) => db.write(e)` with the database down) is
// reported as an `error` event and never becomes an unhandled rejection that
// ends the process; streams, including a sentinel on the same server, keep
// receiving every update.
import { ErrorCode, TypeUrl } from "@xdskit/envoy-api";
import type { XdsServerEvent } from "@xdskit/server";
import { FakeEnvoy } from "@xdskit/testing";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { edsCluster, endpoints } from "./support/grpc-resources.js";

const leaked: unknown[] = [];
const onLeak = (reason: unknown) => leaked.push(reason);
beforeEach(() => {
  leaked.length = 0;
  process.on("unhandledRejection", onLeak);
});
afterEach(() => {
  process.off("unhandledRejection", onLeak);
});

function snapshot(version: string, clusters: readonly string[]) {
  return {
    version,
    resources: {
      [TypeUrl.Cluster]: clusters.map(edsCluster),
      [TypeUrl.ClusterLoadAssignment]: clusters.map((name, i) => endpoints(name, [9000 + i])),
    },
  };
}

it("hook-rejects: async hooks that reject are reported as error events, nothing leaks, and every stream keeps its updates", async () => {
  const failing = async (what: string) => {
    await new Promise((resolve) => setImmediate(resolve));
    throw new Error(`${what}: database unavailable`);
  };
  await using plane = await ControlPlane.start({
    cache: { nodeGroup: () => "all" },
    server: {
      callbacks: {
        onNack: () => failing("onNack"),
        onAck: () => failing("onAck"),
        onRequest: () => failing("onRequest"),
        onResponse: () => Promise.reject(new Error("onResponse: rejected at once")),
        onError: () => failing("onError"),
      },
    },
  });
  const errors: XdsServerEvent[] = [];
  const subscription = plane.xds.events.subscribe((e) => e.kind === "error" && errors.push(e));
  plane.cache.setSnapshot("all", snapshot("1", ["a"]));

  await using nacking = await FakeEnvoy.start({ address: plane.address, node: { id: "nacking" } });
  nacking.injectNack({ typeUrl: TypeUrl.Cluster, name: "b", message: "b is not welcome" });
  await using sentinel = await FakeEnvoy.start({ address: plane.address, node: { id: "sentinel" } });
  await sentinel.waitForEndpoints("a", 1);

  plane.cache.setSnapshot("all", snapshot("2", ["a", "b"]));
  await nacking.waitForNack({ typeUrl: TypeUrl.Cluster });
  await sentinel.waitForEndpoints("b", 1);
  plane.cache.setSnapshot("all", snapshot("3", ["a", "b", "c"]));
  await sentinel.waitForEndpoints("c", 1);

  await until("error events for the rejected onNack, onAck, onRequest and onResponse hooks", () =>
    ["onNack", "onAck", "onRequest", "onResponse"].every((hook) =>
      errors.some((e) => e.kind === "error" && e.error.message.startsWith(`callbacks.${hook} threw on a `)),
    ),
  );
  const nackError = errors.find((e) => e.kind === "error" && e.error.message.includes("callbacks.onNack"));
  expect(nackError?.kind === "error" && nackError.error.message).toMatch(
    /callbacks\.onNack threw on a nack event: onNack: database unavailable/,
  );
  expect(nackError?.context?.node.id).toBe("nacking");
  // The hook's author must act, not the client: the code says so.
  expect(nackError?.kind === "error" && nackError.error.code).toBe(ErrorCode.HOOK_FAILED);
  // Let late rejections (onError's own) settle, then check that none escaped.
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(leaked).toEqual([]);
  subscription.unsubscribe();
});
