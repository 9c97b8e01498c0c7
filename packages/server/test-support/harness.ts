// Real grpc-js servers and clients over loopback sockets for server tests.
import { credentials, Metadata, Server, ServerCredentials, type ServiceError } from "@grpc/grpc-js";
import type { ConfigWatcher } from "@xdskit/cache";
import {
  AggregatedDiscoveryServiceClient,
  DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  DiscoveryRequest,
  type DiscoveryResponse,
} from "@xdskit/envoy-api";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { type RegisterOptions, XdsServer, type XdsServerEvent, type XdsServerOptions } from "../src/index.js";

export interface Harness extends AsyncDisposable {
  readonly xds: XdsServer;
  readonly grpcServer: Server;
  readonly address: string;
  readonly events: XdsServerEvent[];
  close(): Promise<void>;
}

export async function startServer(
  cache: ConfigWatcher,
  options: Omit<XdsServerOptions, "cache"> = {},
  register: RegisterOptions = {},
): Promise<Harness> {
  const xds = new XdsServer({ cache, ...options });
  const events: XdsServerEvent[] = [];
  xds.events.subscribe((e) => events.push(e));
  const grpcServer = new Server();
  xds.register(grpcServer, register);
  const port = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  const address = `127.0.0.1:${port}`;
  const close = async () => {
    grpcServer.forceShutdown();
  };
  return { xds, grpcServer, address, events, close, [Symbol.asyncDispose]: close };
}

export const NODE: Node = { id: "node-1", cluster: "test" } as Node;

export function node(id: string, extra: Partial<Node> = {}): Node {
  return { id, cluster: "test", ...extra } as Node;
}

/** A bidi stream with a queue of received messages and the final status. */
export class StreamReader<Req, Res> {
  readonly received: Res[] = [];
  readonly #waiters: Array<() => void> = [];
  status: ServiceError | { code: number; details: string } | undefined;
  readonly ended: Promise<{ code: number; details: string }>;
  readonly call: import("@grpc/grpc-js").ClientDuplexStream<Req, Res>;
  #read = 0;

  readonly #complete: (partial: any) => Req;

  constructor(call: import("@grpc/grpc-js").ClientDuplexStream<Req, Res>, complete: (partial: any) => Req) {
    this.call = call;
    this.#complete = complete;
    call.on("data", (message: Res) => {
      this.received.push(message);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.ended = new Promise((resolve) => {
      call.on("error", (error: ServiceError) => {
        this.status = { code: error.code, details: error.details };
        resolve(this.status);
        for (const w of this.#waiters.splice(0)) w();
      });
      call.on("status", (status: { code: number; details: string }) => {
        if (this.status === undefined) this.status = { code: status.code, details: status.details };
        resolve(this.status);
        for (const w of this.#waiters.splice(0)) w();
      });
    });
  }

  send(request: Record<string, unknown>): void {
    this.call.write(this.#complete(request));
  }

  /** The next message not yet returned by next(). */
  async next(timeoutMs = 3000): Promise<Res> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length <= this.#read) {
      if (this.status !== undefined) throw new Error(`stream ended (${this.status.code}: ${this.status.details}) before a response`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms (received ${this.received.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received[this.#read++]!;
  }

  /** Resolves true if no further message arrives within `ms`. */
  async quiet(ms = 200): Promise<boolean> {
    const before = this.received.length;
    await new Promise((r) => setTimeout(r, ms));
    return this.received.length === before;
  }

  close(): void {
    this.call.cancel();
  }
}

export function adsClient(address: string): AggregatedDiscoveryServiceClient {
  return new AggregatedDiscoveryServiceClient(address, credentials.createInsecure());
}

export function openSotw(
  client: AggregatedDiscoveryServiceClient,
  metadata = new Metadata(),
): StreamReader<DiscoveryRequest, DiscoveryResponse> {
  return new StreamReader(client.streamAggregatedResources(metadata), (p) => DiscoveryRequest.fromPartial(p));
}

export function openDelta(client: AggregatedDiscoveryServiceClient): StreamReader<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  return new StreamReader(client.deltaAggregatedResources(), (p) => DeltaDiscoveryRequest.fromPartial(p));
}

export async function until(check: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function names(response: DiscoveryResponse): string[] {
  return response.resources.map((any) => {
    const bytes = any.value;
    return new TextDecoder().decode(bytes.subarray(2, 2 + bytes[1]!));
  });
}
