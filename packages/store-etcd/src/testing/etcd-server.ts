// A real etcd server for tests: started on loopback with free ports and a
// temporary data directory, stopped by PID. It can be stopped and started
// again on the same data directory and ports, to test what replicas do while
// etcd is away. Used by @xdskit/store-etcd's own tests and by the scale-out
// conformance tests; exported as `@xdskit/store-etcd/testing` for users who
// test their control plane against a real etcd too.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Options of {@link EtcdTestServer.start}. */
export interface EtcdTestServerOptions {
  /** The etcd binary. Default: `$XDSKIT_ETCD_BIN`, else `etcd` on the PATH (Debian's `etcd-server` installs `/usr/bin/etcd`). */
  readonly binary?: string;
  /** How long to wait for etcd to answer its health check. Default 20000 ms. */
  readonly startTimeoutMs?: number;
}

/** Where the etcd binary is, or `undefined` when there is none (tests skip themselves then, when `XDSKIT_SKIP_TOOLS=1`). */
export function findEtcdBinary(): string | undefined {
  const fromEnv = process.env.XDSKIT_ETCD_BIN;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  for (const candidate of ["/usr/bin/etcd", "/usr/local/bin/etcd"]) if (existsSync(candidate)) return candidate;
  const found = spawnSync("sh", ["-c", "command -v etcd"], { encoding: "utf8" });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : undefined;
}

/**
 * One etcd process owned by a test.
 *
 * @example
 * const etcd = await EtcdTestServer.start();
 * const store = await EtcdConfigStore.connect({ endpoints: [etcd.endpoint], prefix: "/t1/" });
 * // ...
 * await store.close();
 * await etcd.destroy();
 */
export class EtcdTestServer {
  #child: ChildProcess | undefined;
  #log = "";

  private constructor(
    readonly binary: string,
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly startTimeoutMs: number,
  ) {}

  /** The client URL, e.g. `http://127.0.0.1:40123`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** The running process's PID (undefined while stopped). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts etcd in a new temporary data directory and waits until it is healthy. */
  static async start(options: EtcdTestServerOptions = {}): Promise<EtcdTestServer> {
    const binary = options.binary ?? findEtcdBinary();
    if (!binary) {
      throw new Error(
        "EtcdTestServer: no etcd binary found; install Debian's etcd-server (apt-get install etcd-server) or set XDSKIT_ETCD_BIN",
      );
    }
    const dataDir = mkdtempSync(join(tmpdir(), "xdskit-etcd-"));
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const server = new EtcdTestServer(binary, dataDir, clientPort, peerPort, options.startTimeoutMs ?? 20_000);
    await server.resume();
    return server;
  }

  /** Starts etcd again after {@link stop} or {@link kill}, on the same data directory and ports. */
  async resume(): Promise<void> {
    if (this.#child) return;
    const client = `http://127.0.0.1:${this.clientPort}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const child = spawn(
      this.binary,
      [
        "--name=xdskit-test",
        `--data-dir=${this.dataDir}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=xdskit-test=${peer}`,
        "--initial-cluster-state=new",
        "--log-level=error",
        "--logger=zap",
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === "arm64" ? "arm64" : "" } },
    );
    this.#child = child;
    child.stderr?.on("data", (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString()).slice(-4000);
    });
    child.once("exit", () => {
      if (this.#child === child) this.#child = undefined;
    });
    const deadline = Date.now() + this.startTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.#child) throw new Error(`EtcdTestServer: etcd exited while starting:\n${this.#log}`);
      try {
        const response = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) });
        if (response.ok && ((await response.json()) as { health?: string }).health === "true") return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.kill();
    throw new Error(`EtcdTestServer: etcd did not become healthy in ${this.startTimeoutMs} ms:\n${this.#log}`);
  }

  /** Stops etcd gracefully (SIGTERM) and waits for it to exit; the data directory stays. */
  stop(): Promise<void> {
    return this.#signal("SIGTERM");
  }

  /** Kills etcd (SIGKILL) and waits for it to exit; the data directory stays. */
  kill(): Promise<void> {
    return this.#signal("SIGKILL");
  }

  /** Kills etcd and removes its data directory. */
  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await exited;
    this.#child = undefined;
  }
}

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
