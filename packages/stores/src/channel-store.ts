// A ConfigStore over a message channel: one process (or thread) holds the
// store, others use it through messages. `xdskit serve --workers N` gives each
// worker process a ChannelConfigStore over the cluster IPC channel, served by
// the primary with serveConfigStore, so a worker follows the primary's state
// exactly as an etcd replica follows etcd (list, then watch from the listing's
// revision). Any transport that carries structured-clonable values works: a
// node:cluster worker, a child process with an IPC channel, a MessagePort.
import { ErrorCode, type ErrorCodeValue, type JsonValue, XdskitError } from "@xdskit/envoy-api";
import { Observable, type Subscription } from "rxjs";
import type { ConfigStore, StoreEntry, StoreEvent, StoreListing, StoreWriteOptions } from "./config-store.js";
import { checkKey } from "./internal/kv-state.js";

/**
 * Both ends of a message channel, as the channel store needs them. Messages
 * are plain objects of JSON values (numbers, strings, arrays, objects); the
 * store's messages carry an `xdskitStore` field, so the channel can carry
 * other messages too (they are ignored).
 */
export interface StoreChannel {
  /** Sends one message to the other end. May throw when the channel is closed (the store turns that into `XDSKIT_STORE_FAILED`). */
  send(message: unknown): void;
  /** Calls `listener` with every message from the other end; returns a function that stops it. */
  onMessage(listener: (message: unknown) => void): () => void;
}

/** Options of {@link ChannelConfigStore}. */
export interface ChannelConfigStoreOptions {
  /** The channel to the process that runs {@link serveConfigStore}. Required. */
  readonly channel: StoreChannel;
  /** The store's `description`. Default `"channel"`. */
  readonly description?: string;
}

type Method = "revision" | "get" | "list" | "put" | "delete";

/** What travels on the channel (the `xdskitStore` field says which). */
type StoreMessage =
  | { readonly xdskitStore: "call"; readonly id: number; readonly method: Method; readonly args: readonly unknown[] }
  | { readonly xdskitStore: "watch"; readonly id: number; readonly prefix: string; readonly afterRevision: number }
  | { readonly xdskitStore: "unwatch"; readonly id: number }
  | { readonly xdskitStore: "result"; readonly id: number; readonly value: unknown }
  | { readonly xdskitStore: "event"; readonly id: number; readonly event: StoreEvent }
  | { readonly xdskitStore: "complete"; readonly id: number }
  | { readonly xdskitStore: "error"; readonly id: number; readonly error: WireError };

interface WireError {
  readonly code: ErrorCodeValue;
  readonly message: string;
  readonly path?: string;
}

const isStoreMessage = (m: unknown): m is StoreMessage =>
  typeof m === "object" && m !== null && typeof (m as { xdskitStore?: unknown }).xdskitStore === "string";

const toWire = (error: unknown): WireError =>
  XdskitError.is(error)
    ? { code: error.code, message: error.message, ...(error.path === undefined ? {} : { path: error.path }) }
    : { code: ErrorCode.STORE_FAILED, message: (error as Error)?.message ?? String(error) };

const fromWire = (error: WireError): XdskitError =>
  new XdskitError(error.code, error.message, error.path === undefined ? {} : { path: error.path });

/**
 * A {@link ConfigStore} whose entries live in another process or thread,
 * reached through a {@link StoreChannel}; the other end runs
 * {@link serveConfigStore} over the real store. Every call is one message
 * and its answer; a watch streams the real store's events. Errors keep their
 * code (`XDSKIT_STORE_CONFLICT`, `XDSKIT_STORE_FAILED`, …). Values read are
 * copies, frozen.
 *
 * Closing it ends its watches and fails calls still waiting (`XDSKIT_STORE_FAILED`);
 * it does not close the real store.
 *
 * @example
 * // worker process
 * const store = new ChannelConfigStore({
 *   channel: { send: (m) => process.send?.(m), onMessage: (l) => (process.on("message", l), () => process.off("message", l)) },
 * });
 * const { entries, revision } = await store.list("groups/");
 */
export class ChannelConfigStore implements ConfigStore {
  readonly description: string;
  readonly #channel: StoreChannel;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  readonly #watches = new Map<number, { next: (e: StoreEvent) => void; error: (e: unknown) => void; complete: () => void }>();
  readonly #stop: () => void;
  #ids = 0;
  #closed = false;

  constructor(options: ChannelConfigStoreOptions) {
    this.#channel = options.channel;
    this.description = options.description ?? "channel";
    this.#stop = this.#channel.onMessage((m) => this.#receive(m));
  }

  revision(): Promise<number> {
    return this.#call("revision", []) as Promise<number>;
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    return freezeEntry((await this.#call("get", [key])) as StoreEntry | undefined);
  }

  async list(prefix = ""): Promise<StoreListing> {
    const listing = (await this.#call("list", [prefix])) as StoreListing;
    return { revision: listing.revision, entries: listing.entries.map((e) => freezeEntry(e) as StoreEntry) };
  }

  async put(key: string, value: JsonValue, options?: StoreWriteOptions): Promise<number> {
    this.#checkOpen("put");
    checkKey("ChannelConfigStore.put", key);
    return (await this.#call("put", [key, value, options ?? {}])) as number;
  }

  async delete(key: string, options?: StoreWriteOptions): Promise<number | undefined> {
    this.#checkOpen("delete");
    checkKey("ChannelConfigStore.delete", key);
    return ((await this.#call("delete", [key, options ?? {}])) as number | null) ?? undefined;
  }

  watch(prefix: string, afterRevision: number): Observable<StoreEvent> {
    return new Observable<StoreEvent>((subscriber) => {
      if (this.#closed) {
        subscriber.complete();
        return undefined;
      }
      const id = ++this.#ids;
      this.#watches.set(id, {
        next: (event) => subscriber.next(event.kind === "put" ? { ...event, entry: freezeEntry(event.entry) as StoreEntry } : event),
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      this.#send({ xdskitStore: "watch", id, prefix, afterRevision }, (error) => {
        this.#watches.delete(id);
        subscriber.error(error);
      });
      return () => {
        if (this.#watches.delete(id) && !this.#closed) this.#send({ xdskitStore: "unwatch", id }, () => undefined);
      };
    });
  }

  /**
   * Fails every call still waiting and errors every watch with
   * `XDSKIT_STORE_FAILED` (the other end is gone: a worker calls this when its
   * IPC channel disconnects). The store stays usable for new calls.
   */
  channelLost(reason: string): void {
    const error = new XdskitError(ErrorCode.STORE_FAILED, `${this.description}: ${reason}`);
    for (const [id, p] of [...this.#pending]) {
      this.#pending.delete(id);
      p.reject(error);
    }
    for (const [id, w] of [...this.#watches]) {
      this.#watches.delete(id);
      w.error(error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop();
    for (const [id, w] of [...this.#watches]) {
      this.#watches.delete(id);
      this.#send({ xdskitStore: "unwatch", id }, () => undefined);
      w.complete();
    }
    const error = new XdskitError(ErrorCode.STORE_FAILED, `${this.description}: the store was closed before the answer came`);
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
  }

  #call(method: Method, args: unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(misuse(method));
    return new Promise((resolve, reject) => {
      const id = ++this.#ids;
      this.#pending.set(id, { resolve, reject });
      this.#send({ xdskitStore: "call", id, method, args }, (error) => {
        this.#pending.delete(id);
        reject(error);
      });
    });
  }

  #send(message: StoreMessage, onError: (error: XdskitError) => void): void {
    try {
      this.#channel.send(message);
    } catch (error) {
      onError(new XdskitError(ErrorCode.STORE_FAILED, `${this.description}: the channel refused a message: ${(error as Error).message}`));
    }
  }

  #receive(message: unknown): void {
    if (!isStoreMessage(message)) return;
    switch (message.xdskitStore) {
      case "result":
      case "error": {
        const pending = this.#pending.get(message.id);
        if (pending) {
          this.#pending.delete(message.id);
          if (message.xdskitStore === "result") pending.resolve(message.value);
          else pending.reject(fromWire(message.error));
          return;
        }
        const watch = this.#watches.get(message.id);
        if (watch && message.xdskitStore === "error") {
          this.#watches.delete(message.id);
          watch.error(fromWire(message.error));
        }
        return;
      }
      case "event":
        this.#watches.get(message.id)?.next(message.event);
        return;
      case "complete": {
        const watch = this.#watches.get(message.id);
        this.#watches.delete(message.id);
        watch?.complete();
        return;
      }
      default:
        return;
    }
  }

  #checkOpen(method: string): void {
    if (this.#closed) throw misuse(method);
  }
}

/** What {@link serveConfigStore} returns. */
export interface ServedStore {
  /** Stops answering: ends the watches it streams (the store itself stays open). */
  close(): void;
}

/**
 * Serves `store` to the {@link ChannelConfigStore} at the other end of
 * `channel`: answers its calls and streams its watches. One call per channel
 * (per worker); the store is shared by all. Stopping does not close `store`.
 *
 * @example
 * // primary process, one per worker
 * const served = serveConfigStore(store, {
 *   send: (m) => worker.send(m),
 *   onMessage: (l) => (worker.on("message", l), () => worker.off("message", l)),
 * });
 * worker.on("exit", () => served.close());
 */
export function serveConfigStore(store: ConfigStore, channel: StoreChannel): ServedStore {
  const watches = new Map<number, Subscription>();
  const send = (message: StoreMessage) => {
    try {
      channel.send(message);
    } catch {
      // The other end is gone; its watches end with close().
    }
  };
  const call = (method: Method, args: readonly unknown[]): Promise<unknown> => {
    switch (method) {
      case "revision":
        return store.revision();
      case "get":
        return store.get(args[0] as string);
      case "list":
        return store.list(args[0] as string);
      case "put":
        return store.put(args[0] as string, args[1] as JsonValue, args[2] as StoreWriteOptions);
      case "delete":
        return store.delete(args[0] as string, args[1] as StoreWriteOptions).then((r) => r ?? null);
      default:
        return Promise.reject(new XdskitError(ErrorCode.API_MISUSE, `serveConfigStore: no store method ${JSON.stringify(method)}`));
    }
  };
  const stop = channel.onMessage((message) => {
    if (!isStoreMessage(message)) return;
    const { id } = message;
    if (message.xdskitStore === "call") {
      let answer: Promise<unknown>;
      try {
        answer = call(message.method, Array.isArray(message.args) ? message.args : []);
      } catch (error) {
        answer = Promise.reject(error);
      }
      answer.then(
        (value) => send({ xdskitStore: "result", id, value: value ?? null }),
        (error: unknown) => send({ xdskitStore: "error", id, error: toWire(error) }),
      );
    } else if (message.xdskitStore === "watch") {
      watches.get(id)?.unsubscribe();
      watches.set(
        id,
        store.watch(message.prefix, message.afterRevision).subscribe({
          next: (event) => send({ xdskitStore: "event", id, event }),
          error: (error: unknown) => {
            watches.delete(id);
            send({ xdskitStore: "error", id, error: toWire(error) });
          },
          complete: () => {
            watches.delete(id);
            send({ xdskitStore: "complete", id });
          },
        }),
      );
    } else if (message.xdskitStore === "unwatch") {
      watches.get(id)?.unsubscribe();
      watches.delete(id);
    }
  });
  return {
    close() {
      stop();
      for (const s of watches.values()) s.unsubscribe();
      watches.clear();
    },
  };
}

function misuse(method: string): XdskitError {
  return new XdskitError(ErrorCode.API_MISUSE, `ChannelConfigStore.${method}: the store is closed`);
}

function freezeEntry(entry: StoreEntry | undefined | null): StoreEntry | undefined {
  if (entry === undefined || entry === null) return undefined;
  return Object.freeze({ ...entry, value: deepFreeze(entry.value) });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
