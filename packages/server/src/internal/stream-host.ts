// The server as the streams and fetches it hosts see it: the resolved
// options, where events go, process-unique ids, and admission (limits, the
// onStreamOpen hook, the registry of open streams).
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { XdsStatus } from "../events.js";
import type { ResolvedXdsServerOptions } from "../options.js";
import type { Admission } from "./admission.js";
import type { EventHub } from "./event-hub.js";
import type { PushLimiter } from "./push-limiter.js";

/** A stream the server tracks (for limits, stats and shutdown). */
export interface TrackedStream {
  readonly id: number;
  /** Ends the stream with a status (after flushing, unless `force`). */
  end(status: XdsStatus): void;
  /** Resolves when nothing is pending or being written. */
  whenIdle(): Promise<void>;
  readonly stats: { readonly pending: number; readonly inFlight: number; readonly inFlightBytes: number; readonly types: number };
  /**
   * Called by admission when the stream is still opening (no first request accepted) after
   * firstRequestTimeoutMs: it ends with DEADLINE_EXCEEDED.
   */
  expireOpening(): void;
  /** True until the stream's first request arrived (it said nothing, not even who it is). */
  readonly silent: boolean;
  /** The node and, per subscribed type, whether the client holds what the cache serves; `undefined` before the first request. */
  sync(): StreamSync | undefined;
}

/** What {@link TrackedStream.sync} reports. */
export interface StreamSync {
  readonly node: Node;
  /**
   * Per subscribed type: `current` when nothing is queued or waiting for an
   * ACK and the cache holds the type's watch (it has nothing newer for the
   * client); a gated make-before-break removal is not current.
   */
  readonly types: ReadonlyArray<{ readonly typeUrl: string; readonly current: boolean }>;
}

/** What a gRPC stream, a gRPC fetch or a REST request gets from the server hosting it. */
export interface StreamHost {
  readonly options: ResolvedXdsServerOptions;
  /** Every event goes through here (cache.observe, callbacks, the events Observable, diagnostics). */
  readonly hub: EventHub;
  /** Ids for streams and fetches, unique in the process. */
  nextId(): number;
  /** The one admission path of streams and fetches. */
  readonly admission: Admission;
  /** The cap on pushes started per event-loop turn (option maxPushesPerTurn); undefined when off. */
  readonly pushes?: PushLimiter;
}
