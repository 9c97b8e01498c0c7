// A forked child process seen as a queue of IPC reports, each awaited by kind.
import { type ChildProcess, fork } from "node:child_process";

export class Child<R extends { kind: string }> {
  readonly #child: ChildProcess;
  readonly #queue: R[] = [];
  readonly #name: string;
  #wake: (() => void) | undefined;
  #exit: string | undefined;

  /** Forks `script`, pinned to `cpu` with taskset when given. */
  constructor(name: string, script: string, args: string[], env: NodeJS.ProcessEnv, cpu: string | undefined, nodeArgs: string[] = []) {
    this.#name = name;
    const execArgv = ["--expose-gc", ...nodeArgs];
    this.#child =
      cpu === undefined
        ? fork(script, args, { env, execArgv })
        : fork(script, args, { env, execPath: "taskset", execArgv: ["-c", cpu, process.execPath, ...execArgv] });
    this.#child.on("message", (report: R) => {
      this.#queue.push(report);
      this.#wake?.();
    });
    this.#child.on("exit", (code, signal) => {
      this.#exit = `exited (${code ?? signal})`;
      this.#wake?.();
    });
  }

  send(command: object): void {
    this.#child.send(command);
  }

  /** The next report, which must be of `kind`; a "failed" report or an exit throws. */
  async expect<K extends R["kind"]>(kind: K, timeoutMs: number): Promise<Extract<R, { kind: K }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const report = this.#queue.shift();
      if (report !== undefined) {
        if (report.kind !== kind) throw new Error(`${this.#name}: expected "${kind}", got ${JSON.stringify(report)}`);
        return report as Extract<R, { kind: K }>;
      }
      if (this.#exit !== undefined) throw new Error(`${this.#name} ${this.#exit} while waiting for "${kind}"`);
      if (Date.now() > deadline) throw new Error(`${this.#name}: no "${kind}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Sends `command` and waits up to `timeoutMs` for the process to exit by itself (a CPU profile is written then). */
  async stop(command: object, timeoutMs: number): Promise<void> {
    if (this.#exit !== undefined) return;
    const exited = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    this.#child.send(command);
    await Promise.race([exited, new Promise((r) => setTimeout(r, timeoutMs))]);
  }

  kill(): void {
    if (this.#exit === undefined) this.#child.kill("SIGKILL");
  }
}
