// A TCP forwarder on 127.0.0.1 (port 0) standing in for a load balancer in
// front of control-plane replicas: clients dial the proxy, and switchTo()
// sends new connections to another replica and drops the current ones, as a
// replica going away does.
import { connect, createServer, type Server, type Socket } from "node:net";

export class SwitchProxy implements AsyncDisposable {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #target: string;
  address = "";

  private constructor(target: string) {
    this.#target = target;
    this.#server = createServer((client) => {
      const [host, port] = splitAddress(this.#target);
      const upstream = connect(port, host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  static async start(target: string): Promise<SwitchProxy> {
    const proxy = new SwitchProxy(target);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once("error", reject);
      proxy.#server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = proxy.#server.address();
    if (address === null || typeof address === "string") throw new Error("SwitchProxy: no TCP address");
    proxy.address = `127.0.0.1:${address.port}`;
    return proxy;
  }

  /** New connections go to `target`; open ones are dropped. */
  switchTo(target: string): void {
    this.#target = target;
    for (const socket of this.#sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}
