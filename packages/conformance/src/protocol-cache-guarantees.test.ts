// Conformance, docs/protocol.md "Cache-wide guarantees" and versions-stable:
// the xdskit server against FakeEnvoy, SotW and delta, ADS and per-type.
import { digestOf, EntryStore, groupByIdPrefix, NodeStatusTracker, type StatusEvent } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { assignment, cluster, listener, routes } from "./support/envoy-resources.js";
import { SwitchProxy } from "./support/switch-proxy.js";
import { VARIANTS, type Variant } from "./support/variants.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;
const settle = () => new Promise((r) => setTimeout(r, 300));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resource versions a FakeEnvoy runs for a type, by name. */
function versions(envoy: FakeEnvoy, typeUrl: string): Record<string, string> {
  // The digest part: replicas label the same content with their own snapshot versions.
  return Object.fromEntries([...envoy.resources(typeUrl).values()].map((r) => [r.name, digestOf(r.version)]));
}

/** Starts FakeEnvoys in parallel; closes the ones that started if one fails. */
async function startAll(options: Parameters<typeof FakeEnvoy.start>[0][]): Promise<FakeEnvoy[]> {
  const results = await Promise.allSettled(options.map((o) => FakeEnvoy.start(o)));
  const started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(started.map((e) => e.close()));
    throw failed.reason;
  }
  return started;
}

const slug = (variant: Variant) => `${variant.protocol}${variant.ads ? "ads" : "types"}`;

describe.each(VARIANTS)("$name", (variant) => {
  const options = (address: string, id = "n1") => ({ address, protocol: variant.protocol, ads: variant.ads, node: { id } });

  it("versions-stable: two replicas given the same resources send the same versions, so a proxy moving to the other gets nothing new", async () => {
    await using one = await ControlPlane.start();
    await using two = await ControlPlane.start();
    // Equal content from separate objects, separate caches and entry stores, different snapshot labels.
    const config = () => ({
      [CDS]: [cluster("a"), cluster("b")],
      [EDS]: [assignment("a", 1), assignment("b", 2, 3)],
      [LDS]: [listener("web", 8080, "web-routes")],
      [RDS]: [routes("web-routes", "a")],
    });
    one.cache.setSnapshot("n1", { version: "replica-1", resources: config() });
    two.cache.setSnapshot("n1", { version: "replica-2", resources: config() });
    await using proxy = await SwitchProxy.start(one.address);
    await using envoy = await FakeEnvoy.start(options(proxy.address));
    await using witness = await FakeEnvoy.start(options(two.address));
    for (const e of [envoy, witness]) {
      await e.waitForEndpoints("b", 2);
      await e.waitForResource(RDS, "web-routes");
    }
    for (const typeUrl of [CDS, EDS, LDS, RDS]) {
      expect(Object.keys(versions(envoy, typeUrl)).length).toBeGreaterThan(0);
      expect(versions(envoy, typeUrl)).toEqual(versions(witness, typeUrl));
      // SotW version_info is per type; delta's system_version_info is a debugging label and may differ.
      if (variant.protocol === "sotw") expect(digestOf(envoy.version(typeUrl))).toBe(digestOf(witness.version(typeUrl)));
    }
    // Replica one goes away; the proxy reconnects, through the same address, to replica two.
    await settle();
    const after = envoy.seq;
    proxy.switchTo(two.address);
    await envoy.waitForStreamEnd({ after });
    await envoy.reconnect();
    await until("the proxy's watches on replica two", () => two.status.nodeStatus("n1")?.types[RDS]?.openWatches === 2);
    await settle();
    const since = envoy.history.filter((r) => r.seq > after);
    if (variant.protocol === "sotw") {
      // SotW: the wildcard types (clusters, listeners) resend nothing. Endpoints and routes are
      // named subscriptions, which the first request of a stream always gets answered (the server
      // cannot know the client did not drop and re-add names while away, reconnect-version):
      // resent, with the version_info the proxy already runs.
      expect(since.filter((r) => r.typeUrl === CDS || r.typeUrl === LDS).flatMap((r) => r.resourceNames)).toEqual([]);
      for (const r of since.filter((r) => r.typeUrl === EDS || r.typeUrl === RDS))
        expect(digestOf(r.version)).toBe(digestOf(witness.version(r.typeUrl)));
    } else {
      // Delta: a new stream's initial_resource_versions are trusted (delta-reconnect-only-differences):
      // nothing the proxy holds in the current content is sent again, wildcard or named.
      expect(since.flatMap((r) => [...r.resourceNames, ...r.removedNames])).toEqual([]);
      expect(since.flatMap((r) => r.removedNames)).toEqual([]);
    }
    for (const typeUrl of [CDS, EDS, LDS, RDS]) expect(versions(envoy, typeUrl)).toEqual(versions(witness, typeUrl));
    // It is replica two's client now: its changes arrive.
    two.cache.setSnapshot("n1", {
      version: "replica-2b",
      resources: { ...config(), [EDS]: [assignment("a", 1, 4), assignment("b", 2, 3)] },
    });
    await envoy.waitForEndpoints("a", 2);
    expect(envoy.nacks).toEqual([]);
  });

  it("status: after an ACK and a NACK, node and group status show last request, open watches, last sent, last ACK and the NACK's error", async () => {
    await using plane = await ControlPlane.start({ cache: { nodeGroup: groupByIdPrefix } });
    plane.cache.setSnapshot("edge", { version: "1", resources: { [CDS]: [cluster("a")] } });
    const started = Date.now();
    const only = { follow: false, types: [CDS] };
    await using envoy = await FakeEnvoy.start({ ...options(plane.address, "edge-1"), ...only });
    await using other = await FakeEnvoy.start({ ...options(plane.address, "edge-2"), ...only });
    const ack = await envoy.waitForAck(CDS);
    await other.waitForAck(CDS);
    await until("the first ACK in status", () => plane.status.nodeStatus("edge-1")?.types[CDS]?.lastAck);
    envoy.injectNack({ typeUrl: CDS, name: "b", message: "b is refused by the test" });
    plane.cache.setSnapshot("edge", { version: "2", resources: { [CDS]: [cluster("a"), cluster("b")] } });
    const nack = await envoy.waitForNack({ resourceName: "b" });
    await other.waitForResource(CDS, "b");
    const status = await until("the NACK in status", () => {
      const s = plane.status.nodeStatus("edge-1");
      return s?.types[CDS]?.lastNack && s;
    });
    expect(status).toMatchObject({ nodeId: "edge-1", group: "edge", openStreams: 1, node: { id: "edge-1" } });
    expect(status.disconnectedAt).toBeUndefined();
    expect(status.lastRequestAt).toBeGreaterThanOrEqual(nack.at);
    const cds = status.types[CDS]!;
    expect(cds.openWatches).toBe(1);
    expect(cds.lastRequestAt).toBeGreaterThanOrEqual(nack.at);
    expect(cds.lastSent).toMatchObject({ version: nack.version, nonce: nack.nonce });
    // SotW sends the full set; delta only what changed.
    expect([...cds.lastSent!.resourceNames].sort()).toEqual(variant.protocol === "sotw" ? ["a", "b"] : ["b"]);
    expect(cds.lastAck).toMatchObject({ nonce: ack.nonce });
    expect(cds.lastAck!.at).toBeGreaterThanOrEqual(started);
    expect(cds.lastNack).toMatchObject({ nonce: nack.nonce, error: { code: 3, message: nack.errorDetail!.message } });
    expect(cds.lastNack!.error.message).toContain("b is refused by the test");
    expect(cds.lastNack!.at).toBeGreaterThanOrEqual(nack.at);
    if (variant.protocol === "sotw") {
      expect(cds.lastAck!.version).toBe(ack.version);
      expect(cds.lastNack).toMatchObject({ rejectedVersion: nack.version, keptVersion: ack.version });
    }
    // The other node of the group accepted both.
    const accepted = other.history.at(-1)!;
    expect(accepted.decision).toBe("ack");
    const second = await until("edge-2's second ACK in status", () => {
      const t = plane.status.nodeStatus("edge-2")?.types[CDS];
      return t?.lastAck?.nonce === accepted.nonce && t;
    });
    expect(second.lastNack).toBeUndefined();
    // The group: both nodes, with watches summed.
    const group = plane.status.groupStatus("edge")!;
    expect(group.nodes.map((n) => n.nodeId).sort()).toEqual(["edge-1", "edge-2"]);
    expect(group.openWatches[CDS]).toBe(2);
    expect(group.lastRequestAt).toBe(Math.max(...group.nodes.map((n) => n.lastRequestAt!)));
  });

  it("status-drop: a node's status is dropped retentionMs after its FakeEnvoy disconnects, and kept while it is connected", async () => {
    await using plane = await ControlPlane.start({ server: { status: new NodeStatusTracker({ retentionMs: 200 }) } });
    const events: StatusEvent[] = [];
    const subscription = plane.status.events.subscribe((e) => events.push(e));
    try {
      for (const id of ["n1", "n2"]) plane.cache.setSnapshot(id, { version: "1", resources: { [CDS]: [cluster("a")] } });
      const only = { follow: false, types: [CDS] };
      const leaving = await FakeEnvoy.start({ ...options(plane.address, "n1"), ...only });
      await using staying = await FakeEnvoy.start({ ...options(plane.address, "n2"), ...only });
      try {
        await leaving.waitForAck(CDS);
        await staying.waitForAck(CDS);
        await until(
          "both ACKs in status",
          () => plane.status.nodeStatus("n1")?.types[CDS]?.lastAck && plane.status.nodeStatus("n2")?.types[CDS]?.lastAck,
        );
        // Connected for longer than the retention: kept.
        await sleep(400);
        expect(plane.status.nodeStatus("n1")).toBeDefined();
        // A reconnect within the retention keeps what the node did.
        staying.disconnect();
        await staying.reconnect();
      } finally {
        await leaving.close();
      }
      const gone = await until("n1 disconnected", () => plane.status.nodeStatus("n1")?.disconnectedAt);
      await until("n1 dropped", () => plane.status.nodeStatus("n1") === undefined, 2000);
      expect(Date.now() - gone).toBeGreaterThanOrEqual(190);
      expect(events.filter((e) => e.kind === "node-dropped").map((e) => e.nodeId)).toEqual(["n1"]);
      await sleep(400);
      const kept = plane.status.nodeStatus("n2");
      expect(kept?.openStreams).toBeGreaterThan(0);
      expect(kept?.types[CDS]?.lastAck).toBeDefined();
    } finally {
      subscription.unsubscribe();
    }
  });
});

describe("every variant together", () => {
  it("encode-once: many FakeEnvoys in several node groups: each distinct resource is encoded once, and a change once more", async () => {
    const entries = new EntryStore();
    await using plane = await ControlPlane.start({ cache: { entries, nodeGroup: groupByIdPrefix } });
    // The same resource objects for every group (as a control plane builds them once per change).
    const config = {
      [CDS]: [cluster("a"), cluster("b")],
      [EDS]: [assignment("a", 1), assignment("b", 2)],
      [LDS]: [listener("web", 8080, "web-routes")],
      [RDS]: [routes("web-routes", "a")],
    };
    const groups = ["g1", "g2", "g3"];
    for (const group of groups) plane.cache.setSnapshot(group, { version: "1", resources: config });
    expect(entries.encodeCount).toBe(6);
    const envoys = await startAll(
      groups.flatMap((group) =>
        VARIANTS.flatMap((variant) =>
          [0, 1].map((k) => ({
            address: plane.address,
            protocol: variant.protocol,
            ads: variant.ads,
            node: { id: `${group}-${slug(variant)}-${k}` },
          })),
        ),
      ),
    );
    try {
      expect(envoys).toHaveLength(24);
      await Promise.all(envoys.map((e) => e.waitForEndpoints("b", 1)));
      await Promise.all(envoys.map((e) => e.waitForResource(RDS, "web-routes")));
      expect(entries.encodeCount).toBe(6);
      // One endpoint change for every group: one more encode, not one per group or client.
      const changed = assignment("a", 1, 2);
      for (const group of groups) plane.cache.updateResources(group, { version: "2", upsert: { [EDS]: [changed] } });
      await Promise.all(envoys.map((e) => e.waitForEndpoints("a", 2)));
      expect(entries.encodeCount).toBe(7);
      for (const e of envoys) expect(e.nacks).toEqual([]);
    } finally {
      await Promise.all(envoys.map((e) => e.close()));
    }
  });

  it("wake-only-affected: a change to one cluster's endpoints reaches only the FakeEnvoys subscribed to it in that group", async () => {
    await using plane = await ControlPlane.start({ cache: { nodeGroup: groupByIdPrefix } });
    const config = () => ({ [CDS]: [cluster("a"), cluster("b")], [EDS]: [assignment("a", 1), assignment("b", 2)] });
    for (const group of ["g1", "g2"]) plane.cache.setSnapshot(group, { version: "1", resources: config() });
    // Per variant: in g1 one client of a's endpoints, one of b's, one of the clusters only; in g2 one of a's.
    const roles = [
      { group: "g1", role: "a", types: [], eds: ["a"] },
      { group: "g1", role: "b", types: [], eds: ["b"] },
      { group: "g1", role: "cds", types: [CDS], eds: [] },
      { group: "g2", role: "a", types: [], eds: ["a"] },
    ];
    const clients = VARIANTS.flatMap((variant) => roles.map((r) => ({ ...r, variant })));
    const envoys = await startAll(
      clients.map((c) => ({
        address: plane.address,
        protocol: c.variant.protocol,
        ads: c.variant.ads,
        node: { id: `${c.group}-${c.role}-${slug(c.variant)}` },
        follow: false,
        types: c.types,
      })),
    );
    try {
      envoys.forEach((e, i) => {
        if (clients[i]!.eds.length > 0) e.subscribe(EDS, clients[i]!.eds);
      });
      await Promise.all(
        envoys.map((e, i) => (clients[i]!.role === "cds" ? e.waitForResource(CDS, "b") : e.waitForEndpoints(clients[i]!.role, 1))),
      );
      await settle();
      const before = envoys.map((e) => e.seq);
      plane.cache.updateResources("g1", { version: "2", upsert: { [EDS]: [assignment("a", 1, 2)] } });
      const woken = envoys.filter((_, i) => clients[i]!.group === "g1" && clients[i]!.role === "a");
      expect(woken).toHaveLength(4);
      await Promise.all(woken.map((e) => e.waitForEndpoints("a", 2)));
      await settle();
      envoys.forEach((e, i) => {
        const since = e.history.filter((r) => r.seq > before[i]!);
        const { group, role, variant } = clients[i]!;
        if (group === "g1" && role === "a") expect(since.map((r) => [r.typeUrl, r.resourceNames])).toEqual([[EDS, ["a"]]]);
        else expect(since, `${group}-${role} (${variant.name})`).toEqual([]);
      });
    } finally {
      await Promise.all(envoys.map((e) => e.close()));
    }
  });
});
