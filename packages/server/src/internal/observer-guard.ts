// Observers are the user's code too: a subscriber of `xds.events` (or of an
// Observable piped from it) and a node:diagnostics_channel subscriber that
// throws would otherwise end the process (rxjs and Node both rethrow such an
// error asynchronously, as an uncaught exception). Here every such observer
// is called inside a guard: a failure is reported, never rethrown, and an
// observer that fails OBSERVER_FAILURE_LIMIT times in a row is dropped.
import type diagnosticsChannel from "node:diagnostics_channel";
import type { Observer, Operator, Subscription, TeardownLogic } from "rxjs";
// rxjs, required from its own modules, not the "rxjs" index: the same classes (internal/rx.ts).
import { Observable, Subscriber } from "./rx.js";

/** Failures in a row after which an observer is unsubscribed. */
export const OBSERVER_FAILURE_LIMIT = 3;

/** One failure of an observer. */
export interface ObserverFault {
  /** Who failed, as the report names it: `an xds.events subscriber`, `a diagnostics_channel subscriber of …`. */
  readonly observer: string;
  /** What it was given when it failed (the event), or `undefined` for `complete`. */
  readonly value: unknown;
  readonly cause: unknown;
  /** True when this failure got the observer dropped. */
  readonly dropped: boolean;
}

export type FaultSink = (fault: ObserverFault) => void;

/** Counts failures in a row of one observer and decides when it is dropped. */
class Guard {
  #failures = 0;
  dropped = false;
  constructor(
    readonly observer: string,
    readonly sink: () => FaultSink | undefined,
    readonly drop: () => void,
  ) {}

  call(value: unknown, body: () => void): void {
    if (this.dropped) return;
    try {
      body();
      this.#failures = 0;
    } catch (cause) {
      this.#failures += 1;
      const dropped = this.#failures >= OBSERVER_FAILURE_LIMIT;
      if (dropped) {
        this.dropped = true;
        this.drop();
      }
      try {
        this.sink()?.({ observer: this.observer, value, cause, dropped });
      } catch {
        // Reporting must never throw into the emitter.
      }
    }
  }
}

/** rxjs's own test for a Subscriber (operators subscribe with one), without depending on one rxjs copy. */
function isSubscriberLike(value: unknown): boolean {
  if (value instanceof Subscriber) return true;
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return ["next", "error", "complete", "add", "remove", "unsubscribe"].every((k) => typeof v[k] === "function");
}

/**
 * An Observable whose final subscribers run inside a {@link Guard}; what is
 * piped from it is one too (`lift`), so `events.pipe(filter(...)).subscribe(fn)`
 * is guarded like `events.subscribe(fn)`. An error raised in such a pipe (an
 * operator's function that throws) reaches a subscriber without an `error`
 * callback as a reported fault, never as an uncaught exception.
 */
export class GuardedObservable<T> extends Observable<T> {
  readonly #sink: FaultSink;

  constructor(subscribe: ((subscriber: Subscriber<T>) => TeardownLogic) | undefined, sink: FaultSink) {
    super(subscribe);
    this.#sink = sink;
  }

  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    const observable = new GuardedObservable<R>(undefined, this.#sink);
    observable.source = this;
    observable.operator = operator;
    return observable;
  }

  override subscribe(
    observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription {
    // Operators (and firstValueFrom) subscribe with a Subscriber: its own
    // chain guards it further down; wrapping it would break unsubscription.
    if (isSubscriberLike(observerOrNext)) return super.subscribe(observerOrNext as Subscriber<T>);
    const observer: Partial<Observer<T>> =
      typeof observerOrNext === "function" || observerOrNext === null || observerOrNext === undefined
        ? { next: observerOrNext ?? undefined, error: error ?? undefined, complete: complete ?? undefined }
        : observerOrNext;
    let subscription: Subscription | undefined;
    const guard = new Guard(
      "an xds.events subscriber",
      () => this.#sink,
      () => queueMicrotask(() => subscription?.unsubscribe()),
    );
    subscription = super.subscribe({
      next: (value) => guard.call(value, () => observer.next?.(value)),
      error: (failure: unknown) =>
        guard.call(failure, () => {
          if (observer.error === undefined) throw failure;
          observer.error(failure);
        }),
      complete: () => guard.call(undefined, () => observer.complete?.()),
    });
    return subscription;
  }
}

/** Where faults of diagnostics_channel subscribers go while a server publishes. */
let publishing: FaultSink | undefined;

/** Wrappers made for subscriber functions, and the set of wrappers (never wrapped again). */
const wrappers = new WeakMap<object, (message: unknown, name: string | symbol) => void>();
const ours = new WeakSet<object>();

/**
 * Guards every subscriber of a channel: `diagnosticsChannel.subscribe(name, fn)`
 * and `channel.subscribe(fn)` both go through the channel object's
 * `subscribe`, so an own `subscribe` (and `unsubscribe`) on the object wraps
 * `fn`. Subscribers added before this ran are not guarded.
 */
export function guardChannel(channel: diagnosticsChannel.Channel): void {
  const target = channel as unknown as Record<string, unknown>;
  const base = () => Object.getPrototypeOf(channel) as diagnosticsChannel.Channel;
  Object.defineProperty(target, "subscribe", {
    configurable: true,
    writable: true,
    value(subscription: diagnosticsChannel.ChannelListener) {
      if (typeof subscription !== "function" || ours.has(subscription)) return base().subscribe.call(channel, subscription);
      let wrapper = wrappers.get(subscription);
      if (wrapper === undefined) {
        const guard = new Guard(
          `a diagnostics_channel subscriber of ${String(channel.name)}`,
          () => publishing,
          // Not while Node iterates the subscribers: that would skip the next one.
          () => queueMicrotask(() => channel.unsubscribe(subscription)),
        );
        wrapper = (message, name) => guard.call(message, () => subscription(message, name));
        wrappers.set(subscription, wrapper);
        ours.add(wrapper);
      }
      return base().subscribe.call(channel, wrapper);
    },
  });
  Object.defineProperty(target, "unsubscribe", {
    configurable: true,
    writable: true,
    value(subscription: diagnosticsChannel.ChannelListener) {
      const wrapper = typeof subscription === "function" ? wrappers.get(subscription) : undefined;
      return base().unsubscribe.call(channel, wrapper ?? subscription);
    },
  });
}

/** Publishes on a guarded channel; faults of its subscribers go to `sink`. */
export function publishGuarded(channel: diagnosticsChannel.Channel, message: unknown, sink: FaultSink): void {
  const previous = publishing;
  publishing = sink;
  try {
    channel.publish(message);
  } finally {
    publishing = previous;
  }
}
