// NodeStatusTracker: one merged view of every node, fed with protocol events,
// independent of the caches, bounded in nodes and bytes.
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CDS, EDS, LDS, node } from "./internal/fixtures.test.js";
import { nackedResources } from "./internal/nack-detail.js";
import { groupByIdPrefix } from "./node-group.js";
import { NODE_STATUS_DEFAULTS, NodeStatusTracker, type StatusEvent } from "./node-status.js";
import type { ProtocolEvent } from "./types.js";

describe("node status", () => {
  let status: NodeStatusTracker;
  beforeEach(() => {
    vi.useFakeTimers();
    status = new NodeStatusTracker({ nodeGroup: groupByIdPrefix, retentionMs: 60_000 });
  });
  afterEach(() => {
    status.dispose();
    vi.useRealTimers();
  });
  const observe = (e: ProtocolEvent): void => status.observe(e);
  const nodes = [node("g1-a"), node("g2-a"), node("g3-a")];

  it("status-fields: last request, open subscriptions, last sent, last ACK and last NACK with error detail and time, per node and group", () => {
    for (const [i, n] of nodes.entries()) {
      observe({ kind: "stream-opened", streamId: 100 + i, node: n, protocol: "sotw", ads: true, at: 1000 });
      observe({ kind: "request", streamId: 100 + i, node: n, typeUrl: EDS, at: 1001 });
      observe({ kind: "response", streamId: 100 + i, node: n, typeUrl: EDS, version: "v1", nonce: "1", resourceNames: ["a"], at: 1002 });
      observe({ kind: "ack", streamId: 100 + i, node: n, typeUrl: EDS, version: "v1", nonce: "1", at: 1003 });
      observe({
        kind: "response",
        streamId: 100 + i,
        node: n,
        typeUrl: EDS,
        version: "bad",
        nonce: "2",
        resourceNames: ["a", "b"],
        at: 1004,
      });
      observe({
        kind: "nack",
        streamId: 100 + i,
        node: n,
        typeUrl: EDS,
        rejectedVersion: "bad",
        keptVersion: "v1",
        nonce: "2",
        error: { code: 3, message: "Error adding/updating cluster load assignment(s) b: invalid endpoint" },
        at: 1005,
      });
      const s = status.nodeStatus(n.id)!;
      expect(s.group).toBe(groupByIdPrefix(n));
      expect(s.openStreams).toBe(1);
      expect(s.lastRequestAt).toBe(1001);
      const t = s.types[EDS]!;
      expect(t.openWatches).toBe(1);
      expect(t.lastRequestAt).toBe(1001);
      expect(t.lastSent).toEqual({ version: "bad", nonce: "2", resourceNames: ["a", "b"], at: 1004 });
      expect(t.lastAck).toEqual({ version: "v1", nonce: "1", at: 1003 });
      expect(t.lastNack).toEqual({
        rejectedVersion: "bad",
        keptVersion: "v1",
        nonce: "2",
        error: { code: 3, message: "Error adding/updating cluster load assignment(s) b: invalid endpoint" },
        resourceNames: ["b"],
        at: 1005,
      });
      const g = status.groupStatus(groupByIdPrefix(n))!;
      expect(g.nodes.map((x) => x.nodeId)).toEqual([n.id]);
      expect(g.openWatches[EDS]).toBe(1);
      expect(g.lastRequestAt).toBe(1001);
      observe({ kind: "stream-closed", streamId: 100 + i, node: n, at: 1006 });
      expect(status.nodeStatus(n.id)!.types[EDS]!.openWatches).toBe(0);
    }
  });

  it("status-merged: one view per node whatever cache or server answered it (types served by different caches, streams on two servers)", () => {
    const n = nodes[0]!;
    // Stream ids are unique in the process, so two servers can feed one tracker.
    observe({ kind: "stream-opened", streamId: 1, node: n, protocol: "sotw", ads: true, at: 1 });
    observe({ kind: "stream-opened", streamId: 2, node: n, protocol: "delta", ads: false, at: 1 });
    observe({ kind: "request", streamId: 1, node: n, typeUrl: CDS, at: 2 });
    observe({ kind: "request", streamId: 1, node: n, typeUrl: EDS, at: 3 });
    observe({ kind: "request", streamId: 2, node: n, typeUrl: EDS, at: 4 });
    const s = status.nodeStatus(n.id)!;
    expect(s.openStreams).toBe(2);
    expect(Object.keys(s.types).sort()).toEqual([CDS, EDS].sort());
    expect(s.types[EDS]!.openWatches).toBe(2);
    expect(s.types[CDS]!.openWatches).toBe(1);
    expect(status.nodes().map((x) => x.nodeId)).toEqual([n.id]);
  });

  it("status-drop: a node's state is dropped a configurable time after its last stream closes, not before", () => {
    const n = nodes[0]!;
    observe({ kind: "stream-opened", streamId: 1, node: n, protocol: "delta", ads: true, at: 0 });
    observe({ kind: "stream-opened", streamId: 2, node: n, protocol: "delta", ads: true, at: 0 });
    observe({ kind: "stream-closed", streamId: 1, node: n, at: 10 });
    vi.advanceTimersByTime(120_000);
    expect(status.nodeStatus(n.id)).toBeDefined(); // one stream still open
    observe({ kind: "stream-closed", streamId: 2, node: n, at: 20 });
    expect(status.nodeStatus(n.id)!.disconnectedAt).toBe(20);
    vi.advanceTimersByTime(59_999);
    expect(status.nodeStatus(n.id)).toBeDefined();
    vi.advanceTimersByTime(1);
    expect(status.nodeStatus(n.id)).toBeUndefined();
    expect(status.stats).toEqual({ nodes: 0, bytes: 0 });
  });

  it("status-drop-reconnect: a node that reconnects within the retention time keeps its state", () => {
    const n = nodes[1]!;
    observe({ kind: "stream-opened", streamId: 1, node: n, protocol: "sotw", ads: true, at: 0 });
    observe({ kind: "ack", streamId: 1, node: n, typeUrl: EDS, version: "v1", nonce: "1", at: 5 });
    observe({ kind: "stream-closed", streamId: 1, node: n, at: 10 });
    vi.advanceTimersByTime(30_000);
    observe({ kind: "stream-opened", streamId: 2, node: n, protocol: "sotw", ads: true, at: 30_010 });
    vi.advanceTimersByTime(120_000);
    expect(status.nodeStatus(n.id)!.types[EDS]!.lastAck!.version).toBe("v1");
  });

  it("status-drop-watches: a node seen only through events of streams the tracker never saw open ages out too", () => {
    const n = nodes[2]!;
    observe({ kind: "request", streamId: 9, node: n, typeUrl: EDS, at: 1 });
    vi.advanceTimersByTime(59_999);
    expect(status.nodeStatus(n.id)).toBeDefined();
    vi.advanceTimersByTime(1);
    expect(status.nodeStatus(n.id)).toBeUndefined();
  });

  it("status-regroup: a node that comes back in another node group is filed under its new group", () => {
    const tracker = new NodeStatusTracker({ nodeGroup: (n) => n.cluster, retentionMs: 60_000 });
    tracker.observe({ kind: "stream-opened", streamId: 1, node: node("n1", "front"), protocol: "sotw", ads: true, at: 0 });
    tracker.observe({ kind: "stream-closed", streamId: 1, node: node("n1", "front"), at: 10 });
    // Within the retention time the node reconnects with another cluster, so another group key.
    const moved = node("n1", "back");
    tracker.observe({ kind: "stream-opened", streamId: 2, node: moved, protocol: "sotw", ads: true, at: 20 });
    tracker.observe({ kind: "request", streamId: 2, node: moved, typeUrl: EDS, at: 21 });
    expect(tracker.nodeStatus("n1")!.group).toBe("back");
    expect(tracker.groupStatus("back")!.nodes.map((n) => n.nodeId)).toEqual(["n1"]);
    expect(tracker.groupStatus("back")!.openWatches[EDS]).toBe(1);
    expect(tracker.groupStatus("front")).toBeUndefined();
    tracker.dispose();
  });

  it("status-events: is hot without replay, files events under node and group, and reports dropped nodes", () => {
    const tracker = new NodeStatusTracker({ nodeGroup: (n) => n.cluster, retentionMs: 1000 });
    const n = node("n1", "front");
    tracker.observe({ kind: "stream-opened", streamId: 1, node: n, protocol: "sotw", ads: false, at: 0 });
    const seen: StatusEvent[] = [];
    const sub = tracker.events.subscribe((e) => seen.push(e));
    expect(seen).toEqual([]); // no replay of the stream-opened event
    tracker.observe({ kind: "request", streamId: 1, node: n, typeUrl: EDS, at: 1 });
    tracker.observe({ kind: "stream-closed", streamId: 1, node: n, at: 2 });
    vi.advanceTimersByTime(1000);
    expect(seen.map((e) => e.kind)).toEqual(["protocol", "protocol", "node-dropped"]);
    expect(seen[0]).toMatchObject({ kind: "protocol", nodeId: "n1", group: "front", event: { kind: "request" } });
    expect(seen[2]).toMatchObject({ kind: "node-dropped", nodeId: "n1", group: "front", reason: "retention" });
    tracker.dispose();
    expect(sub.closed).toBe(true); // dispose completes the stream
  });

  it("rejects a malformed event and bad options with a clear error", () => {
    expect(() => status.observe(null as never)).toThrow(/expected a ProtocolEvent/);
    expect(() => status.observe({ kind: "request" } as never)).toThrow(/without node/);
    expect(() => new NodeStatusTracker({ maxNodes: 0 })).toThrow(/option "maxNodes" must be an integer >= 1; got 0/);
    expect(() => new NodeStatusTracker({ retentionMs: -1 })).toThrow(/option "retentionMs"/);
    expect(() => new NodeStatusTracker({ nodes: 5 } as never)).toThrow(/option "nodes"/);
  });
});

describe("status-bounded: node status is bounded in nodes and bytes, keeps no metadata, and forgets the oldest first", () => {
  const HUGE = "x".repeat(2_600_000);
  const withMetadata = (id: string): Node =>
    ({
      id,
      cluster: "edge",
      userAgentName: "envoy",
      userAgentVersion: "1.31.0",
      metadata: { fields: { blob: { kind: { $case: "stringValue", stringValue: HUGE } } } },
    }) as unknown as Node;

  it("keeps only the node's identity, never its metadata (a 2.6 MB metadata node costs bytes, not megabytes)", () => {
    const status = new NodeStatusTracker();
    status.observe({ kind: "stream-opened", streamId: 1, node: withMetadata("big"), protocol: "sotw", ads: true, at: 1 });
    const s = status.nodeStatus("big")!;
    expect(s.node).toEqual({ id: "big", cluster: "edge", userAgentName: "envoy", userAgentVersion: "1.31.0" });
    expect(s.node).not.toHaveProperty("metadata");
    expect(status.stats.bytes).toBeLessThan(2_000);
    status.dispose();
  });

  it("caps the number of nodes (default 50,000): churn of 61,504 disconnected nodes keeps the newest 50,000", () => {
    expect(NODE_STATUS_DEFAULTS.maxNodes).toBe(50_000);
    const status = new NodeStatusTracker();
    const dropped: string[] = [];
    status.events.subscribe((e) => e.kind === "node-dropped" && dropped.push(e.nodeId));
    for (let i = 0; i < 61_504; i++) {
      const n = node(`churn-${i}`);
      status.observe({ kind: "stream-opened", streamId: i, node: n, protocol: "sotw", ads: true, at: i });
      status.observe({ kind: "stream-closed", streamId: i, node: n, at: i });
    }
    expect(status.stats.nodes).toBe(50_000);
    expect(dropped.length).toBe(11_504);
    expect(dropped[0]).toBe("churn-0"); // the oldest goes first
    expect(status.nodeStatus("churn-11503")).toBeUndefined();
    expect(status.nodeStatus("churn-11504")).toBeDefined();
    expect(status.nodeStatus("churn-61503")).toBeDefined();
    status.dispose();
  });

  it("forgets disconnected nodes before connected ones, and the least recently active connected node after that", () => {
    const status = new NodeStatusTracker({ maxNodes: 3 });
    // Activity orders nodes to the second: each step here is a second apart.
    const open = (id: string, stream: number) =>
      status.observe({ kind: "stream-opened", streamId: stream, node: node(id), protocol: "sotw", ads: true, at: stream * 1000 });
    open("connected-old", 1);
    open("gone", 2);
    status.observe({ kind: "stream-closed", streamId: 2, node: node("gone"), at: 3000 });
    open("connected-new", 4);
    open("fourth", 5);
    expect(
      status
        .nodes()
        .map((s) => s.nodeId)
        .sort(),
    ).toEqual(["connected-new", "connected-old", "fourth"]);
    status.observe({ kind: "request", streamId: 1, node: node("connected-old"), typeUrl: CDS, at: 6000 }); // activity
    open("fifth", 7);
    expect(
      status
        .nodes()
        .map((s) => s.nodeId)
        .sort(),
    ).toEqual(["connected-old", "fifth", "fourth"]);
    status.dispose();
  });

  it("events in a row with one Node object reach its node, also after that node was forgotten or another came between", () => {
    const status = new NodeStatusTracker({ maxNodes: 1 });
    const a = node("a");
    const b = node("b");
    status.observe({ kind: "stream-opened", streamId: 1, node: a, protocol: "sotw", ads: true, at: 1000 });
    status.observe({ kind: "request", streamId: 1, node: a, typeUrl: CDS, at: 1001 });
    status.observe({ kind: "response", streamId: 1, node: a, typeUrl: CDS, version: "v1", nonce: "1", resourceNames: ["c"], at: 1002 });
    expect(status.nodeStatus("a")?.types[CDS]?.lastSent?.version).toBe("v1");
    // b pushes a out (maxNodes 1); a's next event makes it anew, and pushes b out.
    status.observe({ kind: "stream-opened", streamId: 2, node: b, protocol: "sotw", ads: true, at: 2000 });
    expect(status.nodeStatus("a")).toBeUndefined();
    status.observe({ kind: "ack", streamId: 1, node: a, typeUrl: CDS, version: "v1", nonce: "1", at: 3000 });
    expect(status.nodeStatus("b")).toBeUndefined();
    expect(status.nodeStatus("a")?.types[CDS]).toMatchObject({ lastAck: { version: "v1", nonce: "1", at: 3000 } });
    expect(status.nodeStatus("a")?.types[CDS]?.lastSent).toBeUndefined();
    status.observe({ kind: "ack", streamId: 1, node: a, typeUrl: LDS, version: "v2", nonce: "2", at: 3001 });
    expect(Object.keys(status.nodeStatus("a")?.types ?? {}).sort()).toEqual([CDS, LDS].sort());
    status.dispose();
  });

  it("counts the bytes of what it holds as documented: 2 bytes a character, 400 a node, 64 a stream, 200 a type", () => {
    const status = new NodeStatusTracker();
    const n = { id: "n1", cluster: "edge", userAgentName: "envoy", userAgentVersion: "1.31.0" } as unknown as Node;
    const bytes = (chars: number, types: number) => 400 + 64 + types * 200 + 2 * chars;
    const identity = "n1".length + "edge".length + "envoy".length + "1.31.0".length;
    status.observe({ kind: "stream-opened", streamId: 1, node: n, protocol: "sotw", ads: true, at: 1 });
    status.observe({ kind: "request", streamId: 1, node: n, typeUrl: CDS, at: 2 });
    expect(status.stats.bytes).toBe(bytes(identity + CDS.length, 1));
    const names = ["alpha", "beta"];
    const sent = "v1".length + "7".length + (5 + 8) + (4 + 8);
    status.observe({ kind: "response", streamId: 1, node: n, typeUrl: CDS, version: "v1", nonce: "7", resourceNames: names, at: 3 });
    expect(status.stats.bytes).toBe(bytes(identity + CDS.length + sent, 1));
    status.observe({ kind: "ack", streamId: 1, node: n, typeUrl: CDS, version: "v1", nonce: "7", at: 4 });
    const acked = "v1".length + "7".length;
    expect(status.stats.bytes).toBe(bytes(identity + CDS.length + sent + acked, 1));
    // A second response replaces the first: only its own characters count.
    status.observe({ kind: "response", streamId: 1, node: n, typeUrl: CDS, version: "v22", nonce: "8", resourceNames: ["alpha"], at: 5 });
    const sent2 = "v22".length + "8".length + (5 + 8);
    expect(status.stats.bytes).toBe(bytes(identity + CDS.length + sent2 + acked, 1));
    const message = "Error adding/updating cluster(s) alpha: bad";
    status.observe({
      kind: "nack",
      streamId: 1,
      node: n,
      typeUrl: CDS,
      rejectedVersion: "v22",
      keptVersion: "v1",
      nonce: "8",
      error: { code: 3, message },
      at: 6,
    });
    const nacked = "v22".length + "v1".length + "8".length + message.length + (5 + 8);
    expect(status.stats.bytes).toBe(bytes(identity + CDS.length + sent2 + acked + nacked, 1));
    // The node's identity changes with a new Node object: it is counted anew.
    const renamed = { id: "n1", cluster: "edge-west", userAgentName: "envoy", userAgentVersion: "1.31.0" } as unknown as Node;
    status.observe({ kind: "request", streamId: 1, node: renamed, typeUrl: EDS, at: 7 });
    status.observe({ kind: "ack", streamId: 1, node: renamed, typeUrl: EDS, version: "e", nonce: "9", at: 8 });
    const identity2 = identity + "-west".length;
    expect(status.stats.bytes).toBe(bytes(identity2 + CDS.length + sent2 + acked + nacked + EDS.length + 2, 2));
    status.dispose();
  });

  it("caps the bytes held: long resource-name lists push the oldest nodes out, and the total stays under maxBytes", () => {
    const maxBytes = 1024 * 1024;
    const status = new NodeStatusTracker({ maxBytes });
    const names = Array.from({ length: 2_000 }, (_, i) => `service-${i}.namespace.svc.cluster.local`);
    for (let i = 0; i < 40; i++) {
      const n = node(`n${i}`);
      status.observe({ kind: "stream-opened", streamId: i, node: n, protocol: "sotw", ads: true, at: i });
      status.observe({ kind: "response", streamId: i, node: n, typeUrl: EDS, version: "1", nonce: "1", resourceNames: names, at: i });
      expect(status.stats.bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(status.stats.nodes).toBeGreaterThan(1);
    expect(status.stats.nodes).toBeLessThan(40);
    expect(status.nodeStatus("n39")).toBeDefined();
    expect(status.nodeStatus("n0")).toBeUndefined();
    status.dispose();
  });
});

describe("nack-resources: a NACK records which resources it concerned, from the error detail", () => {
  it("reads Envoy's format (names followed by a colon), FakeEnvoy's, and gRPC's resource indexes (gRFC A46)", () => {
    const sent = ["web", "api", "db", "web-canary"];
    expect(nackedResources("Error adding/updating cluster(s) api: bad lb policy, db: no hosts", sent)).toEqual(["api", "db"]);
    expect(nackedResources("Error adding/updating listener(s) web: a\nweb-canary: b", sent)).toEqual(["web", "web-canary"]);
    expect(nackedResources("Error adding/updating cluster(s) db: db: connect_timeout: value must be greater than 0s", sent)).toEqual([
      "db",
    ]);
    expect(nackedResources("xDS response validation errors: [resource index 1: api: bad; resource index 3: oops]", sent)).toEqual([
      "api",
      "web-canary",
    ]);
    // Text that only looks like a name, or names not in the rejected response, are not reported.
    expect(nackedResources("Proto constraint validation failed (webbing: x)", sent)).toEqual([]);
    expect(nackedResources("Error adding/updating cluster(s) other: nope", sent)).toEqual([]);
    expect(nackedResources("anything", [])).toEqual([]);
  });

  it("only counts names of the response whose nonce was rejected", () => {
    const status = new NodeStatusTracker();
    const n = node("n1");
    status.observe({ kind: "stream-opened", streamId: 1, node: n, protocol: "sotw", ads: true, at: 0 });
    status.observe({ kind: "response", streamId: 1, node: n, typeUrl: LDS, version: "2", nonce: "7", resourceNames: ["http"], at: 1 });
    const nack = (nonce: string) =>
      status.observe({
        kind: "nack",
        streamId: 1,
        node: n,
        typeUrl: LDS,
        rejectedVersion: "2",
        keptVersion: "1",
        nonce,
        error: { code: 3, message: "Error adding/updating listener(s) http: bad filter" },
        at: 2,
      });
    nack("7");
    expect(status.nodeStatus("n1")!.types[LDS]!.lastNack!.resourceNames).toEqual(["http"]);
    nack("6"); // an older response: its names are not known any more
    expect(status.nodeStatus("n1")!.types[LDS]!.lastNack!.resourceNames).toEqual([]);
    status.dispose();
  });
});
