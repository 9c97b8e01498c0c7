import { Observable } from "rxjs";
import type { IndexedWatch, WatchIndex } from "./watch-index.js";

/** What a cache supplies to open one watch. */
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
 * A one-shot cold watch: subscribing evaluates at once and either emits and
 * completes, or waits in the index; unsubscribing removes it. Emission is a
 * plain hand-over: nothing waits on the subscriber. A subscriber that throws
 * or changes the cache from inside `next()` affects neither the cache nor
 * other watches.
 */
export function openWatch<R>(spec: WatchSpec<R>): Observable<R> {
  return new Observable<R>((subscriber) => {
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      watch.active = false;
      index.remove(watch);
    };
    const deliver = (response: R): void => {
      watch.active = false;
      index.remove(watch);
      subscriber.next(response);
      subscriber.complete();
    };
    const index = spec.index();
    const watch: IndexedWatch = {
      wildcard: spec.wildcard,
      names: spec.names,
      active: true,
      pending: undefined,
      wake() {
        const changed = watch.pending?.batches;
        watch.pending = spec.tracksChanges ? { batches: [], size: 0 } : undefined;
        let response: R | undefined;
        try {
          response = spec.answer(changed);
        } catch (error) {
          watch.active = false;
          index.remove(watch);
          subscriber.error(error);
          return true;
        }
        if (response === undefined) return false;
        deliver(response);
        return true;
      },
      heartbeat() {
        const response = spec.heartbeat();
        if (response === undefined) return false;
        deliver(response);
        return true;
      },
    };
    let first: R | undefined;
    try {
      first = spec.answer(undefined);
    } catch (error) {
      subscriber.error(error);
      return close;
    }
    if (first !== undefined) {
      deliver(first);
      return close;
    }
    if (!subscriber.closed) {
      watch.pending = spec.tracksChanges ? { batches: [], size: 0 } : undefined;
      index.add(watch);
    }
    return close;
  });
}
