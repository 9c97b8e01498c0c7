// The xdskit control plane under test: a SnapshotCache behind an XdsServer on
// 127.0.0.1 (port 0), torn down by stop() or `await using`.
import * as grpc from "@grpc/grpc-js";
import { type ConfigWatcher, type NodeStatusTracker, SnapshotCache, type SnapshotCacheOptions } from "@xdskit/cache";
import { addCsdsService, XdsServer, type XdsServerOptions } from "@xdskit/server";

export interface ControlPlaneOptions {
  readonly cache?: SnapshotCacheOptions;
  readonly server?: Omit<XdsServerOptions, "cache">;
  /** Also serve CSDS (ClientStatusDiscoveryService) from the server's node status. */
  readonly csds?: boolean;
}

export class ControlPlane implements AsyncDisposable {
  readonly cache: SnapshotCache;
  readonly xds: XdsServer;

  /** The server's node status (its own tracker, or the one given in `server.status`). */
  get status(): NodeStatusTracker {
    return this.xds.status!;
  }
  readonly grpcServer = new grpc.Server();
  address = "";

  private constructor(options: ControlPlaneOptions) {
    this.cache = new SnapshotCache(options.cache);
    this.xds = new XdsServer({ ...options.server, cache: this.cache });
    this.xds.register(this.grpcServer);
    if (options.csds) addCsdsService(this.grpcServer, { status: this.xds.status!, cache: this.cache });
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const plane = new ControlPlane(options);
    const port = await new Promise<number>((resolve, reject) =>
      plane.grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    plane.address = `127.0.0.1:${port}`;
    return plane;
  }

  async stop(): Promise<void> {
    await this.xds.shutdown({ deadlineMs: 0 });
    this.grpcServer.forceShutdown();
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

  private constructor(cache: ConfigWatcher, server: Omit<XdsServerOptions, "cache">) {
    this.xds = new XdsServer({ ...server, cache });
    this.xds.register(this.grpcServer);
  }

  static async start(cache: ConfigWatcher, server: Omit<XdsServerOptions, "cache"> = {}): Promise<ServedCache> {
    const served = new ServedCache(cache, server);
    const port = await new Promise<number>((resolve, reject) =>
      served.grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    served.address = `127.0.0.1:${port}`;
    return served;
  }

  async stop(): Promise<void> {
    await this.xds.shutdown({ deadlineMs: 0 });
    this.grpcServer.forceShutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
