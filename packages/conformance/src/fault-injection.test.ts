// Fault injection (issue 9, "Done when"): on one server, at the same time,
// every hook throws or rejects, an xds.events subscriber and a
// diagnostics_channel subscriber throw, one peer floods idle streams, a delta
// client grows its subscriptions past the bound, a client floods requests
// while onStreamOpen decides, and REST clients send oversized bodies and
// never finish their headers. Meanwhile a sentinel FakeEnvoy, connected
// before the faults start, must receive every update on time; each fault gets
// its documented answer, and nothing reaches the process as an uncaught
// exception or unhandled rejection. Real gRPC and HTTP sockets on loopback.
import diagnosticsChannel from "node:diagnostics_channel";
import type { AddressInfo } from "node:net";
import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { silentLogger } from "@xdskit/cache";
import { AggregatedDiscoveryServiceClient, DeltaDiscoveryRequest, DiscoveryRequest, TypeUrl } from "@xdskit/envoy-api";
import { ServerChannels, type XdsServerEvent } from "@xdskit/server";
import { FakeEnvoy } from "@xdskit/testing";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { edsCluster, endpoints } from "./support/grpc-resources.js";

/** How late an update may reach the sentinel while the faults run. */
const ON_TIME_MS = 3_000;
const UPDATES = 12;

const leaked: unknown[] = [];
const onLeak = (reason: unknown) => leaked.push(reason);
beforeEach(() => {
  leaked.length = 0;
  process.on("unhandledRejection", onLeak);
  process.prependListener("uncaughtException", onLeak);
});
afterEach(() => {
  process.off("unhandledRejection", onLeak);
  process.off("uncaughtException", onLeak);
});

function snapshot(version: number) {
  return {
    version: String(version),
    resources: {
      [TypeUrl.Cluster]: [edsCluster("web")],
      [TypeUrl.ClusterLoadAssignment]: [endpoints("web", [10_000 + version])],
    },
  };
}

type Ended = { code: number; details: string };

/** A raw ADS client on a connection of its own. */
function rawClient(address: string): AggregatedDiscoveryServiceClient {
  return new AggregatedDiscoveryServiceClient(address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
}

function endOf<Req, Res>(call: grpc.ClientDuplexStream<Req, Res>): Promise<Ended> {
  return new Promise((resolve) => {
    call.on("data", () => {});
    call.on("error", (e: grpc.ServiceError) => resolve({ code: e.code, details: e.details }));
    call.on("status", (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
  });
}

/**
 * 160 streams from one address over 4 connections that never send a request,
 * and, once they fill the server's unidentified slots, a late FakeEnvoy from
 * the same address that must still get its configuration.
 */
async function idleFlood(plane: ControlPlane): Promise<{ ends: Ended[]; latecomerServed: boolean }> {
  const clients = [0, 1, 2, 3].map(() => rawClient(plane.address));
  try {
    const ends = Promise.all(clients.flatMap((client) => Array.from({ length: 40 }, () => endOf(client.streamAggregatedResources()))));
    await until("the idle streams to fill the unidentified slots", () => plane.xds.stats.openingStreams >= 100);
    await using latecomer = await FakeEnvoy.start({ address: plane.address, node: { id: "latecomer" } });
    await latecomer.waitForEndpoints("web", 1, { timeoutMs: ON_TIME_MS });
    return { ends: await ends, latecomerServed: true };
  } finally {
    for (const client of clients) client.close();
  }
}

/** A delta client subscribing to 400 KB more names per request until it is ended. */
async function oversizedSubscriptions(address: string): Promise<Ended> {
  const client = rawClient(address);
  try {
    const call = client.deltaAggregatedResources();
    const ended = endOf(call);
    for (let i = 0; i < 6; i++) {
      const names = Array.from({ length: 200 }, (_, j) => `huge-${i}-${j}-`.padEnd(2_000, "x"));
      call.write(
        DeltaDiscoveryRequest.fromPartial({
          ...(i === 0 ? { node: { id: "hoarder" } } : {}),
          typeUrl: TypeUrl.ClusterLoadAssignment,
          resourceNamesSubscribe: names,
        }),
      );
    }
    return await ended;
  } finally {
    client.close();
  }
}

/** A client that sends 2 MB of requests while its (slow) onStreamOpen decides. */
async function floodBeforeAdmission(address: string): Promise<Ended> {
  const client = rawClient(address);
  try {
    const call = client.streamAggregatedResources();
    const ended = endOf(call);
    call.write(DiscoveryRequest.fromPartial({ node: { id: "slow-flooder" }, typeUrl: TypeUrl.Cluster }));
    const filler = "v".repeat(100_000);
    for (let i = 0; i < 20; i++) call.write(DiscoveryRequest.fromPartial({ typeUrl: TypeUrl.Cluster, versionInfo: filler }));
    return await ended;
  } finally {
    client.close();
  }
}

/** A client whose onStreamOpen rejects: its stream is refused with INTERNAL. */
async function rejectedOpen(address: string): Promise<Ended> {
  const client = rawClient(address);
  try {
    const call = client.streamAggregatedResources();
    const ended = endOf(call);
    call.write(DiscoveryRequest.fromPartial({ node: { id: "boom-1" }, typeUrl: TypeUrl.Cluster }));
    return await ended;
  } finally {
    client.close();
  }
}

/** REST abuse: an oversized body, a connection that never finishes its headers, and honest fetches meanwhile. */
async function restAbuse(base: string, port: number) {
  const oversized = fetch(`${base}/v3/discovery:clusters`, {
    method: "POST",
    body: "x".repeat(5 * 1024 * 1024),
  }).then(
    (r) => r.status,
    () => "reset",
  );
  const slowloris = new Promise<number>((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1", () => socket.write("POST /v3/discovery:clusters HTTP/1.1\r\nHost: x\r\n"));
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => resolve(Date.now() - started));
  });
  const honest = Promise.all(
    Array.from({ length: 10 }, () =>
      fetch(`${base}/v3/discovery:clusters`, { method: "POST", body: JSON.stringify({ node: { id: "rest-client" } }) }).then(
        (r) => r.status,
      ),
    ),
  );
  return { oversized: await oversized, slowlorisHeldMs: await slowloris, honest: await honest };
}

it("a sentinel stream keeps every update on time while hooks, observers, idle floods, oversized subscriptions and REST abuse hit the same server", async () => {
  const reject = async (what: string) => {
    await new Promise((resolve) => setImmediate(resolve));
    throw new Error(`${what} rejected`);
  };
  await using plane = await ControlPlane.start({
    cache: { nodeGroup: () => "all" },
    server: {
      // Every fault is logged otherwise; the events carry what the test checks.
      logger: silentLogger,
      firstRequestTimeoutMs: 1_000,
      maxOpeningStreams: 100,
      maxSubscriptionBytes: 1024 * 1024,
      maxBufferedRequestBytes: 256 * 1024,
      callbacks: {
        onStreamOpen: async ({ context }) => {
          if (context.node.id.startsWith("slow-")) await new Promise((resolve) => setTimeout(resolve, 800));
          if (context.node.id.startsWith("boom-")) throw new Error("auth backend down");
          return undefined;
        },
        onRequest: () => {
          throw new Error("onRequest threw");
        },
        onResponse: () => reject("onResponse"),
        onAck: () => {
          throw new Error("onAck threw");
        },
        onNack: () => reject("onNack"),
        onStreamClosed: () => reject("onStreamClosed"),
        onFetch: () => {
          throw new Error("onFetch threw");
        },
      },
    },
  });
  const rest = plane.xds.restServer({ headersTimeoutMs: 500, requestTimeoutMs: 1_000 });
  await new Promise<void>((resolve) => rest.listen(0, "127.0.0.1", resolve));
  const restPort = (rest.address() as AddressInfo).port;
  const events: XdsServerEvent[] = [];
  plane.xds.events.subscribe((e) => events.push(e));
  let observerCalls = 0;
  plane.xds.events.subscribe(() => {
    observerCalls += 1;
    throw new Error("events subscriber threw");
  });
  const tracer = () => {
    throw new Error("tracer threw");
  };
  diagnosticsChannel.subscribe(ServerChannels.response, tracer);

  try {
    plane.cache.setSnapshot("all", snapshot(1));
    await using sentinel = await FakeEnvoy.start({ address: plane.address, node: { id: "sentinel" } });
    const holds = (version: number) => () => sentinel.endpointAddresses("web").join() === `127.0.0.1:${10_000 + version}`;
    await until("the sentinel's first snapshot", holds(1));

    // The gRPC faults come from one address, so they go one after the other:
    // the idle flood alone fills that address's opening slots (by design).
    const grpcFaults = (async () => {
      const [hoarder, flooder, boom] = await Promise.all([
        oversizedSubscriptions(plane.address),
        floodBeforeAdmission(plane.address),
        rejectedOpen(plane.address),
      ]);
      return [await idleFlood(plane), hoarder, flooder, boom] as const;
    })();
    const faults = Promise.all([grpcFaults, restAbuse(`http://127.0.0.1:${restPort}`, restPort)]);
    const latencies: number[] = [];
    for (let version = 2; version <= UPDATES; version++) {
      const started = Date.now();
      plane.cache.setSnapshot("all", snapshot(version));
      await until(`update ${version} at the sentinel`, holds(version), ON_TIME_MS);
      latencies.push(Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const [[idle, hoarder, flooder, boom], abuse] = await faults;
    console.log(
      `fault-injection: sentinel got ${latencies.length} updates, slowest after ${Math.max(...latencies)} ms (median ${latencies.sort((a, b) => a - b)[latencies.length >> 1]} ms)`,
    );

    // The sentinel's stream was never ended and saw every version in order.
    expect(sentinel.streamEnds).toEqual([]);
    expect(latencies.length).toBe(UPDATES - 1);

    // Idle flood: the unidentified slots hold 100; each newcomer, the late
    // FakeEnvoy included, ended the oldest idle stream instead of being refused;
    // the rest were held until firstRequestTimeoutMs.
    expect(idle.latecomerServed).toBe(true);
    const evicted = idle.ends.filter((e) => e.code === grpc.status.RESOURCE_EXHAUSTED);
    const timedOut = idle.ends.filter((e) => e.code === grpc.status.DEADLINE_EXCEEDED);
    expect(evicted.length + timedOut.length).toBe(160);
    expect(evicted.length).toBeGreaterThanOrEqual(60);
    expect(evicted.every((e) => e.details.includes("ended to make room"))).toBe(true);
    await until("the idle streams to be released", () => plane.xds.stats.openingStreams === 0);

    expect(hoarder.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(hoarder.details).toContain("option maxSubscriptionBytes");
    expect(boom).toMatchObject({
      code: grpc.status.INTERNAL,
      details: expect.stringContaining("onStreamOpen hook failed: auth backend down"),
    });
    expect(flooder.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(flooder.details).toContain("option maxBufferedRequestBytes");

    expect([413, "reset"]).toContain(abuse.oversized);
    expect(abuse.slowlorisHeldMs).toBeLessThan(ON_TIME_MS);
    expect(abuse.honest).toEqual(Array(10).fill(200));

    // Every faulty hook and observer was reported; the observers were dropped.
    const hookErrors = events.filter((e) => e.kind === "error" && e.error.code === "XDSKIT_HOOK_FAILED");
    for (const hook of ["onRequest", "onResponse", "onAck", "onFetch"]) {
      expect(hookErrors.some((e) => e.kind === "error" && e.error.message.startsWith(`callbacks.${hook} threw`))).toBe(true);
    }
    await until("both observers to be dropped", () =>
      ["an xds.events subscriber", "a diagnostics_channel subscriber"].every((who) =>
        events.some((e) => e.kind === "error" && e.error.message.startsWith(who) && e.error.message.includes("dropped after 3")),
      ),
    );
    expect(observerCalls).toBe(3);
    // Let late rejections settle, then check that none escaped.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(leaked).toEqual([]);
  } finally {
    diagnosticsChannel.unsubscribe(ServerChannels.response, tracer);
    await new Promise<void>((resolve) => rest.close(() => resolve()));
    rest.closeAllConnections();
  }
});
