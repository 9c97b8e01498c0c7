// One place every server event goes through: the node-status tracker, the
// user's callbacks, the events Observable and node:diagnostics_channel.
import { NodeStatusTracker, type ProtocolEvent, safeLog, type XdsLogger } from "@xdskit/cache";
import { ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { Observable } from "rxjs";
import { publishDiagnostics } from "../diagnostics.js";
import type { XdsServerCallbacks, XdsServerEvent } from "../events.js";
import { serverEventLogger } from "../logging.js";
import { GuardedObservable, OBSERVER_FAILURE_LIMIT, type ObserverFault } from "./observer-guard.js";
// rxjs, required from its own modules, not the "rxjs" index: the same classes (internal/rx.ts).
import { Subject } from "./rx.js";

export class EventHub {
  readonly #subject = new Subject<XdsServerEvent>();
  /** The events as `xds.events` gives them: every subscriber guarded (observer-guard.ts). */
  readonly events: Observable<XdsServerEvent>;
  /** Every event, unguarded: for the server's own observers (rollout tracking), never for user code. */
  get internalEvents(): Observable<XdsServerEvent> {
    return this.#subject;
  }
  readonly #status: NodeStatusTracker | undefined;
  readonly #callbacks: XdsServerCallbacks;
  readonly #logger: XdsLogger;
  readonly #observerFailed = (fault: ObserverFault) => this.#reportObserver(fault);

  /** The server's own event log (logging.ts), called directly: no subscription per server. */
  readonly #log: (event: XdsServerEvent) => void;

  /**
   * The tracker's own observe (not a subclass's): it is then fed each event's fields
   * (observeFrom), and builds the ProtocolEvent only for subscribers of its events.
   */
  readonly #statusFromFields: boolean;

  constructor(status: NodeStatusTracker | undefined, callbacks: XdsServerCallbacks, logger: XdsLogger) {
    this.#status = status;
    this.#statusFromFields =
      status !== undefined && status.observe === NodeStatusTracker.prototype.observe && typeof status.observeFrom === "function";
    this.#callbacks = callbacks;
    this.#logger = logger;
    this.#log = serverEventLogger(logger);
    this.events = new GuardedObservable<XdsServerEvent>((subscriber) => this.#subject.subscribe(subscriber), this.#observerFailed);
  }

  emit(event: XdsServerEvent): void {
    const status = this.#status;
    if (status !== undefined) {
      try {
        if (this.#statusFromFields) observeServerEvent(status, event);
        else {
          const protocolEvent = toProtocolEvent(event);
          if (protocolEvent !== undefined) status.observe(protocolEvent);
        }
      } catch (error) {
        this.#hookFailed("status.observe", event, error);
      }
    }
    const name = hookName(event.kind);
    const hook = name === undefined ? undefined : (this.#callbacks[name] as ((event: XdsServerEvent) => unknown) | undefined);
    if (hook !== undefined) {
      const where = `callbacks.${name}`;
      try {
        const returned: unknown = hook.call(this.#callbacks, event);
        // An async hook (`onNack: async (e) => db.write(e)`) fails by rejecting: catch that
        // too, or one failed write would be an unhandled rejection that ends the process.
        if (isThenable(returned)) returned.then(undefined, (error: unknown) => this.#hookFailed(where, event, error));
      } catch (error) {
        this.#hookFailed(where, event, error);
      }
    }
    try {
      this.#log(event);
    } catch {
      // safeLog already keeps a failing logger from throwing; nothing else in it can.
    }
    publishDiagnostics(event, this.#observerFailed);
    if (this.#subject.observed) this.#subject.next(event);
  }

  /**
   * A failed observer: an `error` event (reported after the current event has
   * reached everyone, so reports never overtake it). A failure on an `error`
   * event is only logged (reporting it as an event could loop); a drop is
   * always reported.
   */
  #reportObserver(fault: ObserverFault): void {
    const event = fault.value as Partial<XdsServerEvent> | undefined;
    const kind = typeof event?.kind === "string" ? event.kind : undefined;
    const on = kind === undefined ? "" : ` on a ${kind} event`;
    const drop = fault.dropped
      ? `; dropped after ${OBSERVER_FAILURE_LIMIT} failures in a row: it receives no more events (subscribe again once fixed)`
      : "";
    const message = `${fault.observer} threw${on}: ${(fault.cause as Error)?.message ?? String(fault.cause)}${drop}`;
    const context = event?.context;
    if (kind === "error" && !fault.dropped) {
      safeLog(this.#logger, "warn", { code: ErrorCode.HOOK_FAILED, ...(context ? { nodeId: context.node?.id } : {}) }, message);
      return;
    }
    const error = new XdskitError(ErrorCode.HOOK_FAILED, message, {
      cause: fault.cause,
      ...(context?.typeUrl !== undefined ? { typeUrl: context.typeUrl } : {}),
    });
    queueMicrotask(() => this.emit({ kind: "error", context, error, at: Date.now() }));
  }

  #hookFailed(where: string, event: XdsServerEvent, cause: unknown): void {
    if (event.kind === "error") return;
    const error = new XdskitError(
      ErrorCode.HOOK_FAILED,
      `${where} threw on a ${event.kind} event: ${(cause as Error)?.message ?? String(cause)}`,
      {
        cause,
        ...(event.context?.typeUrl !== undefined ? { typeUrl: event.context.typeUrl } : {}),
      },
    );
    this.emit({ kind: "error", context: event.context, error, at: Date.now() });
  }

  complete(): void {
    this.#subject.complete();
  }
}

function hookName(kind: XdsServerEvent["kind"]): keyof XdsServerCallbacks | undefined {
  switch (kind) {
    case "stream-closed":
      return "onStreamClosed";
    case "request":
      return "onRequest";
    case "response":
      return "onResponse";
    case "ack":
      return "onAck";
    case "nack":
      return "onNack";
    case "fetch":
      return "onFetch";
    case "error":
      return "onError";
    default:
      return undefined;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === "function"
  );
}

/** Feeds a protocol event to the tracker as toProtocolEvent would, without making the ProtocolEvent unless it is asked for. */
function observeServerEvent(status: NodeStatusTracker, event: XdsServerEvent): void {
  const context = event.context;
  if (context === undefined || (context.protocol !== "sotw" && context.protocol !== "delta")) return;
  switch (event.kind) {
    case "stream-opened":
    case "stream-closed":
    case "request":
    case "response":
    case "ack":
    case "nack":
      status.observeFrom(event, event.kind, context.streamId, context.node, context.typeUrl ?? "", event.at, toProtocolEvent);
  }
}

/** The subset of events a node-status tracker keeps per-node status from. */
export function toProtocolEvent(event: XdsServerEvent): ProtocolEvent | undefined {
  const context = event.context;
  if (context === undefined || (context.protocol !== "sotw" && context.protocol !== "delta")) return undefined;
  // Literals with every field (no spread of a common part): one per event, on the hot path.
  const { streamId, node } = context;
  const at = event.at;
  switch (event.kind) {
    case "stream-opened":
      return { kind: "stream-opened", streamId, node, at, protocol: context.protocol, ads: context.ads };
    case "stream-closed":
      return { kind: "stream-closed", streamId, node, at };
    case "request":
      return { kind: "request", streamId, node, at, typeUrl: context.typeUrl ?? "" };
    case "response":
      return {
        kind: "response",
        streamId,
        node,
        at,
        typeUrl: context.typeUrl ?? "",
        version: event.version,
        nonce: event.nonce,
        resourceNames: event.resourceNames,
      };
    case "ack":
      return { kind: "ack", streamId, node, at, typeUrl: context.typeUrl ?? "", version: event.version, nonce: event.nonce };
    case "nack":
      return {
        kind: "nack",
        streamId,
        node,
        at,
        typeUrl: context.typeUrl ?? "",
        rejectedVersion: event.rejectedVersion,
        keptVersion: event.keptVersion,
        nonce: event.nonce,
        error: event.error,
      };
    default:
      return undefined;
  }
}
