// Conformance, docs/protocol.md rules on holding answers back: hold until the
// state is loaded, never answer a missing name with an empty list, and the
// ADS consistency option. The xdskit server against FakeEnvoy, SotW and
// delta, ADS and per-type.
import { LinearCache, MuxCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane, ServedCache, until } from "./support/control-plane.js";
import { assignment, cluster } from "./support/envoy-resources.js";
import { SwitchProxy } from "./support/switch-proxy.js";
import { VARIANTS } from "./support/variants.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const settle = () => new Promise((r) => setTimeout(r, 300));

/** Unloaded LinearCaches for clusters, endpoints and listeners behind one MuxCache. */
function unloadedCaches() {
  const clusters = new LinearCache({ typeUrl: CDS });
  const endpoints = new LinearCache({ typeUrl: EDS });
  const listeners = new LinearCache({ typeUrl: LDS });
  const mux = new MuxCache({ caches: { [CDS]: clusters, [EDS]: endpoints, [LDS]: listeners } });
  return {
    clusters,
    endpoints,
    listeners,
    mux,
    [Symbol.dispose]() {
      for (const cache of [clusters, endpoints, listeners]) cache.dispose();
    },
  };
}

describe.each(VARIANTS)("$name", (variant) => {
  const options = (address: string) => ({ address, protocol: variant.protocol, ads: variant.ads, node: { id: "n1" } });

  it("hold-until-loaded: a client of an unloaded LinearCache gets nothing until the cache is loaded, then its config", async () => {
    using caches = unloadedCaches();
    await using served = await ServedCache.start(caches.mux);
    await using envoy = await FakeEnvoy.start(options(served.address));
    // The requests reached the caches: their watches are open, and held.
    await until("the cluster and listener watches", () => {
      const watches = (typeUrl: string) => served.status.nodeStatus("n1")?.types[typeUrl]?.openWatches ?? 0;
      return watches(CDS) > 0 && watches(LDS) > 0;
    });
    await settle();
    expect(envoy.history).toEqual([]);
    expect(caches.clusters.loaded).toBe(false);
    // Loading answers every held watch, the empty listener set included.
    caches.clusters.replaceAll([cluster("a")]);
    caches.endpoints.upsert(assignment("a", 1));
    caches.listeners.markLoaded();
    await envoy.waitForEndpoints("a", 1);
    await envoy.waitFor((e) => e.history.some((r) => r.typeUrl === LDS), { description: "the (empty) listener answer" });
    expect(envoy.nacks).toEqual([]);
  });

  it("hold-until-loaded: a SnapshotCache holds a node whose group has no snapshot yet", async () => {
    await using plane = await ControlPlane.start();
    await using envoy = await FakeEnvoy.start(options(plane.address));
    await until("the cluster watch", () => plane.status.nodeStatus("n1")?.types[CDS]?.openWatches);
    await settle();
    expect(envoy.history).toEqual([]);
    plane.cache.setSnapshot("n1", { version: "1", resources: { [CDS]: [cluster("a")], [EDS]: [assignment("a", 1)] } });
    await envoy.waitForEndpoints("a", 1);
  });

  it("hold-until-loaded: a proxy reconnecting to a restarted, not yet loaded control plane keeps its config", async () => {
    await using before = await ControlPlane.start();
    before.cache.setSnapshot("n1", { version: "1", resources: { [CDS]: [cluster("a")], [EDS]: [assignment("a", 1)] } });
    using caches = unloadedCaches();
    await using restarted = await ServedCache.start(caches.mux);
    await using proxy = await SwitchProxy.start(before.address);
    await using envoy = await FakeEnvoy.start(options(proxy.address));
    await envoy.waitForEndpoints("a", 1);
    // The control plane restarts: the proxy reconnects to one that has not read its state yet.
    const after = envoy.seq;
    proxy.switchTo(restarted.address);
    await envoy.waitForStreamEnd({ after });
    await envoy.reconnect();
    await until("the reconnected cluster watch", () => restarted.status.nodeStatus("n1")?.types[CDS]?.openWatches);
    await settle();
    expect(envoy.history.filter((r) => r.seq > after)).toEqual([]);
    expect(envoy.endpointAddresses("a")).toEqual(["10.1.0.1:1"]);
    // Once loaded, the proxy gets what changed and keeps the rest.
    caches.clusters.replaceAll([cluster("a"), cluster("b")]);
    caches.endpoints.upsertMany([assignment("a", 1), assignment("b", 2)]);
    caches.listeners.markLoaded();
    await envoy.waitForEndpoints("b", 1);
    expect(envoy.endpointAddresses("a")).toEqual(["10.1.0.1:1"]);
    expect(envoy.nacks).toEqual([]);
  });

  // Envoy gives up on a resource it is still waiting for after its
  // initial_fetch_timeout (15 s by default) and goes on without it. That
  // timer is the client's: the server cannot see or shorten it, and a test
  // cannot speed it up without waiting 15 s. What the server controls, and
  // what this test asserts: a missing name is never answered with an empty
  // list (SotW: nothing is sent for it; delta: it is reported as not
  // existing), what does exist is not delayed, and the missing resource is
  // sent as soon as it appears.
  it("missing-give-up: the server holds a missing name (never an empty answer), sends what exists at once, and the rest when it appears", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources: { [CDS]: [cluster("a"), cluster("b")], [EDS]: [assignment("a", 1)] } });
    await using envoy = await FakeEnvoy.start(options(plane.address));
    await envoy.waitForEndpoints("a", 1);
    await envoy.waitFor((e) => e.subscription(EDS).names.has("b"), { description: "an endpoint subscription naming b" });
    await settle();
    const eds = envoy.history.filter((r) => r.typeUrl === EDS);
    expect(eds.flatMap((r) => r.resourceNames)).not.toContain("b");
    if (variant.protocol === "sotw") {
      for (const r of eds) expect(r.resourceNames).toEqual(["a"]);
    } else {
      // Delta says so explicitly ("does not exist"), which ends the client's wait.
      expect(eds.flatMap((r) => r.removedNames)).toEqual(["b"]);
    }
    expect(plane.status.nodeStatus("n1")?.types[EDS]?.openWatches).toBe(1);
    // b appears: it is sent straight away, and a is kept.
    plane.cache.updateResources("n1", { version: "2", upsert: { [EDS]: [assignment("b", 2)] } });
    await envoy.waitForEndpoints("b", 1, { timeoutMs: 1000 });
    expect(envoy.endpointAddresses("a")).toEqual(["10.1.0.1:1"]);
    expect(envoy.nacks).toEqual([]);
  });
});

describe("SotW over ADS", () => {
  const resources = { [CDS]: [cluster("a"), cluster("b")], [EDS]: [assignment("a", 1), assignment("b", 2)] };
  const client = (plane: ControlPlane) => FakeEnvoy.start({ address: plane.address, node: { id: "n1" }, follow: false, types: [] });

  it("ads-consistency: with the option on, a client naming only some endpoints is held until it names them all", async () => {
    await using plane = await ControlPlane.start({ cache: { adsConsistency: true } });
    plane.cache.setSnapshot("n1", { version: "1", resources });
    await using envoy = await client(plane);
    envoy.subscribe(EDS, ["a"]);
    await until("the endpoint watch", () => plane.status.nodeStatus("n1")?.types[EDS]?.openWatches);
    await settle();
    expect(envoy.history).toEqual([]);
    envoy.subscribe(EDS, ["b"]);
    await envoy.waitForEndpoints("b", 1);
    expect(envoy.endpointAddresses("a")).toEqual(["10.1.0.1:1"]);
    expect(envoy.history.map((r) => r.resourceNames)).toEqual([["a", "b"]]);
  });

  it("ads-consistency: off by default, the same client is answered at once with what it names", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "1", resources });
    await using envoy = await client(plane);
    envoy.subscribe(EDS, ["a"]);
    await envoy.waitForEndpoints("a", 1, { timeoutMs: 1000 });
    expect(envoy.history.map((r) => r.resourceNames)).toEqual([["a"]]);
  });
});

describe.each(VARIANTS.filter((v) => v.protocol !== "sotw" || !v.ads))("$name", (variant) => {
  it("ads-consistency: the option holds SotW over ADS only; this client is answered at once", async () => {
    await using plane = await ControlPlane.start({ cache: { adsConsistency: true } });
    plane.cache.setSnapshot("n1", {
      version: "1",
      resources: { [CDS]: [cluster("a"), cluster("b")], [EDS]: [assignment("a", 1), assignment("b", 2)] },
    });
    await using envoy = await FakeEnvoy.start({
      address: plane.address,
      protocol: variant.protocol,
      ads: variant.ads,
      node: { id: "n1" },
      follow: false,
      types: [],
    });
    envoy.subscribe(EDS, ["a"]);
    await envoy.waitForEndpoints("a", 1, { timeoutMs: 1000 });
    expect(envoy.history.flatMap((r) => r.resourceNames)).toEqual(["a"]);
  });
});
