// A tiny gRPC service for the example: `/demo.Greeter/Hello`, JSON on the
// wire, so no .proto file is needed. A backend can be made slow or flaky.
import * as grpc from "@grpc/grpc-js";

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()),
};
const service: grpc.ServiceDefinition = {
  hello: {
    path: "/demo.Greeter/Hello",
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

/** How a backend misbehaves. */
export interface BackendBehaviour {
  /** Answer after this many milliseconds. Default 0. */
  readonly delayMs?: number;
  /** Fail every n-th call with UNAVAILABLE (2: every other call). Default: never. */
  readonly failEvery?: number;
}

/** Starts a backend on 127.0.0.1 (any free port) that answers `{ backend: name }`. */
export async function startBackend(name: string, behaviour: BackendBehaviour = {}) {
  const server = new grpc.Server();
  let calls = 0;
  server.addService(service, {
    hello: (_call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => {
      calls++;
      if (behaviour.failEvery && calls % behaviour.failEvery === 0) {
        done({ code: grpc.status.UNAVAILABLE, details: `${name}: failing call ${calls} on purpose` });
        return;
      }
      setTimeout(() => done(null, { backend: name }), behaviour.delayMs ?? 0);
    },
  });
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))),
  );
  return {
    name,
    address: `127.0.0.1:${port}`,
    /** Calls that reached this backend (retries included). */
    calls: () => calls,
    stop: () => server.forceShutdown(),
  };
}

const Client = grpc.makeGenericClientConstructor(service, "Greeter");

/** What one RPC ended with: the backend's name, or the gRPC status code. */
export type Outcome =
  | { readonly ok: true; readonly backend: string; readonly ms: number }
  | { readonly ok: false; readonly code: number; readonly ms: number };

/** A Greeter client on any target, e.g. `xds:///greeter`. */
export function greeterClient(target: string) {
  const client = new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    hello(request: unknown, options: grpc.CallOptions, done: (e: grpc.ServiceError | null, reply?: { backend: string }) => void): void;
  };
  const call = () =>
    new Promise<Outcome>((resolve) => {
      const started = Date.now();
      client.hello({}, { deadline: Date.now() + 5000 }, (e, reply) =>
        resolve(
          e ? { ok: false, code: e.code, ms: Date.now() - started } : { ok: true, backend: reply!.backend, ms: Date.now() - started },
        ),
      );
    });
  return {
    /** `rpcs` RPCs at once; resolves with every outcome. */
    burst: (rpcs: number) => Promise.all(Array.from({ length: rpcs }, call)),
    /**
     * `rpcs` RPCs started `gapMs` apart, without waiting for answers: the way
     * to keep several in flight (RPCs started in the same tick are all picked
     * before any counts as started, so a circuit breaker would not see them).
     */
    async staggered(rpcs: number, gapMs: number): Promise<Outcome[]> {
      const pending: Promise<Outcome>[] = [];
      for (let i = 0; i < rpcs; i++) {
        pending.push(call());
        await new Promise((r) => setTimeout(r, gapMs));
      }
      return Promise.all(pending);
    },
    /** `rpcs` RPCs one after the other. */
    async sequence(rpcs: number): Promise<Outcome[]> {
      const outcomes: Outcome[] = [];
      for (let i = 0; i < rpcs; i++) outcomes.push(await call());
      return outcomes;
    },
    close: () => client.close(),
  };
}
