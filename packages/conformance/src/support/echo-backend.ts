// Real gRPC backends for real-client tests: each serves the Echo service on
// 127.0.0.1 (port 0) and answers with its own name.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

// From src/support or dist/support alike: the .proto stays in src/.
const PROTO = fileURLToPath(new URL("../../src/support/echo.proto", import.meta.url));

interface EchoReply {
  message: string;
  backend: string;
}

type EchoClient = grpc.Client & {
  echo(
    request: { message: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientUnaryCall;
};

let loaded: grpc.GrpcObject | undefined;
function echoPackage(): grpc.GrpcObject {
  loaded ??= grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: false }));
  return loaded;
}

function echoService(): grpc.ServiceClientConstructor {
  const pkg = (echoPackage().xdskit as grpc.GrpcObject).conformance as grpc.GrpcObject;
  return pkg.Echo as grpc.ServiceClientConstructor;
}

/** One running Echo backend. */
export class EchoBackend {
  readonly name: string;
  readonly server = new grpc.Server();
  port = 0;
  /** RPCs this backend answered. */
  served = 0;

  constructor(name: string) {
    this.name = name;
  }

  static async start(name: string): Promise<EchoBackend> {
    const backend = new EchoBackend(name);
    backend.server.addService(echoService().service, {
      echo: (call: grpc.ServerUnaryCall<{ message: string }, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
        backend.served += 1;
        callback(null, { message: call.request.message, backend: backend.name });
      },
    });
    backend.port = await new Promise<number>((resolve, reject) =>
      backend.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    return backend;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

/** An Echo client on any target (e.g. `xds:///echo`), with channel options (e.g. the bootstrap). */
export class Echo {
  readonly client: EchoClient;

  constructor(target: string, options: grpc.ChannelOptions = {}) {
    const Client = echoService();
    this.client = new Client(target, grpc.credentials.createInsecure(), options) as unknown as EchoClient;
  }

  /** One RPC; resolves with the name of the backend that answered. */
  call(headers: Record<string, string> = {}, timeoutMs = 5000): Promise<string> {
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    return new Promise((resolve, reject) => {
      this.client.echo({ message: "hi" }, metadata, { deadline: Date.now() + timeoutMs }, (error, reply) =>
        error ? reject(error) : resolve(reply!.backend),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** What {@link callInLoop} records. */
export interface RpcLoad {
  readonly answers: string[];
  readonly failures: unknown[];
  /** Stops the callers and waits for their last calls. */
  stop(): Promise<void>;
}

/** `callers` loops calling `echo` back to back (a busy client), recording every answer and failure until stop(). */
export function callInLoop(echo: Echo, callers = 4): RpcLoad {
  const answers: string[] = [];
  const failures: unknown[] = [];
  let running = true;
  const loops = Array.from({ length: callers }, async () => {
    while (running) {
      try {
        answers.push(await echo.call());
      } catch (error) {
        failures.push(error);
      }
    }
  });
  return {
    answers,
    failures,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
