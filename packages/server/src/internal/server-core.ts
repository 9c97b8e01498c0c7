// What streams and fetches need from the server that owns them.
import type { XdsStatus } from "../events.js";
import type { ResolvedXdsServerOptions } from "../options.js";
import type { EventHub } from "./event-hub.js";

/** A stream the server tracks (for limits, stats and shutdown). */
export interface TrackedStream {
  readonly id: number;
  /** Ends the stream with a status (after flushing, unless `force`). */
  end(status: XdsStatus): void;
  /** Resolves when nothing is pending or being written. */
  whenIdle(): Promise<void>;
  readonly stats: { readonly pending: number; readonly inFlight: number; readonly inFlightBytes: number; readonly types: number };
}

export interface ServerCore {
  readonly options: ResolvedXdsServerOptions;
  readonly hub: EventHub;
  /** Ids for streams and fetches, unique in the process. */
  nextId(): number;
  /** A status to refuse a new stream with (shutdown, limits, rate), or `undefined` to accept it. */
  admitStream(): XdsStatus | undefined;
  /** A status to refuse a fetch with (shutdown), or `undefined`. */
  admitFetch(): XdsStatus | undefined;
  track(stream: TrackedStream): void;
  untrack(stream: TrackedStream): void;
}
