// A server-wide cap on pushes started per turn of the event loop. A mass
// update wakes every stream in the same tick, and each stream's queue then
// encodes and hands grpc-js its response in one long run of callbacks:
// nothing else (ACKs, new streams, timers) runs until all are done. With a
// cap, at most `max` pushes start per turn; the rest wait, in FIFO order, for
// the next turns, and I/O is polled in between. A slow reader holds nothing:
// a push needs the budget only to start.

export class PushLimiter {
  readonly #max: number;
  #budget: number;
  #refillScheduled = false;
  readonly #waiting = new Set<() => void>();

  /** At most `max` pushes start per event-loop turn; 0 means no cap. */
  constructor(max: number) {
    this.#max = max;
    this.#budget = max;
  }

  /** Pushes waiting for a later turn (for stats). */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Calls `start` now if this turn's budget allows, else on a later turn (FIFO). */
  acquire(start: () => void): void {
    if (this.#max === 0) {
      start();
      return;
    }
    if (this.#budget > 0 && this.#waiting.size === 0) {
      this.#budget--;
      this.#scheduleRefill();
      start();
      return;
    }
    this.#waiting.add(start);
    this.#scheduleRefill();
  }

  /** Withdraws a waiting `start` (its stream closed). */
  cancel(start: () => void): void {
    this.#waiting.delete(start);
  }

  #scheduleRefill(): void {
    if (this.#refillScheduled) return;
    this.#refillScheduled = true;
    // setImmediate from here runs after the next poll phase: I/O gets its turn first.
    setImmediate(() => {
      this.#refillScheduled = false;
      this.#budget = this.#max;
      for (const start of this.#waiting) {
        if (this.#budget === 0) break;
        this.#waiting.delete(start);
        this.#budget--;
        start();
      }
      if (this.#waiting.size > 0 || this.#budget < this.#max) this.#scheduleRefill();
    });
  }
}
