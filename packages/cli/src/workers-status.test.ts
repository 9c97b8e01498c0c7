import type { NodeStatus } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FOLLOW_REFRESH_MS, type WorkerNodes, WorkersStatus } from "./workers-status.js";

const node = (nodeId: string, fields: Partial<NodeStatus> = {}, ackNonce = "1"): NodeStatus => ({
  nodeId,
  group: "front",
  node: { id: nodeId, cluster: "", userAgentName: "", userAgentVersion: "" },
  openStreams: 1,
  lastRequestAt: 10,
  types: {
    [TypeUrl.Cluster]: {
      typeUrl: TypeUrl.Cluster,
      openWatches: 1,
      lastSent: { version: "v1", nonce: "1", resourceNames: [], at: 10 },
      lastAck: { version: "v1", nonce: ackNonce, at: 11 },
    },
  },
  ...fields,
});

afterEach(() => {
  vi.useRealTimers();
});

describe("WorkersStatus (serve --workers: every worker's node status, merged)", () => {
  it("merges the workers' nodes; a node on two workers shows as the one with open streams, else the latest", async () => {
    let answers: WorkerNodes[] = [
      { index: 0, nodes: [node("a", { openStreams: 0, disconnectedAt: 50 }), node("b")] },
      { index: 1, nodes: [node("a", { lastRequestAt: 20 }), node("c", { group: "back" })] },
    ];
    const status = new WorkersStatus(async () => answers);
    expect(status.nodes()).toEqual([]);
    await status.refresh();
    expect(status.nodes().map((n) => n.nodeId)).toEqual(["b", "c", "a"]);
    expect(status.nodeStatus("a")?.openStreams).toBe(1);
    expect(status.workerOf("a")).toBe(1);
    expect(status.groupStatus("front")).toMatchObject({ group: "front", lastRequestAt: 20, openWatches: { [TypeUrl.Cluster]: 2 } });
    expect(status.groupStatus("none")).toBeUndefined();
    // Worker 1 died: its nodes are gone from the next read; a's old disconnected entry on worker 0 remains.
    answers = [answers[0] as WorkerNodes];
    await status.refresh();
    expect(status.nodes().map((n) => [n.nodeId, n.openStreams])).toEqual([
      ["b", 1],
      ["a", 0],
    ]);
  });

  it("reads the workers on a change only while followed, at most once a second, and emits each node that changed", async () => {
    vi.useFakeTimers();
    let asked = 0;
    let ack = "1";
    const status = new WorkersStatus(async () => {
      asked++;
      return [{ index: 0, nodes: [node("a", {}, ack), node("b")] }];
    });
    status.changed();
    await vi.advanceTimersByTimeAsync(FOLLOW_REFRESH_MS * 2);
    expect(asked).toBe(0); // nobody follows: nothing read
    const seen: string[] = [];
    const following = status.events.subscribe((e) => seen.push(e.nodeId));
    status.changed();
    status.changed();
    await vi.advanceTimersByTimeAsync(FOLLOW_REFRESH_MS);
    expect(asked).toBe(1);
    expect(seen).toEqual(["a", "b"]);
    ack = "2"; // a's ACK moved; b unchanged
    status.changed();
    await vi.advanceTimersByTimeAsync(FOLLOW_REFRESH_MS);
    expect(seen).toEqual(["a", "b", "a"]);
    following.unsubscribe();
    status.changed();
    await vi.advanceTimersByTimeAsync(FOLLOW_REFRESH_MS * 2);
    expect(asked).toBe(2);
    status.close();
  });
});
