// A tiny gRPC service for the example: `/demo.Greeter/Hello`, JSON on the
// wire, so no .proto file is needed. Each backend answers with its own name.
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

/** Starts a backend on 127.0.0.1 (any free port) that answers `{ backend: name }`. */
export async function startBackend(name: string): Promise<{ name: string; address: string; stop(): void }> {
  const server = new grpc.Server();
  server.addService(service, {
    hello: (_call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => done(null, { backend: name }),
  });
  const port = await new Promise<number>((ok, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))),
  );
  return { name, address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

const Client = grpc.makeGenericClientConstructor(service, "Greeter");

/** A Greeter client on any target, e.g. `xds:///greeter`. */
export function greeterClient(target: string) {
  const client = new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    hello(
      request: unknown,
      metadata: grpc.Metadata,
      options: grpc.CallOptions,
      done: (e: grpc.ServiceError | null, reply?: { backend: string }) => void,
    ): void;
  };
  return {
    /** One RPC with optional request headers; resolves with the name of the backend that answered. */
    hello: (headers: Record<string, string> = {}) => {
      const metadata = new grpc.Metadata();
      for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
      return new Promise<string>((ok, fail) =>
        client.hello({}, metadata, { deadline: Date.now() + 5000 }, (e, reply) => (e ? fail(e) : ok(reply!.backend))),
      );
    },
    /** `rpcs` RPCs; resolves with how many each backend answered. */
    async count(rpcs: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
      const counts: Record<string, number> = {};
      for (let i = 0; i < rpcs; i++) {
        const backend = await this.hello(headers);
        counts[backend] = (counts[backend] ?? 0) + 1;
      }
      return counts;
    },
    close: () => client.close(),
  };
}
