// The logging interface xdskit writes to: pino's (a bindings object, then a
// message), so pino works unchanged and anything else adapts in four lines.

/**
 * Where the cache and server log. pino loggers fit as they are
 * (`logger.warn({ nodeId }, "message")`).
 *
 * @example new SnapshotCache({ logger: pino() }); new XdsServer({ cache, logger: pino() });
 */
export interface XdsLogger {
  debug(bindings: object, message: string): void;
  info(bindings: object, message: string): void;
  warn(bindings: object, message: string): void;
  error(bindings: object, message: string): void;
}

function line(level: string, bindings: object, message: string): string {
  const fields = Object.entries(bindings)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : String(v)}`)
    .join(" ");
  return `xdskit ${level}: ${message}${fields ? ` (${fields})` : ""}\n`;
}

/** The default logger: warnings and errors to stderr as one line each; quiet otherwise. */
export const stderrLogger: XdsLogger = Object.freeze({
  debug() {},
  info() {},
  warn(bindings: object, message: string) {
    process.stderr.write(line("warn", bindings, message));
  },
  error(bindings: object, message: string) {
    process.stderr.write(line("error", bindings, message));
  },
});

/** A logger that drops everything (tests, or when you log from events yourself). */
export const silentLogger: XdsLogger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

/**
 * Remembers which keys were logged, so a warning is written once, not on
 * every retry. Bounded: past `max` keys the oldest are forgotten (and may be
 * logged again).
 * @internal
 */
export class OnceKeys {
  readonly #seen = new Set<string>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** True the first time a key is seen. */
  first(key: string): boolean {
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    if (this.#seen.size > this.#max) this.#seen.delete(this.#seen.values().next().value!);
    return true;
  }
}

/** Calls a logger method without letting a throwing logger affect the caller. */
export function safeLog(logger: XdsLogger, level: keyof XdsLogger, bindings: object, message: string): void {
  try {
    logger[level](bindings, message);
  } catch {
    // A broken logger must not break serving.
  }
}

/** True for an object with the four methods. */
export function isLogger(value: unknown): value is XdsLogger {
  const v = value as Record<string, unknown> | null;
  return typeof v === "object" && v !== null && ["debug", "info", "warn", "error"].every((k) => typeof v[k] === "function");
}
