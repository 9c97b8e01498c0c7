// XdsServer: registers xDS services backed by one cache on a grpc-js Server,
// serves REST-JSON, reports events, enforces limits, shuts down gracefully.

import type { Server as HttpServer } from "node:http";
import type { Http2SecureServer, Http2Server, Http2Session } from "node:http2";
import type {
  Server,
  ServerDuplexStream,
  ServerUnaryCall,
  ServiceDefinition,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { NodeStatusTracker } from "@xdskit/cache";
import { ErrorCode, optionError, XdskitError } from "@xdskit/envoy-api/core";
import type { Observable } from "rxjs";
import { type CsdsOptions, csdsHttp2Routes } from "./csds.js";
import type { XdsServerEvent, XdsStatus } from "./events.js";
import { Admission } from "./internal/admission.js";
import { DELTA_PROTOCOL } from "./internal/delta-stream.js";
import { EventHub } from "./internal/event-hub.js";
import { handleGrpcFetch } from "./internal/grpc-fetch.js";
import { GrpcXdsStream, type XdsCall } from "./internal/grpc-stream.js";
import { type Http2Handlers, type Http2Route, handleHttp2Stream } from "./internal/http2-transport.js";
import { PushLimiter } from "./internal/push-limiter.js";
import { SOTW_PROTOCOL } from "./internal/sotw-stream.js";
import type { StreamHost } from "./internal/stream-host.js";
import { GrpcCode } from "./internal/stream-rules.js";
import { type ResolvedXdsServerOptions, resolveServerOptions, type XdsServerOptions } from "./options.js";
import { createRestListener, type RestListener } from "./rest.js";
import { createRestServer, type RestServerOptions } from "./rest-server.js";
import {
  checkRolloutTarget,
  ROLLOUT_DEFAULTS,
  type RolloutProgress,
  type RolloutResult,
  type RolloutTarget,
  rolloutProgress,
  type WaitForAckOptions,
  waitForRollout,
  watchRollout,
} from "./rollout.js";
import { XDS_SERVICES, type XdsMethodSpec, type XdsServiceName } from "./services.js";
import { statusTrackerFor } from "./status.js";

/** Options of {@link XdsServer.register} and {@link XdsServer.serveHttp2}. */
export interface RegisterOptions {
  /** The services to add. Default: every service in {@link XDS_SERVICES}. */
  readonly services?: readonly XdsServiceName[];
}

/** Options of {@link XdsServer.serveHttp2}. */
export interface ServeHttp2Options extends RegisterOptions {
  /**
   * Also serve CSDS (`envoy.service.status.v3.ClientStatusDiscoveryService`:
   * StreamClientStatus and FetchClientStatus) on this server, answered as
   * {@link addCsdsService} answers on grpc-js (the same code, options and
   * statuses). Its streams end with UNAVAILABLE on {@link XdsServer.shutdown}.
   * Default: none (CSDS paths get UNIMPLEMENTED).
   *
   * @example xds.serveHttp2(server, { csds: { status: xds.status!, cache } });
   */
  readonly csds?: CsdsOptions;
}

/** Options of {@link XdsServer.shutdown}. */
export interface ShutdownOptions {
  /** How long to let streams flush pending responses before closing them, in milliseconds. Default 5,000. */
  readonly deadlineMs?: number;
}

/** Live counters of a server. */
export interface XdsServerStats {
  /** Admitted streams (accepted by `onStreamOpen`; they count against `maxConcurrentStreams`). */
  readonly streams: number;
  /** Streams not admitted yet: no first request, or `onStreamOpen` still deciding (`maxOpeningStreams`). */
  readonly openingStreams: number;
  /** gRPC fetches and REST requests being answered (they count against `maxConcurrentStreams` too). */
  readonly fetches: number;
  /** Responses waiting in outgoing queues, over all streams (at most one per type per stream). */
  readonly pendingResponses: number;
  /** Messages handed to grpc-js and not yet taken by HTTP/2 (at most one per stream). */
  readonly inFlightWrites: number;
  /** Bytes of those in-flight messages. */
  readonly inFlightBytes: number;
}

const identity = (value: Buffer): Buffer => value;

/** The node:http2 servers {@link XdsServer.serveHttp2} serves (each at most once). */
const http2Served = new WeakSet<Http2Server | Http2SecureServer>();

/** The services named in `options` (default all), checked. */
function wantedServices(where: string, options: RegisterOptions): readonly XdsServiceName[] {
  const wanted = options.services ?? XDS_SERVICES.map((s) => s.name);
  for (const name of wanted) {
    if (!XDS_SERVICES.some((s) => s.name === name)) {
      throw optionError(where, "services", `a list of ${XDS_SERVICES.map((s) => s.name).join(", ")}`, name);
    }
  }
  return wanted;
}

/**
 * Stream and fetch ids, unique in the process rather than per server: caches key a
 * node's streams by id, and one cache may back several servers.
 */
let lastId = 0;

/**
 * An xDS management server: every xDS gRPC service (ADS and per-type, SotW,
 * delta and fetch) and Envoy's REST-JSON API, backed by one cache.
 *
 * Use it to serve configuration from a SnapshotCache, LinearCache, MuxCache
 * or your own `ConfigWatcher` to Envoy and gRPC xDS clients. The server owns
 * the protocol (nonces, ACK/NACK, subscriptions, ordering, limits); the cache
 * decides what each client gets. See docs/server.md.
 *
 * @example
 * const cache = new SnapshotCache();
 * const xds = new XdsServer({ cache, callbacks: { onNack: (e) => console.warn(e.context.node.id, e.error.message) } });
 * const grpcServer = new Server();
 * xds.register(grpcServer); // every service; or { services: ["ads"] }
 * grpcServer.bindAsync("0.0.0.0:18000", ServerCredentials.createInsecure(), () => {});
 * // later: await xds.shutdown({ deadlineMs: 5000 }); grpcServer.tryShutdown(() => {});
 */
export class XdsServer {
  /** The resolved options (defaults filled in). */
  readonly options: ResolvedXdsServerOptions;
  /**
   * Every event (streams opened and closed, requests, responses, ACKs, NACKs,
   * fetches, errors). Hot: subscribers see events from when they subscribe,
   * nothing is replayed. Completes after {@link shutdown}. A subscriber that
   * throws (also through a pipe) never reaches the process: each failure is
   * an `error` event (`XDSKIT_HOOK_FAILED`), and after 3 failures in a row
   * the subscriber is unsubscribed (docs/server.md, events and callbacks).
   */
  readonly events: Observable<XdsServerEvent>;
  /**
   * The node status this server feeds (the `status` option, or a tracker of
   * its own); `undefined` with `status: false`.
   *
   * @example xds.status?.nodeStatus("envoy-1")?.types[TypeUrl.Cluster]?.lastAck?.version
   */
  readonly status: NodeStatusTracker | undefined;
  readonly #ownsStatus: boolean;
  readonly #hub: EventHub;
  readonly #admission: Admission;
  readonly #host: StreamHost;
  /** The open node:http2 connections of servers given to {@link serveHttp2}. */
  readonly #http2Sessions = new Set<Http2Session>();
  /** The open CSDS streams of servers given to {@link serveHttp2} (ended on shutdown). */
  readonly #csdsCalls = new Set<XdsCall>();
  #closing = false;

  constructor(options: XdsServerOptions) {
    this.options = resolveServerOptions(options);
    const { tracker, owned } = statusTrackerFor(this.options.status, this.options.cache);
    this.status = tracker;
    this.#ownsStatus = owned;
    this.#hub = new EventHub(tracker, this.options.callbacks, this.options.logger);
    this.events = this.#hub.events;
    this.#admission = new Admission(this.options);
    this.#host = {
      options: this.options,
      hub: this.#hub,
      nextId: () => ++lastId,
      admission: this.#admission,
      pushes: this.options.maxPushesPerTurn > 0 ? new PushLimiter(this.options.maxPushesPerTurn) : undefined,
    };
  }

  /**
   * Adds xDS services to a grpc-js server: by default ADS and every per-type
   * service (Stream*, Delta* and Fetch* methods as Envoy's API defines them).
   * Call before `server.bindAsync`. Throws `XDSKIT_INVALID_OPTION` for an
   * unknown service name.
   *
   * @example xds.register(grpcServer, { services: ["ads", "clusters"] });
   */
  register(server: Server, options: RegisterOptions = {}): void {
    const wanted = wantedServices("XdsServer.register", options);
    for (const spec of XDS_SERVICES) {
      if (!wanted.includes(spec.name)) continue;
      const definition: Record<string, unknown> = {};
      const implementation: UntypedServiceImplementation = {};
      for (const method of spec.methods) {
        const streaming = method.kind !== "fetch";
        definition[method.key] = {
          path: method.path,
          requestStream: streaming,
          responseStream: streaming,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        };
        implementation[method.key] = streaming
          ? (call: ServerDuplexStream<Buffer, Buffer>) => this.#handleStream(call, method, spec.typeUrl)
          : (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
              handleGrpcFetch(this.#host, call, callback, method, spec.typeUrl!);
      }
      server.addService(definition as ServiceDefinition, implementation);
    }
  }

  /**
   * Serves the xDS gRPC methods straight from a node:http2 server you
   * created, without grpc-js: the same streams, limits, hooks, events and
   * shutdown as {@link register}, at a lower cost per stream and message
   * (docs/server.md, "Serving on node:http2"). Use
   * `http2.createServer()` for plaintext (h2c) or
   * `http2.createSecureServer({ key, cert, ca, requestCert: true })` for
   * mTLS (hooks then see `context.identity`). It answers every stream of
   * that server: other paths get gRPC status UNIMPLEMENTED, non-gRPC
   * requests HTTP 415 or 405. Messages are uncompressed only (a compressed
   * request is refused); grpc-js channel options and interceptors do not
   * apply. With `options.csds` it serves CSDS on the same port too. Throws
   * `XDSKIT_INVALID_OPTION` for an unknown service name or bad CSDS options
   * and `XDSKIT_API_MISUSE` for a server already served.
   *
   * @example
   * const server = http2.createServer({ settings: { maxConcurrentStreams: 1_000 } });
   * xds.serveHttp2(server, { services: ["ads"], csds: { status: xds.status!, cache } });
   * server.listen(18000);
   * // later: await xds.shutdown(); server.close();
   */
  serveHttp2(server: Http2Server | Http2SecureServer, options: ServeHttp2Options = {}): void {
    const wanted = wantedServices("XdsServer.serveHttp2", options);
    const csds =
      options.csds === undefined
        ? undefined
        : csdsHttp2Routes(options.csds, (call) => {
            this.#csdsCalls.add(call);
            call.on("close", () => this.#csdsCalls.delete(call));
          });
    if (http2Served.has(server)) {
      // Two stream listeners would both answer every stream.
      throw new XdskitError(
        ErrorCode.API_MISUSE,
        "XdsServer.serveHttp2: this node:http2 server is already served by an XdsServer; serve it once (with every service it needs in options.services)",
      );
    }
    http2Served.add(server);
    const routes = new Map<string, Http2Route>(csds);
    for (const spec of XDS_SERVICES) {
      if (!wanted.includes(spec.name)) continue;
      const typeUrl = spec.typeUrl;
      for (const method of spec.methods) {
        routes.set(
          method.path,
          method.kind === "fetch"
            ? {
                kind: "unary",
                serve: (call, answer) =>
                  handleGrpcFetch(
                    this.#host,
                    call,
                    (error, value) =>
                      answer(error ? { code: error.code ?? GrpcCode.INTERNAL, details: error.details ?? "" } : null, value ?? undefined),
                    method,
                    typeUrl!,
                  ),
              }
            : { kind: "stream", serve: (call) => this.#handleStream(call, method, typeUrl) },
        );
      }
    }
    const handlers: Http2Handlers = { routes, maxRequestBytes: this.options.maxRequestBytes };
    server.on("stream", (stream, headers) => handleHttp2Stream(handlers, stream, headers));
    // Connections are told to go away (GOAWAY) on shutdown, so clients reconnect elsewhere
    // rather than retry on this one; one that connects after shutdown is told at once.
    server.on("session", (session) => {
      if (this.#closing) {
        session.close();
        return;
      }
      this.#http2Sessions.add(session);
      session.once("close", () => this.#http2Sessions.delete(session));
    });
  }

  /**
   * A node:http request listener serving Envoy's REST-JSON API:
   * `POST /v3/discovery:<name>` for each type (`clusters`, `endpoints`,
   * `listeners`, `routes`, `scoped-routes`, `secrets`, `runtime`,
   * `extension_configs`, `virtual-hosts`, `locality-endpoints`, and your own
   * types' names). Answers 200 with a JSON DiscoveryResponse, 304 when the
   * client's `version_info` is current, 404 when there is nothing to answer
   * (no requested name exists, or no snapshot for the node's group), other
   * 4xx/5xx with `{"error": ...}`.
   *
   * @example http.createServer(xds.restListener()).listen(18001);
   */
  restListener(): RestListener {
    return createRestListener(this.#host);
  }

  /**
   * A node:http server serving {@link restListener}, with bounds for a
   * listener on a network (see {@link RestServerOptions} for each default):
   * complete headers within 10 s and the whole request within 30 s (else 408
   * and the connection is closed), idle keep-alive connections closed after
   * 5 s, at most 1,000 open connections. Not listening yet. Throws
   * `XDSKIT_INVALID_OPTION` for a bad option. Serving {@link restListener}
   * from a server of your own? Set the same bounds on it (docs/server.md).
   *
   * @example xds.restServer({ maxConnections: 500 }).listen(18001);
   */
  restServer(options?: RestServerOptions): HttpServer {
    return createRestServer(createRestListener(this.#host), options);
  }

  /**
   * Waits until every connected node of a group (or one node) has applied
   * snapshot `version`: the cache serves it, nothing is queued or unACKed
   * for the node, and the cache holds each of its watches (it has nothing
   * newer for it). Resolves, never rejects for these, with outcome `"acked"`,
   * `"nacked"` as soon as a node rejects what the cache serves (roll back:
   * `nacked` lists node, type and the client's error detail), or `"timeout"`
   * after `timeoutMs` (default 30 s), with who is still pending. Needs a
   * cache with `servedVersion()` and `groupOf()` (SnapshotCache).
   *
   * @throws XdskitError `XDSKIT_INVALID_OPTION` for a bad target, `XDSKIT_API_MISUSE` for a cache that cannot say what it serves.
   * @example
   * cache.setSnapshot("edge", { version: "release-42", resources });
   * const result = await xds.waitForAck({ group: "edge", version: "release-42", timeoutMs: 60_000 });
   * if (result.outcome !== "acked") cache.setSnapshot("edge", lastGood); // roll back
   */
  waitForAck(options: WaitForAckOptions): Promise<RolloutResult> {
    const timeoutMs = options?.timeoutMs ?? ROLLOUT_DEFAULTS.timeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw optionError("XdsServer.waitForAck", "timeoutMs", "a number >= 0", timeoutMs);
    return waitForRollout(this.rollout(options), timeoutMs);
  }

  /**
   * The progress of a rollout (see {@link waitForAck}) as an Observable: nodes
   * ACKed, NACKed and pending, emitted on change; completes once complete or
   * NACKed. Unsubscribe to stop watching.
   *
   * @example xds.rollout({ group: "edge", version: "release-42" }).subscribe((p) => console.log(p.acked.length, p.pending.length));
   */
  rollout(target: RolloutTarget): Observable<RolloutProgress> {
    checkRolloutTarget("XdsServer.rollout", target, this.options.cache);
    const cache = this.options.cache;
    return watchRollout(() => rolloutProgress(target, cache, this.#admission.streams, this.status), this.#hub.internalEvents);
  }

  /** Live counters (streams, queued responses, in-flight writes). */
  get stats(): XdsServerStats {
    let pendingResponses = 0;
    let inFlightWrites = 0;
    let inFlightBytes = 0;
    for (const stream of this.#admission.streams) {
      const stats = stream.stats;
      pendingResponses += stats.pending;
      inFlightWrites += stats.inFlight;
      inFlightBytes += stats.inFlightBytes;
    }
    return {
      streams: this.#admission.streams.size,
      openingStreams: this.#admission.opening.size,
      fetches: this.#admission.fetches,
      pendingResponses,
      inFlightWrites,
      inFlightBytes,
    };
  }

  /**
   * Graceful shutdown: refuses new streams and fetches (UNAVAILABLE), lets
   * open streams finish writing pending responses until the deadline, then
   * ends every stream with UNAVAILABLE so clients reconnect elsewhere, and
   * completes {@link events}. Connections of {@link serveHttp2} servers get a
   * GOAWAY at the start (no new streams on them); their CSDS streams end with
   * UNAVAILABLE with the xDS streams. Does not stop the grpc-js
   * server: call its `tryShutdown` (or `forceShutdown`) afterwards; for
   * node:http2, `server.close()`.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    const deadlineMs = options.deadlineMs ?? 5_000;
    if (!Number.isFinite(deadlineMs) || deadlineMs < 0) {
      throw optionError("XdsServer.shutdown", "deadlineMs", "a number >= 0", deadlineMs);
    }
    this.#admission.close();
    this.#closing = true;
    // GOAWAY on every node:http2 connection (serveHttp2): no new streams there; open ones finish below.
    for (const session of this.#http2Sessions) {
      try {
        session.close();
      } catch {}
    }
    const status: XdsStatus = { code: GrpcCode.UNAVAILABLE, details: "the xDS server is shutting down; reconnect" };
    for (const stream of [...this.#admission.opening]) stream.end(status);
    const streams = [...this.#admission.streams];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(streams.map((s) => s.whenIdle())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    for (const stream of [...this.#admission.streams]) stream.end(status);
    for (const call of [...this.#csdsCalls]) call.emit("error", status);
    this.#csdsCalls.clear();
    this.#hub.complete();
    if (this.#ownsStatus) this.status?.dispose();
  }

  #handleStream(call: XdsCall, method: XdsMethodSpec, typeUrl: string | undefined): void {
    try {
      if (method.kind === "delta") new GrpcXdsStream(this.#host, call, method, DELTA_PROTOCOL, typeUrl).start();
      else new GrpcXdsStream(this.#host, call, method, SOTW_PROTOCOL, typeUrl).start();
    } catch (error) {
      call.emit("error", { code: GrpcCode.INTERNAL, details: `internal error: ${(error as Error)?.message ?? String(error)}` });
    }
  }
}
