// Protocol events from a `serve --workers` worker to the primary, made cheap
// to send and to file. At 10,000 streams an initial sync is about 130,000
// events; a response event names every resource sent (100 clusters, say), and
// the server hands the same frozen name list to every stream it sends the same
// response to. So a name list crosses the channel once: the worker numbers each
// list it has not sent yet and sends its names with the batch that first uses
// it; later events carry the number. Both ends forget numbers older than the
// newest minus NAMES_WINDOW, in step (the numbers are sequential), so the
// primary holds at most that many lists per worker. The primary files events
// under frozen lists, which the status tracker keeps as they are (one list per
// response, shared by every node), as the single-process server does.
import type { ProtocolEvent } from "@xdskit/cache";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";

/** Name lists a worker may refer to by number: the newest this many. */
export const NAMES_WINDOW = 4096;

/** An event without its node (distributes over the union). */
type WithoutNode<T> = T extends unknown ? Omit<T, "node"> : never;

/** A protocol event on the wire: `node` only on `stream-opened`; a response's names as a list number. */
export type WireEvent =
  | (Omit<Extract<ProtocolEvent, { kind: "response" }>, "node" | "resourceNames"> & { readonly names: number })
  | WithoutNode<Exclude<ProtocolEvent, { kind: "response" | "stream-opened" }>>
  | Extract<ProtocolEvent, { kind: "stream-opened" }>;

/** One batch: name lists first used in it (number → names), then the events. */
export interface WireBatch {
  readonly names: readonly (readonly [number, readonly string[]])[];
  readonly events: readonly WireEvent[];
}

/** The worker's side: turns protocol events into batches. */
export class WireEncoder {
  readonly #numbers = new WeakMap<readonly string[], number>();
  #next = 1;
  #names: [number, readonly string[]][] = [];
  #events: WireEvent[] = [];

  get size(): number {
    return this.#events.length;
  }

  add(event: ProtocolEvent): void {
    switch (event.kind) {
      case "stream-opened":
        this.#events.push(event);
        return;
      case "response": {
        let names = this.#numbers.get(event.resourceNames);
        if (names === undefined || names <= this.#next - 1 - NAMES_WINDOW) {
          names = this.#next++;
          this.#numbers.set(event.resourceNames, names);
          this.#names.push([names, event.resourceNames]);
        }
        const { kind, streamId, typeUrl, version, nonce, at } = event;
        this.#events.push({ kind, streamId, typeUrl, version, nonce, at, names });
        return;
      }
      case "stream-closed":
        this.#events.push({ kind: event.kind, streamId: event.streamId, at: event.at });
        return;
      case "request":
        this.#events.push({ kind: event.kind, streamId: event.streamId, typeUrl: event.typeUrl, at: event.at });
        return;
      case "ack":
        this.#events.push({
          kind: event.kind,
          streamId: event.streamId,
          typeUrl: event.typeUrl,
          version: event.version,
          nonce: event.nonce,
          at: event.at,
        });
        return;
      case "nack":
        this.#events.push({
          kind: event.kind,
          streamId: event.streamId,
          typeUrl: event.typeUrl,
          rejectedVersion: event.rejectedVersion,
          keptVersion: event.keptVersion,
          nonce: event.nonce,
          error: event.error,
          at: event.at,
        });
        return;
    }
  }

  /** The batch so far, emptied. */
  take(): WireBatch {
    const batch = { names: this.#names, events: this.#events };
    this.#names = [];
    this.#events = [];
    return batch;
  }
}

/** The primary's side, one per worker: turns batches back into protocol events. */
export class WireDecoder {
  readonly #names = new Map<number, readonly string[]>();
  /** Open streams of the worker: stream id → node. */
  readonly streams = new Map<number, Node>();

  /**
   * Calls `observe` with each event of `batch`, its node restored from the
   * stream's `stream-opened` and its stream id made unique across workers by
   * `globalId`. Events of a stream never seen open are skipped.
   */
  decode(batch: WireBatch, globalId: (streamId: number) => number, observe: (event: ProtocolEvent) => void): void {
    // Lists defined in this batch first; the ones they push out of the window are forgotten after its
    // events (an event early in the batch may use a list that a later definition pushes out).
    for (const [n, list] of batch.names) this.#names.set(n, Object.isFrozen(list) ? list : Object.freeze(list));
    for (const event of batch.events) {
      let node: Node | undefined;
      if (event.kind === "stream-opened") {
        node = event.node;
        this.streams.set(event.streamId, node);
      } else node = this.streams.get(event.streamId);
      if (node === undefined) continue;
      const streamId = globalId(event.streamId);
      switch (event.kind) {
        case "stream-opened":
          observe({ ...event, streamId });
          break;
        case "stream-closed":
          this.streams.delete(event.streamId);
          observe({ kind: "stream-closed", streamId, node, at: event.at });
          break;
        case "response":
          observe({
            kind: "response",
            streamId,
            node,
            typeUrl: event.typeUrl,
            version: event.version,
            nonce: event.nonce,
            resourceNames: this.#names.get(event.names) ?? [],
            at: event.at,
          });
          break;
        default:
          observe({ ...event, streamId, node } as ProtocolEvent);
      }
    }
    for (const [n] of batch.names) this.#names.delete(n - NAMES_WINDOW);
  }
}
