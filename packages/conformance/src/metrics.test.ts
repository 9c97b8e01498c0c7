// Prometheus metrics over real HTTP: what /metrics says after FakeEnvoys ACK and NACK.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { TypeUrl } from "@xdskit/envoy-api";
import { createXdsMetrics } from "@xdskit/server/metrics";
import { FakeEnvoy } from "@xdskit/testing";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { cluster } from "./support/envoy-resources.js";

/** The value of one sample line of the exposition text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("metrics", () => {
  it("config-propagation: from a snapshot change to each node's ACK of what it changed, once per stream and change", async () => {
    await using plane = await ControlPlane.start();
    const metrics = createXdsMetrics({ xds: plane.xds });
    try {
      const count = async () =>
        sample(await metrics.registry.metrics(), "xdskit_config_propagation_seconds_count", { type: TypeUrl.Cluster }) ?? 0;
      plane.cache.setSnapshot("n1", { version: "v1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
      await using envoy = await FakeEnvoy.start({ address: plane.address, node: { id: "n1" } });
      expect((await plane.xds.waitForAck({ node: "n1", version: "v1", timeoutMs: 5_000 })).outcome).toBe("acked");
      expect(await count()).toBe(0); // the stream opened after v1 was published: a first sync, not a propagation
      plane.cache.setSnapshot("n1", { version: "v2", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });
      expect((await plane.xds.waitForAck({ node: "n1", version: "v2", timeoutMs: 5_000 })).outcome).toBe("acked");
      expect(await count()).toBe(1);
      const sum = sample(await metrics.registry.metrics(), "xdskit_config_propagation_seconds_sum", { type: TypeUrl.Cluster })!;
      expect(sum).toBeGreaterThanOrEqual(0);
      expect(sum).toBeLessThan(5);
      // Same content under a new label: nothing is sent, nothing measured.
      plane.cache.setSnapshot("n1", { version: "v3", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });
      expect((await plane.xds.waitForAck({ node: "n1", version: "v3", timeoutMs: 5_000 })).outcome).toBe("acked");
      expect(await count()).toBe(1);
      void envoy;
    } finally {
      metrics.close();
    }
  });

  it("metrics-scrape: streams, requests, responses, bytes, ACKs, NACKs, ACK latency, nodes by sync state, snapshot versions, watches", async () => {
    await using plane = await ControlPlane.start();
    const registry = new Registry(); // a user's own registry: xdskit's metrics sit beside theirs
    const metrics = createXdsMetrics({ xds: plane.xds, registry });
    const http = createServer(metrics.handler);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      plane.cache.setSnapshot("good", { version: "release-1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
      plane.cache.setSnapshot("picky", { version: "release-1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
      await using good = await FakeEnvoy.start({ address: plane.address, node: { id: "good" } });
      await using picky = await FakeEnvoy.start({
        address: plane.address,
        node: { id: "picky" },
        nackRules: [{ name: "b", message: "no b" }],
      });
      await good.waitForResource(TypeUrl.Cluster, "a");
      await picky.waitForResource(TypeUrl.Cluster, "a");
      plane.cache.setSnapshot("picky", { version: "release-2", resources: { [TypeUrl.Cluster]: [cluster("a"), cluster("b")] } });
      await picky.waitForNack({ resourceName: "b" });
      await until(
        "both answered",
        () =>
          plane.status.nodeStatus("picky")?.types[TypeUrl.Cluster]?.lastNack &&
          plane.status.nodeStatus("good")?.types[TypeUrl.Cluster]?.lastAck,
      );

      const response = await fetch(`${url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/text\/plain/);
      const text = await response.text();
      const CDS = { type: TypeUrl.Cluster };
      expect(sample(text, "xdskit_streams_open", { protocol: "sotw", transport: "ads" })).toBe(2);
      expect(sample(text, "xdskit_acks_total", CDS)).toBeGreaterThanOrEqual(2);
      expect(sample(text, "xdskit_nacks_total", CDS)).toBe(1);
      expect(sample(text, "xdskit_responses_total", CDS)).toBeGreaterThanOrEqual(3);
      expect(sample(text, "xdskit_response_bytes_total", CDS)).toBeGreaterThan(0);
      expect(sample(text, "xdskit_requests_total", CDS)).toBeGreaterThanOrEqual(3);
      expect(sample(text, "xdskit_ack_latency_seconds_count", CDS)).toBe(sample(text, "xdskit_acks_total", CDS));
      expect(sample(text, "xdskit_nodes", { group: "good", state: "synced" })).toBe(1);
      expect(sample(text, "xdskit_nodes", { group: "picky", state: "nacked" })).toBe(1);
      expect(sample(text, "xdskit_nodes", { group: "picky", state: "synced" })).toBe(0);
      expect(sample(text, "xdskit_snapshot_info", { group: "picky", version: "release-2" })).toBe(1);
      expect(sample(text, "xdskit_snapshot_info", { group: "good", version: "release-1" })).toBe(1);
      expect(sample(text, "xdskit_watches")).toBeGreaterThanOrEqual(2);
      expect(sample(text, "xdskit_pending_responses")).toBe(0);
      expect((await fetch(`${url}/other`)).status).toBe(404);

      metrics.close();
      expect(registry.getMetricsAsArray()).toEqual([]);
    } finally {
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it("metrics-errors-by-fault: a throwing hook counts against the hook, not the client", async () => {
    await using plane = await ControlPlane.start({
      server: {
        callbacks: {
          onAck: () => {
            throw new Error("audit log full");
          },
        },
      },
    });
    const registry = new Registry();
    const metrics = createXdsMetrics({ xds: plane.xds, registry });
    try {
      plane.cache.setSnapshot("n", { version: "1", resources: { [TypeUrl.Cluster]: [cluster("a")] } });
      await using envoy = await FakeEnvoy.start({ address: plane.address, node: { id: "n" } });
      await envoy.waitForResource(TypeUrl.Cluster, "a");
      let reported = false;
      const subscription = plane.xds.events.subscribe((e) => {
        if (e.kind === "error") reported = true;
      });
      await until("the failed onAck hook reported", () => reported);
      subscription.unsubscribe();
      const text = await registry.metrics();
      expect(sample(text, "xdskit_errors_total", { code: "XDSKIT_HOOK_FAILED", fault: "hook" })).toBeGreaterThanOrEqual(1);
      expect(sample(text, "xdskit_errors_total", { fault: "client" })).toBeUndefined();
    } finally {
      metrics.close();
    }
  });
});
