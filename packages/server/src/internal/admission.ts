// The one admission path of streams and fetches: the server-wide limits
// (shutdown, maxConcurrentStreams, newStreamsPerSecond), the registry of open
// streams, and the user's onStreamOpen hook.
import type { XdsContext, XdsStatus } from "../events.js";
import type { ResolvedXdsServerOptions } from "../options.js";
import { TokenBucket } from "./rate-limiter.js";
import type { TrackedStream } from "./stream-host.js";
import { GrpcCode } from "./stream-rules.js";

/** What is being admitted, as refusal messages name it. */
export type AdmissionKind = "stream" | "fetch";

export class Admission {
  readonly #options: ResolvedXdsServerOptions;
  readonly #bucket: TokenBucket;
  readonly #streams = new Set<TrackedStream>();
  #closing = false;

  constructor(options: ResolvedXdsServerOptions) {
    this.#options = options;
    this.#bucket = new TokenBucket(options.newStreamsPerSecond, options.newStreamBurst);
  }

  /** The open streams. */
  get streams(): ReadonlySet<TrackedStream> {
    return this.#streams;
  }

  /** From now on every stream and fetch is refused with UNAVAILABLE (shutdown). */
  close(): void {
    this.#closing = true;
  }

  /**
   * Checks the server-wide limits for a new stream: a status to refuse it
   * with, or `undefined` after registering it (release it with {@link release}).
   */
  admitStream(stream: TrackedStream): XdsStatus | undefined {
    if (this.#closing) return shuttingDown();
    const max = this.#options.maxConcurrentStreams;
    if (max > 0 && this.#streams.size >= max) {
      return {
        code: GrpcCode.RESOURCE_EXHAUSTED,
        details: `too many open xDS streams (${this.#streams.size}; option maxConcurrentStreams = ${max})`,
      };
    }
    if (!this.#bucket.take()) {
      return {
        code: GrpcCode.RESOURCE_EXHAUSTED,
        details: `new xDS streams are rate-limited to ${this.#options.newStreamsPerSecond}/s (option newStreamsPerSecond); retry later`,
      };
    }
    this.#streams.add(stream);
    return undefined;
  }

  /** The limits for a fetch: a status to refuse it with, or `undefined`. */
  admitFetch(): XdsStatus | undefined {
    return this.#closing ? shuttingDown() : undefined;
  }

  /** Forgets a stream admitted by {@link admitStream}. */
  release(stream: TrackedStream): void {
    this.#streams.delete(stream);
  }

  /**
   * Asks the onStreamOpen hook about a stream or fetch. `decided` gets
   * `undefined` to accept or the status to refuse with: synchronously when
   * the hook answers synchronously (or there is none), else when its promise
   * settles. A hook that throws or rejects refuses with INTERNAL.
   */
  decide(context: XdsContext, kind: AdmissionKind, decided: (status: XdsStatus | undefined) => void): void {
    const callbacks = this.#options.callbacks;
    const hook = callbacks.onStreamOpen;
    if (hook === undefined) {
      decided(undefined);
      return;
    }
    const failed = (error: unknown): XdsStatus => ({
      code: GrpcCode.INTERNAL,
      details: `${kind} refused: the onStreamOpen hook failed: ${(error as Error)?.message ?? String(error)}`,
    });
    let decision: ReturnType<typeof hook>;
    try {
      decision = hook.call(callbacks, { context });
    } catch (error) {
      decided(failed(error));
      return;
    }
    if (decision !== null && typeof decision === "object" && "then" in decision) {
      decision.then(
        (status) => decided(refusalOf(status, kind)),
        (error: unknown) => decided(failed(error)),
      );
    } else {
      decided(refusalOf(decision, kind));
    }
  }

  /** {@link decide} as a promise. */
  decision(context: XdsContext, kind: AdmissionKind): Promise<XdsStatus | undefined> {
    return new Promise((resolve) => this.decide(context, kind, resolve));
  }
}

function shuttingDown(): XdsStatus {
  return { code: GrpcCode.UNAVAILABLE, details: "the xDS server is shutting down" };
}

/** A hook's answer as a refusal: anything but a status with a non-OK code accepts. */
function refusalOf(value: unknown, kind: AdmissionKind): XdsStatus | undefined {
  if (value === undefined || value === null) return undefined;
  const status = value as XdsStatus;
  if (typeof status.code === "number" && status.code !== GrpcCode.OK) {
    return { code: status.code, details: String(status.details ?? `${kind} refused`) };
  }
  return undefined;
}
