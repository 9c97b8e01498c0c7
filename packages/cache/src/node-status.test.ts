import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cla, EDS, node, record, sotw } from "./internal/fixtures.test.js";
import { HARNESSES, type Harness } from "./internal/harness.test.js";
import type { StatusEvent } from "./node-status.js";
import { SnapshotCache } from "./snapshot-cache.js";
import type { ProtocolEvent } from "./types.js";

describe.each(HARNESSES)("node status: $name", ({ make }) => {
  let h: Harness;
  beforeEach(() => {
    vi.useFakeTimers();
    h = make({ statusRetentionMs: 60_000 });
    h.set(EDS, [cla("a")]);
  });
  afterEach(() => {
    h.dispose();
    vi.useRealTimers();
  });
  const observe = (e: ProtocolEvent): void => h.cache.observe!(e);

  it("status-fields: last request, open watches, last sent, last ACK and last NACK with error detail and time, per node and group", () => {
    for (const [i, n] of h.nodes.entries()) {
      observe({ kind: "stream-opened", streamId: 100 + i, node: n, protocol: "sotw", ads: true, at: 1000 });
      observe({ kind: "request", streamId: 100 + i, node: n, typeUrl: EDS, at: 1001 });
      const w = record(h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: "x" })));
      const v = w.one().version;
      const held = record(h.cache.watchSotw(sotw(n, EDS, { names: ["a"], versionInfo: v })));
      observe({ kind: "response", streamId: 100 + i, node: n, typeUrl: EDS, version: v, nonce: "1", resourceNames: ["a"], at: 1002 });
      observe({ kind: "ack", streamId: 100 + i, node: n, typeUrl: EDS, version: v, nonce: "1", at: 1003 });
      observe({
        kind: "nack",
        streamId: 100 + i,
        node: n,
        typeUrl: EDS,
        rejectedVersion: "bad",
        keptVersion: v,
        nonce: "2",
        error: { code: 3, message: "invalid endpoint" },
        at: 1004,
      });
      const s = h.nodeStatus(n.id)!;
      expect(s.group).toBe(h.groupOf(n));
      expect(s.openStreams).toBe(1);
      expect(s.lastRequestAt).toBe(1001);
      const t = s.types[EDS]!;
      expect(t.openWatches).toBe(1);
      expect(t.lastRequestAt).toBe(1001);
      expect(t.lastSent).toEqual({ version: v, nonce: "1", resourceNames: ["a"], at: 1002 });
      expect(t.lastAck).toEqual({ version: v, nonce: "1", at: 1003 });
      expect(t.lastNack).toEqual({
        rejectedVersion: "bad",
        keptVersion: v,
        nonce: "2",
        error: { code: 3, message: "invalid endpoint" },
        at: 1004,
      });
      const g = h.groupStatus(h.groupOf(n))!;
      expect(g.nodes.map((x) => x.nodeId)).toContain(n.id);
      expect(g.openWatches[EDS]).toBe(1);
      expect(g.lastRequestAt).toBe(1001);
      held.subscription.unsubscribe();
      expect(h.nodeStatus(n.id)!.types[EDS]!.openWatches).toBe(0);
    }
  });

  it("status-drop: a node's state is dropped a configurable time after its last stream closes, not before", () => {
    const n = h.nodes[0]!;
    observe({ kind: "stream-opened", streamId: 1, node: n, protocol: "delta", ads: true, at: 0 });
    observe({ kind: "stream-opened", streamId: 2, node: n, protocol: "delta", ads: true, at: 0 });
    observe({ kind: "stream-closed", streamId: 1, node: n, at: 10 });
    vi.advanceTimersByTime(120_000);
    expect(h.nodeStatus(n.id)).toBeDefined(); // one stream still open
    observe({ kind: "stream-closed", streamId: 2, node: n, at: 20 });
    expect(h.nodeStatus(n.id)!.disconnectedAt).toBe(20);
    vi.advanceTimersByTime(59_999);
    expect(h.nodeStatus(n.id)).toBeDefined();
    vi.advanceTimersByTime(1);
    expect(h.nodeStatus(n.id)).toBeUndefined();
  });

  it("status-drop-reconnect: a node that reconnects within the retention time keeps its state", () => {
    const n = h.nodes[1]!;
    observe({ kind: "stream-opened", streamId: 1, node: n, protocol: "sotw", ads: true, at: 0 });
    observe({ kind: "ack", streamId: 1, node: n, typeUrl: EDS, version: "v1", nonce: "1", at: 5 });
    observe({ kind: "stream-closed", streamId: 1, node: n, at: 10 });
    vi.advanceTimersByTime(30_000);
    observe({ kind: "stream-opened", streamId: 2, node: n, protocol: "sotw", ads: true, at: 30_010 });
    vi.advanceTimersByTime(120_000);
    expect(h.nodeStatus(n.id)!.types[EDS]!.lastAck!.version).toBe("v1");
  });

  it("status-drop-watches: a node seen only through watches is dropped after its last watch ends", () => {
    const n = h.nodes[2]!;
    const w = record(h.cache.watchSotw(sotw(n, EDS, { names: ["zz"] })));
    vi.advanceTimersByTime(120_000);
    expect(h.nodeStatus(n.id)!.types[EDS]!.openWatches).toBe(1);
    w.subscription.unsubscribe();
    vi.advanceTimersByTime(60_000);
    expect(h.nodeStatus(n.id)).toBeUndefined();
  });
});

describe("observe", () => {
  it("rejects a malformed event with a clear error", () => {
    const cache = new SnapshotCache();
    expect(() => cache.observe(null as never)).toThrow(/expected a ProtocolEvent/);
    expect(() => cache.observe({ kind: "request" } as never)).toThrow(/without node/);
    cache.dispose();
  });
});

describe("status-regroup", () => {
  it("status-regroup: a node that comes back in another node group is filed under its new group", () => {
    vi.useFakeTimers();
    try {
      const cache = new SnapshotCache({ nodeGroup: (n) => n.cluster, statusRetentionMs: 60_000 });
      cache.observe({ kind: "stream-opened", streamId: 1, node: node("n1", "front"), protocol: "sotw", ads: true, at: 0 });
      cache.observe({ kind: "stream-closed", streamId: 1, node: node("n1", "front"), at: 10 });
      // Within the retention time the node reconnects with another cluster, so another group key.
      const moved = node("n1", "back");
      cache.observe({ kind: "stream-opened", streamId: 2, node: moved, protocol: "sotw", ads: true, at: 20 });
      const w = record(cache.watchSotw(sotw(moved, EDS, { names: ["a"] })));
      expect(cache.nodeStatus("n1")!.group).toBe("back");
      expect(cache.groupStatus("back")!.nodes.map((n) => n.nodeId)).toEqual(["n1"]);
      expect(cache.groupStatus("back")!.openWatches[EDS]).toBe(1);
      expect(cache.groupStatus("front")).toBeUndefined();
      w.subscription.unsubscribe();
      cache.dispose();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("statusEvents", () => {
  it("status-events: is hot without replay, files events under node and group, and reports dropped nodes", () => {
    vi.useFakeTimers();
    try {
      const cache = new SnapshotCache({ nodeGroup: (n) => n.cluster, statusRetentionMs: 1000 });
      const n = node("n1", "front");
      cache.observe({ kind: "stream-opened", streamId: 1, node: n, protocol: "sotw", ads: false, at: 0 });
      const seen: StatusEvent[] = [];
      const sub = cache.statusEvents.subscribe((e) => seen.push(e));
      expect(seen).toEqual([]); // no replay of the stream-opened event
      cache.observe({ kind: "request", streamId: 1, node: n, typeUrl: EDS, at: 1 });
      cache.observe({ kind: "stream-closed", streamId: 1, node: n, at: 2 });
      vi.advanceTimersByTime(1000);
      expect(seen.map((e) => e.kind)).toEqual(["protocol", "protocol", "node-dropped"]);
      expect(seen[0]).toMatchObject({ kind: "protocol", nodeId: "n1", group: "front", event: { kind: "request" } });
      expect(seen[2]).toMatchObject({ kind: "node-dropped", nodeId: "n1", group: "front" });
      cache.dispose();
      expect(sub.closed).toBe(true); // dispose completes the stream
    } finally {
      vi.useRealTimers();
    }
  });
});
