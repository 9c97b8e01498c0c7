import type { Subscriber, Unsubscribable } from "rxjs";
// rxjs, required from its own modules, not the "rxjs" index: the same classes (internal/rx.ts).
import { Observable } from "./rx.js";
import { type IndexedWatch, NO_PENDING_CHANGES, type PendingChanges, type WatchIndex } from "./watch-index.js";

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
  /**
   * The index to wait in, resolved when subscribed. `opened`: resolved by {@link CacheWatch.open}
   * right where the watch was made (the server's way), so what the cache computed for the request
   * when making it (SnapshotCache: the node's group) still holds; a subscription, which may come
   * any time later and more than once, resolves afresh.
   */
  index(opened: boolean): WatchIndex;
  /** The answer for the changes given (`undefined` = everything), or undefined to hold. */
  answer(changed: readonly ReadonlySet<string>[] | undefined): R | undefined;
  /** A heartbeat, if one is due. */
  heartbeat(): R | undefined;
  /**
   * Makes the spec the request a client sends once it accepted `response`
   * (SotW: version_info and last sent become the answer's, nothing forced):
   * what a continuing watch waits with after answering (see
   * {@link CacheWatch.open}). Absent: the watch cannot continue.
   */
  advance?(response: R): void;
}

/**
 * What receives a cache watch's one answer when it is opened with
 * {@link CacheWatch.open}: `next` with the response (the watch is closed by
 * then), or `error` when the cache fails the watch.
 */
export interface WatchSink<R> {
  next(response: R): void;
  /** The cache failed the watch; also called with what `next` threw, if it threw. */
  error(error: unknown): void;
}

/**
 * One opened watch: what the index holds while it waits, and the teardown
 * (an object with `unsubscribe`, so the watch needs no closures of its own).
 * Its receiver is an rxjs Subscriber (subscribed) or a plain sink (opened).
 */
class HeldWatch<R> implements IndexedWatch, Unsubscribable {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
  active = true;
  pending: PendingChanges | undefined = undefined;
  readonly #spec: WatchSpec<R>;
  readonly #sink: WatchSink<R>;
  /** Set when subscribed through rxjs: completed after `next`, and may close while answering. */
  readonly #subscriber: Subscriber<R> | undefined;
  /** Keeps waiting after each answer, as the watch of a client that accepted it (CacheWatch.open). */
  readonly #continuing: boolean;
  #index: WatchIndex | undefined;
  /** Waiting in #index: only then does answering or cancelling remove it (see #deliver). */
  #indexed = false;
  #closed = false;

  constructor(spec: WatchSpec<R>, sink: WatchSink<R>, subscriber: Subscriber<R> | undefined, continuing: boolean) {
    this.wildcard = spec.wildcard;
    this.names = spec.names;
    this.#spec = spec;
    this.#sink = sink;
    this.#subscriber = subscriber;
    this.#continuing = continuing;
  }

  /** Evaluates at once: emits and completes, or waits in the index. */
  start(): void {
    this.#index = this.#spec.index(false);
    let first: R | undefined;
    try {
      first = this.#spec.answer(undefined);
    } catch (error) {
      this.active = false;
      this.#sink.error(error);
      return;
    }
    if (first !== undefined) {
      this.#deliver(first);
      return;
    }
    if (!this.#closed && this.#subscriber?.closed !== true) this.wait(this.#index);
  }

  /** Waits in `index` (the spec's, resolved already) for a change. */
  wait(index: WatchIndex): void {
    this.#index = index;
    this.pending = this.#spec.tracksChanges ? NO_PENDING_CHANGES : undefined;
    index.add(this);
    this.#indexed = true;
  }

  wake(): boolean {
    const changed = this.pending?.batches;
    this.pending = this.#spec.tracksChanges ? NO_PENDING_CHANGES : undefined;
    let response: R | undefined;
    try {
      response = this.#spec.answer(changed);
    } catch (error) {
      this.active = false;
      // (Woken: it waits in the index.)
      this.#index!.remove(this);
      this.#sink.error(error);
      return true;
    }
    if (response === undefined) return false;
    return this.#deliver(response);
  }

  heartbeat(): boolean {
    const response = this.#spec.heartbeat();
    if (response === undefined) return false;
    return this.#deliver(response);
  }

  /**
   * Hands a continuing watch's answer to its sink and keeps it waiting where it is (it was
   * indexed, or is about to be, see CacheWatch.open), advanced past the answer first: the sink
   * may cancel it, or replace it, from inside `next`.
   */
  #continue(response: R): void {
    this.#spec.advance!(response);
    deliver(this.#sink, response);
  }

  /** The teardown: leaves the index (once). */
  unsubscribe(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.active = false;
    if (this.#indexed) this.#index!.remove(this);
  }

  /** Answers; true when the watch is done (a continuing watch stays, and says false). */
  #deliver(response: R): boolean {
    if (this.#continuing) {
      this.#continue(response);
      return false;
    }
    this.active = false;
    // A watch answered at once never waited in the index: removing it there would do nothing
    // but tell SnapshotCache's index it is empty, which then dropped the index and made a new
    // one for the next watch (an index and its four collections per answer in an initial sync).
    if (this.#indexed) this.#index!.remove(this);
    const subscriber = this.#subscriber;
    if (subscriber !== undefined) {
      // rxjs isolates its subscribers' throws itself.
      subscriber.next(response);
      subscriber.complete();
      return true;
    }
    deliver(this.#sink, response);
    return true;
  }

  /** @internal The first answer of a continuing watch opened by CacheWatch.open, before it waits in `index`. */
  first(response: R, index: WatchIndex): void {
    this.#spec.advance!(response);
    this.wait(index);
    deliver(this.#sink, response);
  }
}

/** Hands a sink its answer; a sink that throws affects neither the cache nor other watches: it hears of it. */
function deliver<R>(sink: WatchSink<R>, response: R): void {
  try {
    sink.next(response);
  } catch (error) {
    try {
      sink.error(error);
    } catch {
      // Nothing more can be done for a sink that throws from both.
    }
  }
}

/** The handle of a watch answered (or failed) while it was opened: nothing left to cancel. */
const ANSWERED: Unsubscribable = Object.freeze({ unsubscribe(): void {} });

/**
 * A cache watch: the one-shot cold Observable `watchSotw` and `watchDelta`
 * of SnapshotCache, LinearCache and MuxCache return. Subscribing evaluates at
 * once and either emits and completes, or waits in the cache's index;
 * unsubscribing removes it. Emission is a plain hand-over: nothing waits on
 * the subscriber, and a subscriber that throws or changes the cache from
 * inside `next()` affects neither the cache nor other watches.
 *
 * {@link open} does the same as `subscribe` without rxjs's subscription
 * machinery (a Subscriber, its safe wrapper and a Subscription per watch):
 * what `XdsServer` does for every watch of every stream, so an initial sync of
 * thousands of proxies allocates less. A server of your own can do the same.
 *
 * @example
 * const watch = cache.watchSotw(request);
 * const handle = watch instanceof CacheWatch
 *   ? watch.open({ next: (r) => send(r), error: (e) => fail(e) })
 *   : watch.subscribe({ next: (r) => send(r), error: (e) => fail(e) });
 * handle.unsubscribe(); // cancels it if it has not answered
 */
export class CacheWatch<R> extends Observable<R> {
  readonly #spec: WatchSpec<R>;

  /** @internal Made by the caches; open or subscribe to one, never construct it. */
  constructor(spec: WatchSpec<R>) {
    // No subscribe function (a closure per watch): _subscribe below is what rxjs calls, as in its Subject.
    super();
    this.#spec = spec;
  }

  /** @internal What rxjs calls on `subscribe` (Observable's hook, left out of its published types; Subject overrides it too). */
  protected _subscribe(subscriber: Subscriber<R>): Unsubscribable {
    const watch = new HeldWatch(this.#spec, subscriber, subscriber, false);
    watch.start();
    return watch;
  }

  /**
   * Whether {@link open} can keep this watch waiting after each answer (its
   * `continuing` argument): true for the watches of the caches of this package.
   */
  get continues(): boolean {
    return this.#spec.advance !== undefined;
  }

  /**
   * Opens the watch as `subscribe` would, with `sink` as its observer: the
   * answer (now, or when a change wakes it) goes to `sink.next`, once. The
   * handle's `unsubscribe` cancels it; after an answer it does nothing.
   * Open it right after the cache made it, as XdsServer does: it waits where
   * the cache placed the request when making it (SnapshotCache: the node's
   * group, from one `nodeGroup` call per watch), where `subscribe` places it
   * again at each subscription.
   *
   * `continuing` (where {@link continues}): the watch does not end with its
   * answer but keeps waiting, as the watch a client that accepted the answer
   * would open (SotW: its version_info and last sent are the answer's; delta:
   * it looks only at changes from now on, with the live client versions the
   * server keeps; nothing forced), and answers again on the next change that
   * concerns it, until the handle's `unsubscribe`. A server whose client
   * accepts the answer then needs no new watch: an initial sync opens half as
   * many. Cancel it when the client is not sent the answer as it is, or
   * rejects it.
   */
  open(sink: WatchSink<R>, continuing = false): Unsubscribable {
    // HeldWatch.start's steps, with the held watch made only when it has to wait: most watches
    // of an initial sync are answered at once.
    const spec = this.#spec;
    const index = spec.index(true);
    let first: R | undefined;
    try {
      first = spec.answer(undefined);
    } catch (error) {
      sink.error(error);
      return ANSWERED;
    }
    const keeps = continuing && spec.advance !== undefined;
    if (first !== undefined && !keeps) {
      deliver(sink, first);
      return ANSWERED;
    }
    const watch = new HeldWatch(spec, sink, undefined, keeps);
    if (first !== undefined) watch.first(first, index);
    else watch.wait(index);
    return watch;
  }
}
