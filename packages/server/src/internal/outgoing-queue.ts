// The per-stream outgoing queue: at most one pending response per type (the
// newest wins), written one message at a time, the next only after grpc-js
// has taken the previous one (its write callback), so a slow client holds at
// most one in-flight response and one pending response per type. With a
// PushLimiter, each item also waits for the limiter to let it start.
import type { PushLimiter } from "./push-limiter.js";

/** One pending response. Encoding happens only when it is its turn. */
export interface OutgoingItem {
  /**
   * Called when the item is about to be written: assigns nonces, updates the
   * stream state and returns the encoded messages (none to skip the item).
   */
  prepare(): readonly Buffer[];
  /** Called once grpc-js has taken every message of the item. */
  written?(): void;
}

/** Writes one message; `done` is called when grpc-js has taken it (or failed). */
export type MessageWriter = (message: Buffer, done: (error?: Error | null) => void) => void;

/** Counters for tests, stats and shutdown. */
export interface QueueStats {
  /** Responses waiting for their turn (at most one per type). */
  readonly pending: number;
  /** Messages handed to grpc-js whose write has not completed (0 or 1). */
  readonly inFlight: number;
  /** Bytes of the item being written that grpc-js has not yet taken. */
  readonly inFlightBytes: number;
}

export class OutgoingQueue {
  readonly #write: MessageWriter;
  readonly #rank: (typeUrl: string) => number;
  readonly #ordered: boolean;
  readonly #onError: (error: Error) => void;
  /**
   * Pending responses, oldest first: type URLs and items at the same index. Two small arrays
   * (a stream serves a few types, at most option maxTypesPerStream) rather than a Map, which
   * reallocated its table each time it went from one pending response to none and back: twice
   * per response in an initial sync.
   */
  readonly #pendingTypes: (string | undefined)[] = [];
  readonly #pendingItems: (OutgoingItem | undefined)[] = [];
  /** How many are pending: the arrays keep their length (emptied slots are undefined), never reallocated as they empty and fill. */
  #count = 0;
  #writing = false;
  #scheduled = false;
  #closed = false;
  #inFlight = 0;
  #inFlightBytes = 0;
  #idleWaiters: Array<() => void> = [];
  readonly #limiter: PushLimiter | undefined;
  /** Waiting for the limiter to let the next push start. */
  #awaitingTurn = false;
  /** The limiter let the next push start. */
  #granted = false;

  constructor(options: {
    write: MessageWriter;
    rank: (typeUrl: string) => number;
    ordered: boolean;
    onError: (error: Error) => void;
    /** The server's cap on pushes started per event-loop turn (option maxPushesPerTurn); none: no cap. */
    limiter?: PushLimiter;
  }) {
    this.#write = options.write;
    this.#rank = options.rank;
    this.#ordered = options.ordered;
    this.#onError = options.onError;
    this.#limiter = options.limiter;
  }

  /** Queues the response for a type, replacing one still pending for it. */
  enqueue(typeUrl: string, item: OutgoingItem): void {
    if (this.#closed) return;
    this.#take(this.#indexOf(typeUrl));
    this.#pendingTypes[this.#count] = typeUrl;
    this.#pendingItems[this.#count] = item;
    this.#count += 1;
    this.#schedule();
  }

  /** Drops the pending response of a type (superseded or unsubscribed); true when there was one. */
  remove(typeUrl: string): boolean {
    const removed = this.#take(this.#indexOf(typeUrl)) !== undefined;
    this.#notifyIdle();
    return removed;
  }

  /** True when a response for the type waits for its turn. */
  has(typeUrl: string): boolean {
    return this.#indexOf(typeUrl) >= 0;
  }

  get stats(): QueueStats {
    return { pending: this.#count, inFlight: this.#inFlight, inFlightBytes: this.#inFlightBytes };
  }

  /** True when nothing is pending or being written. */
  get idle(): boolean {
    return this.#count === 0 && !this.#writing;
  }

  /** Resolves once the queue is idle (or closed). */
  whenIdle(): Promise<void> {
    if (this.idle || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops writing and drops everything pending. */
  close(): void {
    this.#closed = true;
    this.#pendingTypes.fill(undefined);
    this.#pendingItems.fill(undefined);
    this.#count = 0;
    if (this.#awaitingTurn) {
      this.#awaitingTurn = false;
      this.#limiter?.cancel(this.#onTurn);
    }
    this.#notifyIdle(true);
  }

  readonly #onTurn = (): void => {
    this.#awaitingTurn = false;
    this.#granted = true;
    this.#drain();
  };

  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    // Let every response emitted in the same tick (one cache update touching
    // several types) arrive before choosing what goes first.
    scheduleDrain(this);
  }

  /** @internal Runs the drain scheduled by {@link scheduleDrain}. */
  runScheduled(): void {
    this.#scheduled = false;
    try {
      this.#drain();
    } catch (error) {
      this.#onError(error as Error);
    }
  }

  /** The type whose response goes next: the first queued, or with `ordered` the lowest rank (the first of equals). */
  #next(): string | undefined {
    // Over the keys, not the entries: no [key, value] array per pending response, and each rank computed once.
    let best: string | undefined;
    let bestRank = 0;
    const types = this.#pendingTypes;
    for (let i = 0; i < this.#count; i++) {
      const typeUrl = types[i]!;
      if (!this.#ordered) return typeUrl;
      const rank = this.#rank(typeUrl);
      if (best === undefined || rank < bestRank) {
        best = typeUrl;
        bestRank = rank;
      }
    }
    return best;
  }

  #drain(): void {
    if (this.#closed || this.#writing || this.#awaitingTurn) return;
    if (this.#count === 0) {
      this.#notifyIdle();
      return;
    }
    if (this.#limiter !== undefined) {
      if (!this.#granted) {
        this.#awaitingTurn = true;
        this.#limiter.acquire(this.#onTurn);
        return;
      }
      this.#granted = false;
    }
    const typeUrl = this.#next();
    if (typeUrl === undefined) {
      this.#notifyIdle();
      return;
    }
    const item = this.#take(this.#indexOf(typeUrl))!;
    let messages: readonly Buffer[];
    try {
      messages = item.prepare();
    } catch (error) {
      this.#onError(error as Error);
      return;
    }
    if (messages.length === 0) {
      this.#drain();
      return;
    }
    this.#writing = true;
    this.#inFlightBytes = messages.reduce((sum, m) => sum + m.length, 0);
    this.#writeAll(messages, 0, item);
  }

  #writeAll(messages: readonly Buffer[], index: number, item: OutgoingItem): void {
    const message = messages[index]!;
    this.#inFlight = 1;
    let settled = false;
    const done = (error?: Error | null) => {
      if (settled) return;
      settled = true;
      this.#inFlight = 0;
      this.#inFlightBytes -= message.length;
      if (this.#closed) {
        this.#writing = false;
        this.#notifyIdle(true);
        return;
      }
      if (error) {
        this.#writing = false;
        this.#onError(error);
        return;
      }
      if (index + 1 < messages.length) {
        this.#writeAll(messages, index + 1, item);
        return;
      }
      this.#writing = false;
      this.#inFlightBytes = 0;
      try {
        item.written?.();
      } catch (e) {
        this.#onError(e as Error);
        return;
      }
      this.#drain();
    };
    try {
      this.#write(message, done);
    } catch (error) {
      done(error as Error);
    }
  }

  /** Removes the pending response at `index` (none for -1), keeping the others' order; returns it. */
  #take(index: number): OutgoingItem | undefined {
    if (index < 0) return undefined;
    const types = this.#pendingTypes;
    const items = this.#pendingItems;
    const item = items[index];
    const last = this.#count - 1;
    // Shifted down by hand: splice would return a new array of what it removed.
    for (let i = index; i < last; i++) {
      types[i] = types[i + 1];
      items[i] = items[i + 1];
    }
    types[last] = undefined;
    items[last] = undefined;
    this.#count = last;
    return item;
  }

  /** The index of the type's pending response; -1 when none. */
  #indexOf(typeUrl: string): number {
    const types = this.#pendingTypes;
    for (let i = 0; i < this.#count; i++) if (types[i] === typeUrl) return i;
    return -1;
  }

  #notifyIdle(force = false): void {
    // Nobody waiting (nearly always: every rewatch removes its type's pending response): no new list.
    if (this.#idleWaiters.length === 0 || (!force && !this.idle)) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

// One setImmediate for every queue scheduled in the same turn (an update wakes
// thousands of streams at once), in the order they were scheduled, instead of
// one Immediate and closure per queue.
let scheduled: OutgoingQueue[] = [];

function scheduleDrain(queue: OutgoingQueue): void {
  if (scheduled.length === 0) setImmediate(drainScheduled);
  scheduled.push(queue);
}

function drainScheduled(): void {
  const queues = scheduled;
  scheduled = [];
  for (const queue of queues) queue.runScheduled();
}
