// Fleet-wide node status against a real etcd: two replicas publish under
// their leases, a reader merges them per node, a node that moves shows the
// replica that serves it now, a dropped node's entry goes, and a replica
// that dies (stops renewing) has its entries expire with its lease.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ErrorCode } from "@xdskit/envoy-api";
import { Subject } from "rxjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdConfigStore } from "./etcd-store.js";
import { FleetStatusPublisher, FleetStatusReader, type NodeStatusSource } from "./fleet-status.js";
import { EtcdTestServer, findEtcdBinary } from "./testing/etcd-server.js";

const skip = process.env.XDSKIT_SKIP_TOOLS === "1" && findEtcdBinary() === undefined;
let etcd: EtcdTestServer;
beforeAll(async () => {
  if (!skip) etcd = await EtcdTestServer.start();
});
afterAll(async () => {
  await etcd?.destroy();
});

interface Status {
  readonly nodeId: string;
  openStreams: number;
  lastRequestAt: number;
}

/** A status source as NodeStatusTracker is one: nodes, one node, change events. */
class Tracker implements NodeStatusSource<Status> {
  readonly #nodes = new Map<string, Status>();
  readonly events = new Subject<{ nodeId: string }>();
  nodes(): Status[] {
    return [...this.#nodes.values()].map((s) => ({ ...s }));
  }
  nodeStatus(nodeId: string): Status | undefined {
    const s = this.#nodes.get(nodeId);
    return s && { ...s };
  }
  set(nodeId: string, openStreams: number): void {
    this.#nodes.set(nodeId, { nodeId, openStreams, lastRequestAt: Date.now() });
    this.events.next({ nodeId });
  }
  drop(nodeId: string): void {
    this.#nodes.delete(nodeId);
    this.events.next({ nodeId });
  }
}

const DIST = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
});

/** A replica process that publishes `nodes` (connected) as `replicaId` under a 2 s lease, until killed. */
function publisherProcess(prefix: string, replicaId: string, nodes: string[]): ChildProcess {
  const script = `
    const { EtcdConfigStore, FleetStatusPublisher } = await import(${JSON.stringify(DIST)});
    const { Subject } = await import("rxjs");
    const store = await EtcdConfigStore.connect({ endpoints: [${JSON.stringify(etcd.endpoint)}], prefix: ${JSON.stringify(prefix)} });
    const statuses = ${JSON.stringify(nodes)}.map((nodeId) => ({ nodeId, openStreams: 1, lastRequestAt: Date.now() }));
    const source = { nodes: () => statuses, nodeStatus: (id) => statuses.find((s) => s.nodeId === id), events: new Subject() };
    await FleetStatusPublisher.start({ store, replicaId: ${JSON.stringify(replicaId)}, source, ttlSeconds: 2 });
    setInterval(() => undefined, 1000);`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "ignore", "inherit"],
    cwd: fileURLToPath(new URL("..", import.meta.url)),
  });
  children.push(child);
  return child;
}

const connect = (prefix: string) => EtcdConfigStore.connect({ endpoints: [etcd.endpoint], prefix });
const summary = async (reader: FleetStatusReader) =>
  (await reader.nodes()).map((n) => [
    n.nodeId,
    n.replicaId,
    n.entries
      .map((e) => e.replicaId)
      .sort()
      .join(","),
  ]);

describe.skipIf(skip)("fleet status under etcd leases", () => {
  it("merges every replica's nodes, follows a node that moves, drops what a tracker drops, and expires a dead replica's entries", async () => {
    const prefix = "/fleet-1/";
    const [storeA, storeB, storeR] = await Promise.all([connect(prefix), connect(prefix), connect(prefix)]);
    const a = new Tracker();
    const b = new Tracker();
    a.set("edge-1", 1);
    a.set("edge-2", 1);
    const options = { ttlSeconds: 2, publishIntervalMs: 50 };
    const pubA = await FleetStatusPublisher.start({ store: storeA, replicaId: "cp-a", source: a, ...options });
    const pubB = await FleetStatusPublisher.start({ store: storeB, replicaId: "cp/b", source: b, ...options });
    const reader = new FleetStatusReader(storeR);
    expect(await summary(reader)).toEqual([
      ["edge-1", "cp-a", "cp-a"],
      ["edge-2", "cp-a", "cp-a"],
    ]);

    // edge-2 moves to cp/b: its old replica still holds it (disconnected) until its tracker drops it.
    b.set("edge-2", 1);
    a.set("edge-2", 0);
    b.set("front/1", 2);
    await expect
      .poll(() => summary(reader))
      .toEqual([
        ["edge-1", "cp-a", "cp-a"],
        ["edge-2", "cp/b", "cp-a,cp/b"],
        ["front/1", "cp/b", "cp/b"],
      ]);
    const front = (await reader.nodes()).find((n) => n.nodeId === "front/1");
    expect(front?.status).toMatchObject({ nodeId: "front/1", openStreams: 2 });
    a.drop("edge-2");
    await expect.poll(async () => (await summary(reader))[1]).toEqual(["edge-2", "cp/b", "cp/b"]);

    // A replica process dies (kill -9): no revoke, no more renewals. Its entries expire with its lease (TTL 2 s).
    await pubA.close();
    await storeA.close();
    const child = publisherProcess(prefix, "cp-dead", ["edge-9"]);
    await expect.poll(() => summary(reader), { timeout: 10_000 }).toContainEqual(["edge-9", "cp-dead", "cp-dead"]);
    child.kill("SIGKILL");
    const killedAt = Date.now();
    await expect
      .poll(() => summary(reader), { timeout: 10_000, interval: 100 })
      .toEqual([
        ["edge-2", "cp/b", "cp/b"],
        ["front/1", "cp/b", "cp/b"],
      ]);
    console.info(`fleet status: a killed replica's entries expired ${Date.now() - killedAt} ms after kill -9 (lease TTL 2 s)`);

    // A clean shutdown revokes: the entries vanish at once.
    await pubB.close();
    expect(await reader.nodes()).toEqual([]);
    await Promise.all([storeB.close(), storeR.close()]);
  });

  it("bounds the nodes it publishes, and refuses bad options by name", async () => {
    const store = await connect("/fleet-2/");
    const tracker = new Tracker();
    for (let i = 0; i < 5; i++) tracker.set(`n${i}`, 1);
    const publisher = await FleetStatusPublisher.start({ store, replicaId: "cp", source: tracker, maxNodes: 3, publishIntervalMs: 50 });
    expect(publisher.skipped).toBe(2);
    expect(await new FleetStatusReader(store).nodes()).toHaveLength(3);
    await publisher.close();
    await expect(FleetStatusPublisher.start({ store, replicaId: "", source: tracker })).rejects.toThrow(/option "replicaId"/);
    await expect(FleetStatusPublisher.start({ store, replicaId: "x", source: tracker, ttlSeconds: 0 })).rejects.toMatchObject({
      code: ErrorCode.INVALID_OPTION,
      path: "ttlSeconds",
    });
    await store.close();
  });
});
