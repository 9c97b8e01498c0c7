// Awaitable conditions re-checked on every state change, with timeouts whose
// errors carry the caller's stack (captured when the wait began) and say what
// was awaited and what the FakeEnvoy has.
import { ErrorCode, XdskitError, type XdskitErrorContext } from "@xdskit/envoy-api";

/** How often a pending wait is re-checked besides on every change, in milliseconds. */
const POLL_MS = 10;

/** What a wait waits for; a function when it should say what it sees at the moment it fails. */
export type WaitDescription = string | (() => string);

function describeWait(description: WaitDescription): string {
  return typeof description === "function" ? description() : description;
}

interface Pending {
  readonly description: WaitDescription;
  check(): boolean;
  fail(error: XdskitError): void;
}

export class Waiters {
  readonly #pending = new Set<Pending>();
  readonly #describe: () => string;

  constructor(describe: () => string) {
    this.#describe = describe;
  }

  /**
   * Resolves with the first truthy value of `probe`, checked now and after
   * every `changed()`. A throwing probe rejects the wait.
   */
  wait<T>(
    description: WaitDescription,
    probe: () => T | undefined | null | false,
    timeoutMs: number,
    context: XdskitErrorContext = {},
  ): Promise<T> {
    const site = new Error();
    const fail = (message: string): XdskitError => {
      const error = new XdskitError(ErrorCode.WAIT_TIMEOUT, message, context);
      const frames = site.stack?.split("\n").slice(2).join("\n");
      if (frames) error.stack = `${error.name}: ${error.message}\n${frames}`;
      return error;
    };
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      const pending: Pending = {
        description,
        check: () => {
          let value: T | undefined | null | false;
          try {
            value = probe();
          } catch (error) {
            done();
            reject(error);
            return true;
          }
          if (!value) return false;
          done();
          resolve(value);
          return true;
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      const done = () => {
        if (timer) clearTimeout(timer);
        if (poll) clearInterval(poll);
        this.#pending.delete(pending);
      };
      if (pending.check()) return;
      this.#pending.add(pending);
      // Probes may look at state outside the FakeEnvoy (a server's records): poll too.
      poll = setInterval(() => pending.check(), POLL_MS);
      timer = setTimeout(() => {
        pending.fail(
          fail(`FakeEnvoy: timed out after ${timeoutMs} ms waiting for ${describeWait(description)}. It has: ${this.#describe()}`),
        );
      }, timeoutMs);
    });
  }

  /** Re-checks every pending wait. */
  changed(): void {
    for (const pending of [...this.#pending]) pending.check();
  }

  /** Fails every pending wait (the FakeEnvoy was closed). */
  closeAll(): void {
    for (const pending of [...this.#pending]) {
      const message = `FakeEnvoy: closed while waiting for ${describeWait(pending.description)}. It has: ${this.#describe()}`;
      pending.fail(new XdskitError(ErrorCode.WAIT_TIMEOUT, message));
    }
  }
}
