// The server side of the fleet benchmark (fleet.ts), one process per run,
// pinned to one core by the parent. It imports @xdskit/server, @xdskit/cache
// and @xdskit/envoy-api from the tree under test (argv[2], a repository root
// whose packages are built), so the same script serves the current tree and a
// baseline commit. Every node is in one node group. It counts encodes by
// wrapping the codecs' `encode` (resource codecs: one call per resource
// encoding; response codecs: one call per response or framed part).
//
// IPC protocol (parent -> child): {kind:"stats"}, {kind:"update"} (one endpoint),
// {kind:"updateAll"} (a new snapshot changing every resource of every type),
// {kind:"burst"} (one-endpoint updates 1 ms apart), {kind:"stop"}.
// Child -> parent: "ready" once serving, then one answer per command.
//
// The RSS it reports when ready is the server's, not the harness's: the
// modules only some runs need (node:cluster for workers, node:inspector for
// the profiles, node:v8 for a heap snapshot) are loaded by those runs only,
// and `gc` comes from --expose-gc (fleet/child.ts) rather than node:vm.
// With BENCH_PUBLISHED=1 (fleet.ts --published, which also passes
// --conditions=xdskit-bundle) a tree that has the bundles its packages publish
// (scripts/bundle.mjs) is loaded through them, as an application installed
// from npm loads it; a tree without them (a baseline older than the bundles)
// is loaded as tsc built it, which is also what it published.

import { existsSync, writeFileSync } from "node:fs";
import type { Session } from "node:inspector";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CLUSTERS, cluster, listener, loadAssignment, routeConfiguration } from "./fixture.js";
import { serveH2Floor } from "./h2-floor.js";
import { hasPublishedBundles } from "./published.js";

const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (await (async () => {
    // Run by hand without --expose-gc.
    (await import("node:v8")).setFlagsFromString("--expose-gc");
    return (await import("node:vm")).runInNewContext("gc") as () => void;
  })());
const profiling = ["BENCH_ALLOC_PROFILE", "BENCH_INITIAL_PROFILE", "BENCH_UPDATE_PROFILE"].some((name) => process.env[name] !== undefined);
const inspector = profiling ? await import("node:inspector") : undefined;
const newSession = (): Session => new inspector!.Session();
const v8 = process.env.BENCH_HEAP_SNAPSHOT !== undefined ? await import("node:v8") : undefined;

export type ServerCommand =
  | { kind: "stats" }
  | { kind: "update"; generation: number }
  | { kind: "updateAll"; generation: number }
  | { kind: "burst"; from: number; count: number }
  | { kind: "stop" };
export interface Encodes {
  /** Calls of the resource codecs' encode (Cluster, ClusterLoadAssignment, Listener, RouteConfiguration). */
  resources: number;
  /** Calls of DiscoveryResponse / DeltaDiscoveryResponse / Resource encode (per-stream framing). */
  responses: number;
}
export type ServerReport =
  | { kind: "ready"; port: number; importMs: number; rss: number; heap: number; cpuMs: number; encodes: Encodes }
  | { kind: "stats"; rss: number; heap: number; cpuMs: number; streams: number; acks: number; encodes: Encodes }
  | { kind: "updated" };

type AnyModule = Record<string, any>;

async function main(): Promise<void> {
  const root = process.argv[2]!;
  const streams = Number(process.argv[3]);
  const workers = Number(process.argv[4] ?? 1);
  if (workers > 1) {
    const { default: nodeCluster } = await import("node:cluster");
    if (nodeCluster.isPrimary) return primary(nodeCluster, workers);
  }
  const bundles = process.env.BENCH_PUBLISHED === "1" && hasPublishedBundles(root);
  const load = (path: string): Promise<AnyModule> =>
    import(pathToFileURL(join(root, "packages", bundles ? path.replace("/dist/", "/dist/bundle/") : path)).href);
  const start = performance.now();
  const server = await load("server/dist/index.js");
  const importMs = performance.now() - start;
  const cacheModule = await load("cache/dist/index.js");
  // What a server that serves neither CSDS nor REST-JSON loads of envoy-api: its
  // core entry (without CSDS, LRS, JSON), as @xdskit/server does; the root entry
  // in a tree older than it.
  const api = await load(existsSync(join(root, "packages/envoy-api/dist/core.js")) ? "envoy-api/dist/core.js" : "envoy-api/dist/index.js");
  const gen = (path: string): Promise<AnyModule> => load(`envoy-api/dist/gen/${path}.js`);
  const { Cluster } = await gen("envoy/config/cluster/v3/cluster");
  const { ClusterLoadAssignment } = await gen("envoy/config/endpoint/v3/endpoint");
  const { Listener } = await gen("envoy/config/listener/v3/listener");
  const { RouteConfiguration } = await gen("envoy/config/route/v3/route");
  const { HttpConnectionManager } = await gen("envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager");
  const { Router } = await gen("envoy/extensions/filters/http/router/v3/router");
  // Loaded only by the runs that serve on grpc-js: the node:http2 transport runs without it,
  // and it is 5-6 MiB of the RSS when ready.
  const loadGrpc = (): AnyModule => createRequire(join(root, "packages/server/package.json"))("@grpc/grpc-js");

  const encodes: Encodes = { resources: 0, responses: 0 };
  const count = (codec: AnyModule, key: keyof Encodes): void => {
    const encode = codec.encode;
    codec.encode = function (this: unknown, ...args: unknown[]) {
      encodes[key]++;
      return encode.apply(this, args);
    };
  };
  for (const codec of [Cluster, ClusterLoadAssignment, Listener, RouteConfiguration]) count(codec, "resources");
  for (const codec of [api.DiscoveryResponse, api.DeltaDiscoveryResponse, api.Resource]) count(codec, "responses");

  const T = api.TypeUrl;
  const cache = new cacheModule.SnapshotCache({ nodeGroup: () => "all" });
  const snapshot = (generation: number): void => {
    cache.setSnapshot("all", {
      version: `v${generation}`,
      resources: {
        [T.Cluster]: Array.from({ length: CLUSTERS }, (_, i) => Cluster.fromPartial(cluster(i, generation))),
        [T.ClusterLoadAssignment]: Array.from({ length: CLUSTERS }, (_, i) =>
          ClusterLoadAssignment.fromPartial(loadAssignment(i, generation)),
        ),
        [T.Listener]: [Listener.fromPartial(listener({ pack: api.pack, HttpConnectionManager, Router }, generation))],
        [T.RouteConfiguration]: [RouteConfiguration.fromPartial(routeConfiguration(generation))],
      },
    });
  };
  snapshot(0);
  const updateOne = (generation: number): void => {
    const updated = ClusterLoadAssignment.fromPartial(loadAssignment(7, generation));
    cache.updateResources("all", { version: `v${generation}`, upsert: { [T.ClusterLoadAssignment]: [updated] } });
  };
  let acks = 0;
  const xds = new server.XdsServer({
    cache,
    maxConcurrentStreams: Math.max(server.DEFAULT_SERVER_OPTIONS.maxConcurrentStreams, streams + 100),
    callbacks: { onAck: () => void acks++ },
  });
  if (process.env.BENCH_FLOOR === "http2" || process.env.BENCH_FLOOR === "h2js") {
    const codecs = { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, HttpConnectionManager, Router };
    const port = await (process.env.BENCH_FLOOR === "http2" ? http2Floor(api, codecs) : h2jsFloor(api, codecs));
    process.send!({
      kind: "ready",
      port,
      importMs,
      rss: 0,
      heap: 0,
      cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
      encodes,
    });
    process.on("message", (command: ServerCommand) => {
      if (command.kind === "stats") {
        const cpu = process.cpuUsage();
        process.send!({ kind: "stats", rss: 0, heap: 0, cpuMs: (cpu.user + cpu.system) / 1000, streams: 0, acks: 0, encodes });
      } else if (command.kind === "stop") process.exit(0);
    });
    return;
  }
  // BENCH_TRANSPORT=http2 (fleet.ts --transport): the server under test serves through
  // xds.serveHttp2 on a node:http2 server instead of grpc-js.
  let stopServer: () => void;
  let port: number;
  if (process.env.BENCH_TRANSPORT === "http2" && process.env.BENCH_FLOOR !== "grpc") {
    const http2 = await import("node:http2");
    // maxSessionMemory: each load-generator connection carries about 100 streams, whose queued
    // responses exceed node's default 10 MiB per session (node then refuses new streams); grpc-js
    // lifts the same limit by default (docs/server.md, serving on node:http2).
    const h2 = http2.createServer({ maxSessionMemory: 1_000, settings: { maxConcurrentStreams: 1_000_000 } });
    xds.serveHttp2(h2, { services: ["ads"] });
    port = await new Promise<number>((resolve, reject) => {
      h2.once("error", reject);
      h2.listen(0, "127.0.0.1", () => resolve((h2.address() as { port: number }).port));
    });
    stopServer = () => h2.close();
  } else {
    const grpc = loadGrpc();
    const grpcServer = new grpc.Server({ "grpc.max_concurrent_streams": 1_000_000 });
    if (process.env.BENCH_FLOOR === "grpc")
      transportFloor(grpcServer, api, { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, HttpConnectionManager, Router });
    else xds.register(grpcServer, { services: ["ads"] });
    port = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error: Error | null, p: number) =>
        error ? reject(error) : resolve(p),
      ),
    );
    stopServer = () => grpcServer.forceShutdown();
  }
  const memory = (): { rss: number; heap: number; cpuMs: number } => {
    const cpu = process.cpuUsage();
    gc();
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss, heap: m.heapUsed, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
  const send = (report: ServerReport): void => void process.send!(report);
  // BENCH_ALLOC_PROFILE=<file>: a sampling allocation profile of the initial sync (from ready to
  // the first stats), collected objects included, so it shows what the garbage collector is fed.
  const allocProfile = process.env.BENCH_ALLOC_PROFILE;
  let session: Session | undefined;
  let updateSession: Session | undefined;
  let heapSnapshotWritten = false;
  const readyMemory = memory();
  if (allocProfile !== undefined) {
    session = newSession();
    session.connect();
    session.post("HeapProfiler.startSampling", {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
  }
  // BENCH_INITIAL_PROFILE=<file>: a CPU profile of the initial sync only (from ready to the first stats).
  let initialSession: Session | undefined;
  if (process.env.BENCH_INITIAL_PROFILE !== undefined) {
    initialSession = newSession();
    initialSession.connect();
    initialSession.post("Profiler.enable");
    initialSession.post("Profiler.setSamplingInterval", { interval: 200 });
    initialSession.post("Profiler.start");
  }
  send({ kind: "ready", port, importMs, ...readyMemory, encodes: { ...encodes } });

  process.on("message", (command: ServerCommand) => {
    switch (command.kind) {
      case "stats":
        if (initialSession !== undefined) {
          const done = initialSession;
          initialSession = undefined;
          done.post("Profiler.stop", (error, result) => {
            if (error === null) writeFileSync(process.env.BENCH_INITIAL_PROFILE!, JSON.stringify(result.profile));
            done.disconnect();
          });
        }
        if (updateSession !== undefined) {
          const done = updateSession;
          done.post("Profiler.stop", (error, result) => {
            if (error === null) writeFileSync(process.env.BENCH_UPDATE_PROFILE!, JSON.stringify(result.profile));
            done.disconnect();
          });
        }
        if (session !== undefined) {
          const done = session;
          session = undefined;
          done.post("HeapProfiler.stopSampling", (error, result) => {
            if (error === null) writeFileSync(allocProfile!, JSON.stringify(result.profile));
            done.disconnect();
          });
        }
        // BENCH_HEAP_SNAPSHOT=<file>: a heap snapshot with every stream synced and idle (the first
        // stats), to see what each stream retains (summarise it with fleet/heap-summary.js).
        if (process.env.BENCH_HEAP_SNAPSHOT !== undefined && !heapSnapshotWritten) {
          heapSnapshotWritten = true;
          gc();
          v8!.writeHeapSnapshot(process.env.BENCH_HEAP_SNAPSHOT);
        }
        send({ kind: "stats", ...memory(), streams: xds.stats?.streams ?? -1, acks, encodes: { ...encodes } });
        break;
      case "update": {
        // BENCH_UPDATE_PROFILE=<file>: a CPU profile of the updates only (first update to the next stats).
        if (process.env.BENCH_UPDATE_PROFILE !== undefined && updateSession === undefined) {
          updateSession = newSession();
          updateSession.connect();
          updateSession.post("Profiler.enable");
          updateSession.post("Profiler.start");
        }
        updateOne(command.generation);
        send({ kind: "updated" });
        break;
      }
      case "updateAll":
        snapshot(command.generation);
        send({ kind: "updated" });
        break;
      case "burst": {
        // One-endpoint updates 1 ms apart, as a controller replaying a backlog would send them.
        let k = 0;
        const next = (): void => {
          updateOne(command.from + k);
          if (++k < command.count) setTimeout(next, 1);
          else send({ kind: "updated" });
        };
        next();
        break;
      }
      case "stop":
        stopServer();
        process.exit(0);
    }
  });
  process.on("disconnect", () => process.exit(0));
}

/**
 * The floors' answers: per type URL, the SotW and the delta response to a
 * first request, encoded once from the fixture, passed through `wrap` (as is,
 * or behind a gRPC frame header).
 */
function floorResponses(
  api: AnyModule,
  codecs: Record<string, AnyModule>,
  wrap: (message: Uint8Array) => Buffer,
): { sotw: Map<string, Buffer>; delta: Map<string, Buffer> } {
  const T = api.TypeUrl;
  const fixture: [string, AnyModule, object[]][] = [
    [T.Cluster, codecs.Cluster!, Array.from({ length: CLUSTERS }, (_, i) => cluster(i))],
    [T.ClusterLoadAssignment, codecs.ClusterLoadAssignment!, Array.from({ length: CLUSTERS }, (_, i) => loadAssignment(i))],
    [
      T.Listener,
      codecs.Listener!,
      [listener({ pack: api.pack, HttpConnectionManager: codecs.HttpConnectionManager, Router: codecs.Router })],
    ],
    [T.RouteConfiguration, codecs.RouteConfiguration!, [routeConfiguration()]],
  ];
  const sotw = new Map<string, Buffer>();
  const delta = new Map<string, Buffer>();
  for (const [typeUrl, codec, messages] of fixture) {
    const anys = messages.map((m) => api.pack(codec, m));
    sotw.set(
      typeUrl,
      wrap(
        api.DiscoveryResponse.encode(
          api.DiscoveryResponse.fromPartial({ versionInfo: "v0", resources: anys, typeUrl, nonce: "1" }),
        ).finish(),
      ),
    );
    const resources = anys.map((resource: AnyModule, i: number) => ({
      name: (messages[i] as { name?: string; clusterName?: string }).name ?? (messages[i] as { clusterName: string }).clusterName,
      version: "v0",
      resource,
    }));
    delta.set(
      typeUrl,
      wrap(
        api.DeltaDiscoveryResponse.encode(
          api.DeltaDiscoveryResponse.fromPartial({ systemVersionInfo: "v0", resources, typeUrl, nonce: "1" }),
        ).finish(),
      ),
    );
  }
  return { sotw, delta };
}

/**
 * The transport floor (BENCH_FLOOR=grpc, fleet.ts --floor grpc): grpc-js alone, with
 * no xdskit server. The ADS handlers decode each request and answer the first
 * request of each type with the same response bytes, encoded once at start;
 * ACKs get nothing. No status, no events, no watches: what serving the initial
 * sync costs in grpc-js, node:http2 and request decoding, the least any
 * grpc-js server can take.
 */
function transportFloor(grpcServer: AnyModule, api: AnyModule, codecs: Record<string, AnyModule>): void {
  const { sotw, delta } = floorResponses(api, codecs, (m) => Buffer.from(m));
  const raw = (path: string) => ({
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  });
  const handler = (codec: AnyModule, answers: Map<string, Buffer>) => (call: AnyModule) => {
    call.on("data", (data: Buffer) => {
      const request = codec.decode(data);
      if (request.responseNonce === "") {
        const answer = answers.get(request.typeUrl);
        if (answer !== undefined) call.write(answer);
      }
    });
    call.on("end", () => call.end());
    call.on("error", () => {});
  };
  const service = "/envoy.service.discovery.v3.AggregatedDiscoveryService/";
  grpcServer.addService(
    {
      StreamAggregatedResources: raw(`${service}StreamAggregatedResources`),
      DeltaAggregatedResources: raw(`${service}DeltaAggregatedResources`),
    },
    { StreamAggregatedResources: handler(api.DiscoveryRequest, sotw), DeltaAggregatedResources: handler(api.DeltaDiscoveryRequest, delta) },
  );
}

/** `message` behind a gRPC frame header (uncompressed), in one new buffer. */
function grpcFramed(message: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(5 + message.length);
  b[0] = 0;
  b.writeUInt32BE(message.length, 1);
  b.set(message, 5);
  return b;
}

/**
 * The node:http2 transport floor (BENCH_FLOOR=http2, fleet.ts --floor http2): as
 * {@link transportFloor}, on a node:http2 server with gRPC framing by hand, no
 * grpc-js. Resolves with the port it listens on.
 */
async function http2Floor(api: AnyModule, codecs: Record<string, AnyModule>): Promise<number> {
  const http2 = await import("node:http2");
  const { sotw, delta } = floorResponses(api, codecs, grpcFramed);
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1_000_000, initialWindowSize: 1 << 20 } });
  server.on("stream", (stream, headers) => {
    const isDelta = String(headers[":path"]).endsWith("DeltaAggregatedResources");
    const codec = isDelta ? api.DeltaDiscoveryRequest : api.DiscoveryRequest;
    const answers = isDelta ? delta : sotw;
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    let pending: Buffer | undefined;
    stream.on("data", (chunk: Buffer) => {
      const buffer = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (buffer.length - at >= 5) {
        const length = buffer.readUInt32BE(at + 1);
        if (buffer.length - at - 5 < length) break;
        const request = codec.decode(buffer.subarray(at + 5, at + 5 + length));
        at += 5 + length;
        if (request.responseNonce === "") {
          const answer = answers.get(request.typeUrl);
          if (answer !== undefined) stream.write(answer);
        }
      }
      pending = at < buffer.length ? buffer.subarray(at) : undefined;
    });
    stream.on("end", () => stream.end());
    stream.on("error", () => {});
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

/**
 * The JavaScript HTTP/2 floor (BENCH_FLOOR=h2js, fleet.ts --floor h2js): the same
 * answers as {@link http2Floor}, on HTTP/2 frames read and written over node:net
 * (fleet/h2-floor.ts). Resolves with the port it listens on.
 */
async function h2jsFloor(api: AnyModule, codecs: Record<string, AnyModule>): Promise<number> {
  const { sotw, delta } = floorResponses(api, codecs, grpcFramed);
  const served = await serveH2Floor({
    sotw: { answers: sotw, decode: (bytes) => api.DiscoveryRequest.decode(bytes) },
    delta: { answers: delta, decode: (bytes) => api.DeltaDiscoveryRequest.decode(bytes) },
  });
  return served.port;
}

/**
 * Multi-core recipe (node:cluster): N worker processes, each building the same
 * state (here: the same snapshot; in production: the same config source) and
 * binding the same port, which cluster shares, handing each new connection
 * to the next worker. The primary only relays the parent's commands to every
 * worker and sums their answers.
 */
async function primary(nodeCluster: typeof import("node:cluster").default, workers: number): Promise<void> {
  const children = Array.from({ length: workers }, () => nodeCluster.fork());
  const answers = new Map<string, ServerReport[]>();
  const waiting = new Map<string, (reports: ServerReport[]) => void>();
  const collect = (kind: string): Promise<ServerReport[]> =>
    new Promise((resolve) => {
      const have = answers.get(kind);
      if (have !== undefined && have.length === workers) {
        answers.delete(kind);
        resolve(have);
      } else waiting.set(kind, resolve);
    });
  for (const child of children) {
    child.on("message", (report: ServerReport) => {
      const list = answers.get(report.kind) ?? [];
      list.push(report);
      answers.set(report.kind, list);
      if (list.length === workers) {
        const resolve = waiting.get(report.kind);
        if (resolve !== undefined) {
          waiting.delete(report.kind);
          answers.delete(report.kind);
          resolve(list);
        }
      }
    });
  }
  const sum = (reports: ServerReport[], key: "rss" | "heap" | "cpuMs"): number =>
    reports.reduce((total, r) => total + ((r as unknown as Record<string, number>)[key] ?? 0), 0);
  const encodes = (reports: ServerReport[]): Encodes => ({
    resources: reports.reduce((t, r) => t + ("encodes" in r ? r.encodes.resources : 0), 0),
    responses: reports.reduce((t, r) => t + ("encodes" in r ? r.encodes.responses : 0), 0),
  });
  const ready = (await collect("ready")) as Extract<ServerReport, { kind: "ready" }>[];
  process.send!({
    kind: "ready",
    port: ready[0]!.port,
    importMs: Math.max(...ready.map((r) => r.importMs)),
    rss: sum(ready, "rss"),
    heap: sum(ready, "heap"),
    cpuMs: sum(ready, "cpuMs"),
    encodes: encodes(ready),
  } satisfies ServerReport);
  process.on("message", async (command: ServerCommand) => {
    if (command.kind === "stop") {
      for (const child of children) child.kill();
      process.exit(0);
    }
    for (const child of children) child.send(command);
    const reports = await collect(command.kind === "stats" ? "stats" : "updated");
    if (command.kind === "stats") {
      const stats = reports as Extract<ServerReport, { kind: "stats" }>[];
      process.send!({
        kind: "stats",
        rss: sum(stats, "rss"),
        heap: sum(stats, "heap"),
        cpuMs: sum(stats, "cpuMs"),
        streams: stats.reduce((t, r) => t + r.streams, 0),
        acks: stats.reduce((t, r) => t + r.acks, 0),
        encodes: encodes(stats),
      } satisfies ServerReport);
    } else process.send!({ kind: "updated" } satisfies ServerReport);
  });
  process.on("disconnect", () => {
    for (const child of children) child.kill();
    process.exit(0);
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
