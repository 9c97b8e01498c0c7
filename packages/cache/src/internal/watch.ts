import type { Subscriber } from "rxjs";
// From its own module, not the "rxjs" index (which loads all of rxjs): the same class (docs/benchmarks.md, import time).
import { Observable } from "rxjs/internal/Observable";
import type { IndexedWatch, PendingChanges, WatchIndex } from "./watch-index.js";

/**
 * What a cache supplies to open one watch. Implemented by a small class per
 * cache protocol rather than an object of closures: an idle proxy holds one
 * open watch per type for as long as it is connected, so every closure and
 * context a watch keeps is paid per stream and type (see docs/benchmarks.md,
 * idle memory per stream).
 */
export interface WatchSpec<R> {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
  /** Keep the names changed while held (delta): waking then looks only at them. */
  readonly tracksChanges: boolean;
  /** The index to wait in, resolved when subscribed. */
  index(): WatchIndex;
  /** The answer for the changes given (`undefined` = everything), or undefined to hold. */
  answer(changed: readonly ReadonlySet<string>[] | undefined): R | undefined;
  /** A heartbeat, if one is due. */
  heartbeat(): R | undefined;
}

/**
 * One subscribed watch: what the index holds while it waits, and the
 * teardown rxjs calls on unsubscribe (an object with `unsubscribe`, so the
 * watch needs no closures of its own).
 */
class HeldWatch<R> implements IndexedWatch {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
  active = true;
  pending: PendingChanges | undefined = undefined;
  readonly #spec: WatchSpec<R>;
  readonly #subscriber: Subscriber<R>;
  #index: WatchIndex | undefined;
  #closed = false;

  constructor(spec: WatchSpec<R>, subscriber: Subscriber<R>) {
    this.wildcard = spec.wildcard;
    this.names = spec.names;
    this.#spec = spec;
    this.#subscriber = subscriber;
  }

  /** Evaluates at once: emits and completes, or waits in the index. */
  start(): void {
    this.#index = this.#spec.index();
    let first: R | undefined;
    try {
      first = this.#spec.answer(undefined);
    } catch (error) {
      this.active = false;
      this.#subscriber.error(error);
      return;
    }
    if (first !== undefined) {
      this.#deliver(first);
      return;
    }
    if (!this.#subscriber.closed) {
      this.pending = this.#spec.tracksChanges ? { batches: [], size: 0 } : undefined;
      this.#index.add(this);
    }
  }

  wake(): boolean {
    const changed = this.pending?.batches;
    this.pending = this.#spec.tracksChanges ? { batches: [], size: 0 } : undefined;
    let response: R | undefined;
    try {
      response = this.#spec.answer(changed);
    } catch (error) {
      this.active = false;
      this.#index!.remove(this);
      this.#subscriber.error(error);
      return true;
    }
    if (response === undefined) return false;
    this.#deliver(response);
    return true;
  }

  heartbeat(): boolean {
    const response = this.#spec.heartbeat();
    if (response === undefined) return false;
    this.#deliver(response);
    return true;
  }

  /** The teardown: leaves the index (once). */
  unsubscribe(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.active = false;
    this.#index?.remove(this);
  }

  #deliver(response: R): void {
    this.active = false;
    this.#index!.remove(this);
    this.#subscriber.next(response);
    this.#subscriber.complete();
  }
}

/**
 * A one-shot cold watch: subscribing evaluates at once and either emits and
 * completes, or waits in the index; unsubscribing removes it. Emission is a
 * plain hand-over: nothing waits on the subscriber. A subscriber that throws
 * or changes the cache from inside `next()` affects neither the cache nor
 * other watches.
 */
export function openWatch<R>(spec: WatchSpec<R>): Observable<R> {
  return new Observable<R>((subscriber) => {
    const watch = new HeldWatch(spec, subscriber);
    watch.start();
    return watch;
  });
}
