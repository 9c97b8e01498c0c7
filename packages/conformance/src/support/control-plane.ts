// The xdskit control plane under test: a SnapshotCache behind an XdsServer on
// 127.0.0.1 (port 0), torn down by stop() or `await using`. Served on grpc-js
// (xds.register) or on node:http2 (xds.serveHttp2): the option `transport`,
// whose default is the environment's XDSKIT_CONFORMANCE_TRANSPORT (so the
// whole suite can run against either: XDSKIT_CONFORMANCE_TRANSPORT=http2).
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { type ConfigWatcher, type NodeStatusTracker, SnapshotCache, type SnapshotCacheOptions } from "@xdskit/cache";
import { addCsdsService, type CsdsOptions, XdsServer, type XdsServerOptions } from "@xdskit/server";

/** How the control plane under test serves xDS: grpc-js (`register`) or node:http2 (`serveHttp2`). */
export type Transport = "grpc-js" | "http2";

/** The transport of the run: XDSKIT_CONFORMANCE_TRANSPORT=http2 serves every ControlPlane and ServedCache on node:http2. */
export const DEFAULT_TRANSPORT: Transport = process.env.XDSKIT_CONFORMANCE_TRANSPORT === "http2" ? "http2" : "grpc-js";

export interface ControlPlaneOptions {
  readonly cache?: SnapshotCacheOptions;
  readonly server?: Omit<XdsServerOptions, "cache">;
  /**
   * Also serve CSDS (ClientStatusDiscoveryService) from the server's node
   * status, on the xDS port: `addCsdsService` on grpc-js, serveHttp2's `csds`
   * option on node:http2.
   */
  readonly csds?: boolean;
  /** Default {@link DEFAULT_TRANSPORT}. */
  readonly transport?: Transport;
}

/** A node:http2 server serving `xds` (and CSDS with `csds`) on 127.0.0.1 (port 0); `close` ends its sessions too. */
export async function listenHttp2(xds: XdsServer, csds?: CsdsOptions): Promise<{ address: string; close(): Promise<void> }> {
  const server = http2.createServer({ settings: { maxConcurrentStreams: 10_000 } });
  xds.serveHttp2(server, csds === undefined ? {} : { csds });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export class ControlPlane implements AsyncDisposable {
  readonly cache: SnapshotCache;
  readonly xds: XdsServer;

  /** The server's node status (its own tracker, or the one given in `server.status`). */
  get status(): NodeStatusTracker {
    return this.xds.status!;
  }
  readonly grpcServer = new grpc.Server();
  /** The transport serving xDS. */
  readonly transport: Transport;
  address = "";
  #closeHttp2: (() => Promise<void>) | undefined;
  readonly #csds: CsdsOptions | undefined;

  private constructor(options: ControlPlaneOptions) {
    this.cache = new SnapshotCache(options.cache);
    this.xds = new XdsServer({ ...options.server, cache: this.cache });
    this.transport = options.transport ?? DEFAULT_TRANSPORT;
    this.#csds = options.csds ? { status: this.xds.status!, cache: this.cache } : undefined;
    if (this.transport === "grpc-js") {
      this.xds.register(this.grpcServer);
      if (this.#csds) addCsdsService(this.grpcServer, this.#csds);
    }
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const plane = new ControlPlane(options);
    if (plane.transport === "http2") {
      const served = await listenHttp2(plane.xds, plane.#csds);
      plane.address = served.address;
      plane.#closeHttp2 = served.close;
      return plane;
    }
    const port = await new Promise<number>((resolve, reject) =>
      plane.grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    plane.address = `127.0.0.1:${port}`;
    return plane;
  }

  async stop(): Promise<void> {
    await this.xds.shutdown({ deadlineMs: 0 });
    if (this.#closeHttp2 !== undefined) await this.#closeHttp2();
    else this.grpcServer.forceShutdown();
    this.cache.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Waits until `probe` returns something truthy (polling), or fails naming `what`. */
export async function until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Any cache (LinearCache, MuxCache, ...) behind an XdsServer on 127.0.0.1
 * (port 0). The cache is the caller's: stop() does not dispose it.
 */
export class ServedCache implements AsyncDisposable {
  readonly xds: XdsServer;

  /** The server's node status (its own tracker, or the one given in `server.status`). */
  get status(): NodeStatusTracker {
    return this.xds.status!;
  }
  readonly grpcServer = new grpc.Server();
  address = "";
  #closeHttp2: (() => Promise<void>) | undefined;

  private constructor(cache: ConfigWatcher, server: Omit<XdsServerOptions, "cache">, transport: Transport) {
    this.xds = new XdsServer({ ...server, cache });
    if (transport === "grpc-js") this.xds.register(this.grpcServer);
  }

  /** Serves `cache` on `transport` (default {@link DEFAULT_TRANSPORT}). */
  static async start(
    cache: ConfigWatcher,
    server: Omit<XdsServerOptions, "cache"> = {},
    transport = DEFAULT_TRANSPORT,
  ): Promise<ServedCache> {
    const served = new ServedCache(cache, server, transport);
    if (transport === "http2") {
      const listening = await listenHttp2(served.xds);
      served.address = listening.address;
      served.#closeHttp2 = listening.close;
      return served;
    }
    const port = await new Promise<number>((resolve, reject) =>
      served.grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    served.address = `127.0.0.1:${port}`;
    return served;
  }

  async stop(): Promise<void> {
    await this.xds.shutdown({ deadlineMs: 0 });
    if (this.#closeHttp2 !== undefined) await this.#closeHttp2();
    else this.grpcServer.forceShutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
