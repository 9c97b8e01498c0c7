// The one admission path of streams and fetches: the server-wide and
// per-client limits, the registry of streams, and the user's onStreamOpen hook.
//
// A stream goes through two stages. It *enters* when grpc-js hands it over:
// it is then "opening" (unidentified: no first request yet, or onStreamOpen
// still deciding) and counts only against the bounds of opening streams and
// of its connection and peer address. It is *admitted* once onStreamOpen
// accepted it: only then does it take a slot of maxConcurrentStreams. So idle
// streams that never send a first request cannot lock legitimate clients out;
// they hold an opening slot for at most firstRequestTimeoutMs.
// A fetch (gRPC Fetch* or REST) is admitted when it arrives and holds a slot
// of maxConcurrentStreams and of its connection and peer until answered.
import type { XdsContext, XdsStatus } from "../events.js";
import type { ResolvedXdsServerOptions } from "../options.js";
import { TokenBucket } from "./rate-limiter.js";
import type { TrackedStream } from "./stream-host.js";
import { GrpcCode } from "./stream-rules.js";

/** What is being admitted, as refusal messages name it. */
export type AdmissionKind = "stream" | "fetch";

/** Where a stream or fetch comes from: its transport connection and the client's address. */
export interface ClientOrigin {
  /** One key per transport connection (HTTP/2 session or HTTP/1 socket): the peer's `address:port`. */
  readonly connection: string;
  /** The peer's network address without the port. */
  readonly address: string;
  /** The identity of the client certificate the server verified (mTLS), if any (peer-certificate.ts). */
  readonly identity?: string | undefined;
}

/** The origin of a peer string as grpc-js or node:http gives it (`127.0.0.1:53122`, `[::1]:53122`, `ipv4:…`). */
export function originOf(peer: string, identity?: string): ClientOrigin {
  return { connection: peer, address: addressOf(peer), identity };
}

/**
 * The address part of a peer string: what precedes a last `:<digits>`, without an `ipv4:`/`ipv6:`
 * prefix or IPv6 brackets; the whole string when it has no port. Read with string operations, not
 * regular expressions: it runs for every stream that opens.
 */
function addressOf(peer: string): string {
  const colon = peer.lastIndexOf(":");
  if (colon < 0 || colon === peer.length - 1) return peer;
  for (let i = colon + 1; i < peer.length; i++) {
    const c = peer.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return peer;
  }
  let address = peer.slice(0, colon);
  // A line break is not matched by `.`: such a peer (never a real one) has no address part.
  if (/[\n\r\u2028\u2029]/.test(address)) return peer;
  if (address.startsWith("ipv4:") || address.startsWith("ipv6:")) address = address.slice(5);
  if (address.length >= 2 && address.charCodeAt(0) === 0x5b && address.charCodeAt(address.length - 1) === 0x5d)
    address = address.slice(1, -1);
  return address;
}

/** Counts per key; a key at zero is forgotten, so the map holds only live clients. */
class Counts {
  readonly #counts = new Map<string, number>();
  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
  add(key: string, delta: number): void {
    const next = this.get(key) + delta;
    if (next <= 0) this.#counts.delete(key);
    else this.#counts.set(key, next);
  }
}

/** A fetch holding its slots; give it back with {@link Admission.releaseFetch}. */
export interface FetchTicket {
  readonly origin: ClientOrigin;
}

interface Registered {
  readonly origin: ClientOrigin;
  admitted: boolean;
  /** When an opening stream's firstRequestTimeoutMs runs out (performance.now() time); Infinity without a limit. */
  readonly deadline: number;
}

export class Admission {
  readonly #options: ResolvedXdsServerOptions;
  readonly #bucket: TokenBucket;
  readonly #admitted = new Set<TrackedStream>();
  readonly #opening = new Set<TrackedStream>();
  readonly #registered = new Map<TrackedStream, Registered>();
  readonly #perConnection = new Counts();
  readonly #perAddress = new Counts();
  readonly #perIdentity = new Counts();
  readonly #openingPerAddress = new Counts();
  #fetches = 0;
  #closing = false;
  /**
   * The one timer of firstRequestTimeoutMs for every opening stream (not one per stream): it
   * fires at the deadline of the stream that entered first, ends the streams whose time ran
   * out, and is set again for the next. Opening streams are kept in the order they entered,
   * and all have the same timeout, so that order is the order of their deadlines.
   */
  #deadlineTimer: NodeJS.Timeout | undefined;

  constructor(options: ResolvedXdsServerOptions) {
    this.#options = options;
    this.#bucket = new TokenBucket(options.newStreamsPerSecond, options.newStreamBurst);
  }

  /** The admitted streams (they count against maxConcurrentStreams). */
  get streams(): ReadonlySet<TrackedStream> {
    return this.#admitted;
  }

  /** Streams not admitted yet: no first request, or onStreamOpen still deciding. */
  get opening(): ReadonlySet<TrackedStream> {
    return this.#opening;
  }

  /** Fetches being answered. */
  get fetches(): number {
    return this.#fetches;
  }

  /** From now on every stream and fetch is refused with UNAVAILABLE (shutdown). */
  close(): void {
    this.#closing = true;
  }

  /**
   * A new stream as grpc-js hands it over (before any request): a status to
   * refuse it with, or `undefined` after registering it as opening. Give it
   * back with {@link release}.
   */
  enter(stream: TrackedStream, origin: ClientOrigin): XdsStatus | undefined {
    if (this.#closing) return shuttingDown();
    const o = this.#options;
    if (o.maxOpeningStreams > 0 && this.#opening.size >= o.maxOpeningStreams) {
      // Full: end the oldest stream that never sent a request rather than refuse
      // this one. A real client identifies itself within milliseconds, so it is
      // never the oldest silent stream; an idle flood only evicts itself.
      const victim = this.#oldestSilent();
      if (victim === undefined) {
        return exhausted(
          `too many xDS streams waiting for onStreamOpen (${this.#opening.size}; option maxOpeningStreams = ${o.maxOpeningStreams}); retry later`,
        );
      }
      victim.end(
        exhausted(
          `ended to make room: no first request yet while ${o.maxOpeningStreams} streams were waiting (option maxOpeningStreams); send the first request right after opening the stream`,
        ),
      );
    }
    const refusal = this.#perClient(origin);
    if (refusal !== undefined) return refusal;
    if (o.maxOpeningStreamsPerPeer > 0 && this.#openingPerAddress.get(origin.address) >= o.maxOpeningStreamsPerPeer) {
      return exhausted(
        `too many xDS streams from ${origin.address} waiting for their first request or onStreamOpen (option maxOpeningStreamsPerPeer = ${o.maxOpeningStreamsPerPeer}); retry later`,
      );
    }
    const timeout = o.firstRequestTimeoutMs;
    this.#registered.set(stream, {
      origin,
      admitted: false,
      deadline: timeout > 0 ? performance.now() + timeout : Number.POSITIVE_INFINITY,
    });
    this.#opening.add(stream);
    this.#count(origin, 1);
    this.#openingPerAddress.add(origin.address, 1);
    if (timeout > 0 && this.#deadlineTimer === undefined) this.#armDeadline(timeout);
    return undefined;
  }

  #armDeadline(ms: number): void {
    this.#deadlineTimer = setTimeout(() => this.#expireOpening(), Math.max(1, Math.ceil(ms)));
    this.#deadlineTimer.unref();
  }

  /** Ends the opening streams whose firstRequestTimeoutMs ran out, oldest first; then waits for the next. */
  #expireOpening(): void {
    this.#deadlineTimer = undefined;
    const now = performance.now();
    for (const stream of this.#opening) {
      const entry = this.#registered.get(stream);
      if (entry !== undefined && entry.deadline > now) {
        if (Number.isFinite(entry.deadline)) this.#armDeadline(entry.deadline - now);
        return;
      }
      stream.expireOpening();
      // The stream released itself on ending; if it did not, it holds no slot from now on.
      if (this.#opening.has(stream)) this.release(stream);
    }
  }

  /**
   * The checks when an opening stream's first request arrived, before
   * onStreamOpen is asked: the rate limit (a token is spent here, so idle
   * streams spend none) and whether a slot is free at all.
   */
  identified(): XdsStatus | undefined {
    if (this.#closing) return shuttingDown();
    return this.#capacity() ?? this.#rate();
  }

  /**
   * Admits a stream onStreamOpen accepted: it takes a slot of
   * maxConcurrentStreams. A status to refuse it with when none is free.
   */
  admit(stream: TrackedStream, _context: XdsContext): XdsStatus | undefined {
    const entry = this.#registered.get(stream);
    if (entry === undefined || this.#closing) return shuttingDown();
    const refusal = this.#capacity();
    if (refusal !== undefined) return refusal;
    entry.admitted = true;
    this.#opening.delete(stream);
    this.#openingPerAddress.add(entry.origin.address, -1);
    this.#admitted.add(stream);
    return undefined;
  }

  /** Forgets a stream registered by {@link enter} (admitted or not). */
  release(stream: TrackedStream): void {
    const entry = this.#registered.get(stream);
    if (entry === undefined) return;
    this.#registered.delete(stream);
    this.#count(entry.origin, -1);
    if (entry.admitted) this.#admitted.delete(stream);
    else {
      this.#opening.delete(stream);
      this.#openingPerAddress.add(entry.origin.address, -1);
    }
  }

  /**
   * Admits a fetch (gRPC Fetch* or REST) under the limits of streams: it
   * takes a slot of maxConcurrentStreams, of its connection and of its peer,
   * and a token of newStreamsPerSecond. A status to refuse it with, or a
   * ticket to give back with {@link releaseFetch} once answered.
   */
  enterFetch(origin: ClientOrigin): XdsStatus | FetchTicket {
    if (this.#closing) return shuttingDown();
    const refusal = this.#perClient(origin) ?? this.#capacity() ?? this.#rate();
    if (refusal !== undefined) return refusal;
    this.#fetches += 1;
    this.#count(origin, 1);
    return { origin };
  }

  /** Gives back the slots of a fetch admitted by {@link enterFetch}. */
  releaseFetch(ticket: FetchTicket): void {
    this.#fetches -= 1;
    this.#count(ticket.origin, -1);
  }

  #count(origin: ClientOrigin, delta: number): void {
    this.#perConnection.add(origin.connection, delta);
    this.#perAddress.add(origin.address, delta);
    if (origin.identity !== undefined) this.#perIdentity.add(origin.identity, delta);
  }

  /** The stream that entered first among those that have not sent a request. */
  #oldestSilent(): TrackedStream | undefined {
    for (const stream of this.#opening) if (stream.silent) return stream;
    return undefined;
  }

  #perClient(origin: ClientOrigin): XdsStatus | undefined {
    const o = this.#options;
    if (o.maxStreamsPerConnection > 0 && this.#perConnection.get(origin.connection) >= o.maxStreamsPerConnection) {
      return exhausted(
        `too many xDS streams and fetches on this connection (option maxStreamsPerConnection = ${o.maxStreamsPerConnection}); open another connection or close streams`,
      );
    }
    if (o.maxStreamsPerPeer > 0 && this.#perAddress.get(origin.address) >= o.maxStreamsPerPeer) {
      return exhausted(`too many xDS streams and fetches from ${origin.address} (option maxStreamsPerPeer = ${o.maxStreamsPerPeer})`);
    }
    if (o.maxStreamsPerIdentity > 0 && origin.identity !== undefined && this.#perIdentity.get(origin.identity) >= o.maxStreamsPerIdentity) {
      return exhausted(
        `too many xDS streams and fetches of client identity ${JSON.stringify(origin.identity.slice(0, 200))} (option maxStreamsPerIdentity = ${o.maxStreamsPerIdentity})`,
      );
    }
    return undefined;
  }

  #capacity(): XdsStatus | undefined {
    const max = this.#options.maxConcurrentStreams;
    const used = this.#admitted.size + this.#fetches;
    if (max > 0 && used >= max) {
      return exhausted(`too many open xDS streams and fetches (${used}; option maxConcurrentStreams = ${max})`);
    }
    return undefined;
  }

  #rate(): XdsStatus | undefined {
    if (this.#bucket.take()) return undefined;
    return exhausted(
      `new xDS streams and fetches are rate-limited to ${this.#options.newStreamsPerSecond}/s (option newStreamsPerSecond); retry later`,
    );
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

  /**
   * {@link decide} as a promise, bounded by firstRequestTimeoutMs: a hook
   * that does not decide in time refuses with DEADLINE_EXCEEDED.
   */
  decision(context: XdsContext, kind: AdmissionKind): Promise<XdsStatus | undefined> {
    return new Promise((resolve) => {
      const timeout = this.#options.firstRequestTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      if (timeout > 0) {
        timer = setTimeout(
          () =>
            resolve({
              code: GrpcCode.DEADLINE_EXCEEDED,
              details: `onStreamOpen did not decide about the ${kind} within ${timeout} ms (option firstRequestTimeoutMs)`,
            }),
          timeout,
        );
        timer.unref();
      }
      this.decide(context, kind, (status) => {
        clearTimeout(timer);
        resolve(status);
      });
    });
  }
}

function exhausted(details: string): XdsStatus {
  return { code: GrpcCode.RESOURCE_EXHAUSTED, details };
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
