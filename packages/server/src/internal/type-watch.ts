// The one open cache watch of one type on one stream, shared by the SotW and
// delta state machines. A watch is a one-shot cold Observable (see
// ConfigWatcher in @xdskit/cache): subscribing registers it, its first answer
// closes it, unsubscribing cancels it. Every opening gets a token, so a late
// emission from a watch that was cancelled or replaced (also one that arrives
// while `subscribe` is still running) is ignored. The caches' own watches
// (CacheWatch) are opened directly, without an rxjs subscription per watch.
import { CacheWatch } from "@xdskit/cache";
import { ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { Observable, Unsubscribable } from "rxjs";
import type { CarrierStream } from "./stream-machine.js";
import { GrpcCode, StreamFailure } from "./stream-rules.js";

/** Which kind of cache watch, as error messages name it. */
export type WatchKind = "watch" | "delta watch";

/** The failure that ends a stream when the cache fails (or misbehaves in) one of its watches. */
export function cacheWatchFailure(env: Pick<CarrierStream, "node">, typeUrl: string, kind: WatchKind, error: unknown): StreamFailure {
  return new StreamFailure(
    GrpcCode.INTERNAL,
    new XdskitError(ErrorCode.CACHE_FAILED, `the cache failed a ${typeUrl} ${kind}: ${(error as Error)?.message ?? String(error)}`, {
      typeUrl,
      nodeId: env.node.id,
      cause: error,
    }),
  );
}

/**
 * Owns the token and subscription of one type's open watch. The stream never
 * opens a watch once closed and cancels every watch when it closes, so no
 * emission reaches it after close.
 */
export class TypeWatch<R extends { readonly typeUrl: string }> {
  readonly #env: Pick<CarrierStream, "node" | "fail">;
  readonly #typeUrl: string;
  readonly #kind: WatchKind;
  #token = 0;
  #subscription: Unsubscribable | undefined;
  /** The open watch continues after answering (CacheWatch.open's `continuing`): answers do not close it. */
  #continues = false;

  constructor(env: Pick<CarrierStream, "node" | "fail">, typeUrl: string, kind: WatchKind) {
    this.#env = env;
    this.#typeUrl = typeUrl;
    this.#kind = kind;
  }

  /** A watch is registered and has not answered yet. */
  get isOpen(): boolean {
    return this.#subscription !== undefined;
  }

  /**
   * The open watch keeps waiting after it answers, as the watch of a client
   * that accepted the answer (opened with `continuing` from a cache whose
   * watches can, see CacheWatch.open): cancel it when the client is not sent
   * the answer as it is.
   */
  get continues(): boolean {
    return this.#continues;
  }

  /** Cancels the open watch, if any; whatever it emits later is ignored. */
  cancel(): void {
    this.#token += 1;
    this.#continues = false;
    const subscription = this.#subscription;
    this.#subscription = undefined;
    subscription?.unsubscribe();
  }

  /**
   * Opens a watch (cancelling one still open). `onResponse` gets its one answer,
   * after the watch is closed. A cache that throws, errors, or answers for
   * another type ends the stream through `env.fail`.
   */
  open(watch: () => Observable<R>, onResponse: (response: R) => void): void {
    this.openWith(callThunk<R>, watch, onResponse);
  }

  /**
   * {@link open} with the watch given as a function and its request
   * (`cache.watchSotw`-like): a stream passes functions it made once, so an
   * opening (16 per stream in an initial sync) allocates no closures.
   */
  openWith<Q>(watch: (request: Q) => Observable<R>, request: Q, onResponse: (response: R) => void, continuing = false): void {
    this.cancel();
    const token = this.#token;
    let subscription: Unsubscribable;
    try {
      const observable = watch(request);
      const observer = new WatchObserver(this, token, onResponse);
      if (observable instanceof CacheWatch) {
        // Known before it can answer: a continuing watch answers from inside open.
        this.#continues = continuing && observable.continues;
        subscription = observable.open(observer, this.#continues);
      } else subscription = observable.subscribe(observer);
    } catch (error) {
      this.onError(token, error);
      return;
    }
    if (this.#token === token) this.#subscription = subscription;
    else subscription.unsubscribe();
  }

  /** @internal Called by this watch's observer. */
  onResponse(token: number, response: R, onResponse: (response: R) => void): void {
    if (token !== this.#token) return;
    // A continuing watch stays open (and registered) through its answers.
    if (!this.#continues) this.cancel();
    if (response.typeUrl !== this.#typeUrl) {
      this.onError(this.#token, new Error(`${this.#kind} for ${this.#typeUrl} emitted a response for ${response.typeUrl}`));
      return;
    }
    try {
      onResponse(response);
    } catch (error) {
      // A fault of ours while handling the answer ends this stream, not the process.
      this.#env.fail(
        error instanceof StreamFailure
          ? error
          : new StreamFailure(
              GrpcCode.INTERNAL,
              new XdskitError(
                ErrorCode.INTERNAL,
                `internal error handling a ${this.#typeUrl} response: ${(error as Error)?.message ?? String(error)}`,
                {
                  typeUrl: this.#typeUrl,
                  nodeId: this.#env.node.id,
                  cause: error,
                },
              ),
            ),
      );
    }
  }

  /** @internal Called by this watch's observer (and when opening fails). */
  onError(token: number, error: unknown): void {
    if (token !== this.#token) return;
    // No unsubscribe: an erroring Observable tears itself down after this returns.
    this.#token += 1;
    this.#continues = false;
    this.#subscription = undefined;
    this.#env.fail(cacheWatchFailure(this.#env, this.#typeUrl, this.#kind, error));
  }
}

function callThunk<R>(watch: () => Observable<R>): Observable<R> {
  return watch();
}

/**
 * The observer of one opening: an object with methods rather than two
 * closures, since every idle stream holds one per type while it waits.
 */
class WatchObserver<R extends { readonly typeUrl: string }> {
  readonly #owner: TypeWatch<R>;
  readonly #token: number;
  readonly #onResponse: (response: R) => void;

  constructor(owner: TypeWatch<R>, token: number, onResponse: (response: R) => void) {
    this.#owner = owner;
    this.#token = token;
    this.#onResponse = onResponse;
  }

  next(response: R): void {
    this.#owner.onResponse(this.#token, response, this.#onResponse);
  }

  error(error: unknown): void {
    this.#owner.onError(this.#token, error);
  }
}
