// A ConfigStore on etcd v3: the store that lets several control-plane
// replicas share one config. Store revisions are etcd's own revisions, so a
// listing's revision, an entry's create/mod revisions and a watch's resume
// point mean exactly what they mean in etcd; compare-and-set writes are etcd
// transactions on the key's mod_revision (create_revision = 0 for "must not
// exist").
import { ErrorCode, type JsonValue, optionError, XdskitError } from "@xdskit/envoy-api";
import type { ConfigStore, StoreEntry, StoreEvent, StoreListing, StoreWriteOptions } from "@xdskit/stores";
import { ExponentialBackoff, noop } from "cockatiel";
import { Etcd3, type IKeyValue, type IWatchResponse, type Namespace } from "etcd3";
import { BehaviorSubject, distinctUntilChanged, Observable } from "rxjs";

/** Options of {@link EtcdConfigStore.connect}. */
export interface EtcdConfigStoreOptions {
  /** etcd client URLs, e.g. `["http://10.0.0.1:2379", "http://10.0.0.2:2379"]`. Required. */
  readonly endpoints: readonly string[];
  /**
   * The key prefix this store lives under: every key the store is given is
   * stored as `prefix + key`, so several control planes (or tests) can share
   * one etcd. Default `/xdskit/`.
   */
  readonly prefix?: string;
  /** Deadline of each read or write call to etcd. Default 5000 ms. */
  readonly callTimeoutMs?: number;
  /** How long to wait for a connection to etcd before a call fails. Default 3000 ms. */
  readonly dialTimeoutMs?: number;
  /** TLS and credentials for etcd, passed to the `etcd3` client as they are. Default: none (plain text). */
  readonly credentials?: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer };
  /** User name and password for etcd's authentication. Default: none. */
  readonly auth?: { username: string; password: string };
  /**
   * Longest pause between attempts to re-establish the watches after etcd
   * went away, in ms (attempts start at 100 ms and double up to this), so a
   * replica resyncs soon after etcd returns. Default 1000 ms.
   */
  readonly maxReconnectDelayMs?: number;
}

/** Defaults of {@link EtcdConfigStoreOptions}. */
export const ETCD_STORE_DEFAULTS = Object.freeze({
  prefix: "/xdskit/",
  callTimeoutMs: 5000,
  dialTimeoutMs: 3000,
  maxReconnectDelayMs: 1000,
});

/**
 * A {@link ConfigStore} on etcd v3, for replicas that share state.
 *
 * - Revisions are etcd's: they increase with every write to the whole etcd,
 *   not only to this store's prefix, so consecutive writes here may skip
 *   numbers. Entries keep etcd's create and mod revisions.
 * - A write resolves once etcd has committed it (a quorum of members).
 * - A watch resumes from any revision etcd has not compacted; from a compacted
 *   one it errors with `XDSKIT_STORE_FAILED` (list again).
 * - When etcd cannot be reached a call fails with `XDSKIT_STORE_FAILED` and
 *   the message says so; {@link EtcdConfigStore.reachable} turns false. Calls
 *   are never retried behind the caller's back (a retried compare-and-set
 *   whose first answer was lost would report a conflict for a write that was
 *   applied), and the first call after etcd returns goes through at once.
 * - A watch resumes after a lost connection from the revision after the last
 *   event it delivered: no gap, no repeat. A write that times out may still have been applied
 *   (etcd had it but the answer was lost): read again, and use
 *   `expectedRevision` to make a retry safe.
 *
 * @example
 * const store = await EtcdConfigStore.connect({ endpoints: ["http://127.0.0.1:2379"], prefix: "/mesh-a/" });
 * const { revision, entries } = await store.list("groups/");
 * store.watch("groups/", revision).subscribe((event) => console.log(event.kind, event.revision));
 */
export class EtcdConfigStore implements ConfigStore {
  readonly description: string;
  readonly #client: Etcd3;
  readonly #ns: Namespace;
  readonly #prefix: string;
  readonly #endpoints: string;
  readonly #reachable = new BehaviorSubject<boolean>(true);
  #closed = false;

  private constructor(client: Etcd3, prefix: string, endpoints: string) {
    this.#client = client;
    this.#prefix = prefix;
    this.#ns = client.namespace(prefix);
    this.#endpoints = endpoints;
    this.description = `etcd:${endpoints}${prefix}`;
  }

  /**
   * Connects to etcd and checks that it answers (one read).
   * @throws XdskitError `XDSKIT_STORE_FAILED` when etcd cannot be reached; `XDSKIT_INVALID_OPTION` for bad options.
   */
  static async connect(options: EtcdConfigStoreOptions): Promise<EtcdConfigStore> {
    const store = EtcdConfigStore.create(options);
    try {
      await store.revision();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  /**
   * Creates the store without waiting for etcd: the first call that needs
   * etcd fails with `XDSKIT_STORE_FAILED` while it is unreachable. For a
   * replica that must start serving its last good config even with etcd down.
   */
  static create(options: EtcdConfigStoreOptions): EtcdConfigStore {
    const owner = "EtcdConfigStore";
    const endpoints = options?.endpoints;
    if (!Array.isArray(endpoints) || endpoints.length === 0 || !endpoints.every((e) => typeof e === "string" && /^https?:\/\//.test(e))) {
      throw optionError(owner, "endpoints", 'a non-empty list of etcd client URLs like "http://127.0.0.1:2379"', endpoints);
    }
    const prefix = options.prefix ?? ETCD_STORE_DEFAULTS.prefix;
    if (typeof prefix !== "string" || prefix === "" || prefix.includes("\0")) {
      throw optionError(owner, "prefix", "a non-empty string without NUL", prefix);
    }
    const callTimeoutMs = positive(owner, "callTimeoutMs", options.callTimeoutMs ?? ETCD_STORE_DEFAULTS.callTimeoutMs);
    const dialTimeoutMs = positive(owner, "dialTimeoutMs", options.dialTimeoutMs ?? ETCD_STORE_DEFAULTS.dialTimeoutMs);
    const maxDelay = positive(owner, "maxReconnectDelayMs", options.maxReconnectDelayMs ?? ETCD_STORE_DEFAULTS.maxReconnectDelayMs);
    const client = new Etcd3({
      hosts: [...endpoints],
      dialTimeout: dialTimeoutMs,
      // No retries and no circuit breaker inside the client (the defaults retry
      // three times and then refuse every call for 5 s): a failed call fails
      // now, and the first one after etcd returns goes through.
      faultHandling: {
        host: () => noop,
        global: noop,
        // etcd3 calls `.next()` on it for the first delay, as on any cockatiel backoff factory.
        watchBackoff: new ExponentialBackoff({ initialDelay: Math.min(100, maxDelay), maxDelay }) as never,
      },
      // Notice a silently dead connection (no RST) within a minute; lenient, so that a busy
      // event loop answering pings late does not cut a healthy connection (and its watches).
      grpcOptions: { "grpc.keepalive_time_ms": 30_000, "grpc.keepalive_timeout_ms": 20_000 },
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.auth ? { auth: options.auth } : {}),
    });
    return new EtcdConfigStore(client, prefix, endpoints.join(","));
  }

  /** The `etcd3` client, for what this store does not cover (leases, elections). Shares the store's connection. */
  get client(): Etcd3 {
    return this.#client;
  }

  /**
   * Whether etcd answers: `true` at first; `false` as soon as a call fails
   * for want of etcd or a watch loses its connection; `true` again when a
   * call succeeds or a watch reconnects. Emits changes only; completes on
   * `close`. A replica uses it for readiness and to refuse writes early.
   */
  get reachable(): Observable<boolean> {
    return this.#reachable.pipe(distinctUntilChanged());
  }

  /** Whether etcd is reachable as far as this store knows now (see {@link EtcdConfigStore.reachable}). */
  get isReachable(): boolean {
    return this.#reachable.value;
  }

  /** Asks etcd now; resolves `true` when it answers within `callTimeoutMs`. Never rejects. */
  async ping(): Promise<boolean> {
    try {
      await this.revision();
      return true;
    } catch {
      return false;
    }
  }

  /** The key prefix of this store. */
  get prefix(): string {
    return this.#prefix;
  }

  async revision(): Promise<number> {
    const response = await this.#call("revision", () => this.#ns.get("\u0001").exec());
    return Number(response.header.revision);
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    checkKey("EtcdConfigStore.get", key);
    const response = await this.#call(`get ${key}`, () => this.#ns.get(key).exec());
    const kv = response.kvs[0];
    // A single-key read returns the key with the prefix still on it.
    return kv && toEntry(kv, key);
  }

  async list(prefix = ""): Promise<StoreListing> {
    const range = prefix === "" ? this.#ns.getAll() : this.#ns.getAll().prefix(prefix);
    const response = await this.#call(`list ${prefix || "(all)"}`, () => range.exec());
    const entries = response.kvs.map((kv) => toEntry(kv));
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { revision: Number(response.header.revision), entries };
  }

  async put(key: string, value: JsonValue, options?: StoreWriteOptions): Promise<number> {
    this.#checkOpen("put");
    checkKey("EtcdConfigStore.put", key);
    const text = JSON.stringify(value);
    if (text === undefined) throw new XdskitError(ErrorCode.API_MISUSE, `EtcdConfigStore.put: ${key}: the value is not JSON`);
    const expected = options?.expectedRevision;
    if (expected === undefined) {
      const response = await this.#call(`put ${key}`, () => this.#ns.put(key).value(text).exec());
      return Number(response.header.revision);
    }
    checkExpected("EtcdConfigStore.put", expected);
    const response = await this.#call(`put ${key}`, () =>
      this.#guard(key, expected).then(this.#ns.put(key).value(text)).else(this.#ns.get(key)).commit(),
    );
    if (!response.succeeded) throw conflict(key, expected, response.responses[0]?.response_range?.kvs[0]);
    return Number(response.header.revision);
  }

  async delete(key: string, options?: StoreWriteOptions): Promise<number | undefined> {
    this.#checkOpen("delete");
    checkKey("EtcdConfigStore.delete", key);
    const expected = options?.expectedRevision;
    if (expected === undefined) {
      const response = await this.#call(`delete ${key}`, () => this.#ns.delete().key(key).exec());
      return Number(response.deleted) > 0 ? Number(response.header.revision) : undefined;
    }
    checkExpected("EtcdConfigStore.delete", expected);
    const response = await this.#call(`delete ${key}`, () =>
      this.#guard(key, expected).then(this.#ns.delete().key(key)).else(this.#ns.get(key)).commit(),
    );
    if (!response.succeeded) throw conflict(key, expected, response.responses[0]?.response_range?.kvs[0]);
    const deleted = Number(response.responses[0]?.response_delete_range?.deleted ?? 0);
    return deleted > 0 ? Number(response.header.revision) : undefined;
  }

  watch(prefix: string, afterRevision: number): Observable<StoreEvent> {
    return new Observable<StoreEvent>((subscriber) => {
      if (this.#closed) {
        subscriber.complete();
        return undefined;
      }
      // The last revision delivered: a reconnected watch resumes after it and drops what etcd sends again.
      let last = afterRevision;
      let active = true;
      const builder = prefix === "" ? this.#ns.watch().prefix("") : this.#ns.watch().prefix(prefix);
      const watcher = builder.startRevision(String(afterRevision + 1)).watcher();
      const fail = (error: unknown) => {
        if (!active) return;
        active = false;
        subscriber.error(error);
      };
      watcher.on("data", (response: IWatchResponse) => {
        if (!active) return;
        this.#reachable.next(true);
        for (const event of response.events) {
          const revision = Number(event.kv.mod_revision);
          if (revision <= last) continue;
          last = revision;
          const key = event.kv.key.toString();
          let storeEvent: StoreEvent;
          try {
            storeEvent = event.type === "Delete" ? { kind: "delete", revision, key } : { kind: "put", revision, entry: toEntry(event.kv) };
          } catch (error) {
            fail(error);
            return;
          }
          subscriber.next(storeEvent);
          if (!active) return;
        }
      });
      watcher.on("connected", () => {
        if (active) this.#reachable.next(true);
      });
      watcher.on("disconnected", () => {
        if (!active) return;
        this.#reachable.next(false);
        // etcd3 resumes from the header revision it last saw, which runs ahead
        // of the events still to come while a watch catches up: resume after
        // the last event delivered instead.
        (watcher as unknown as { request: { start_revision: string } }).request.start_revision = String(last + 1);
      });
      watcher.on("error", (error: Error) => {
        // etcd cancels a watch whose start revision was compacted (the client reports any cancel this way).
        fail(
          new XdskitError(
            ErrorCode.STORE_FAILED,
            `${this.description}: the watch on "${prefix}" after revision ${last} was cancelled by etcd (${error?.message?.trim() || "no reason given"}): the changes it needs are no longer kept (etcd compacted them); list again and watch from the listing's revision`,
            { cause: error },
          ),
        );
      });
      return () => {
        const wasActive = active;
        active = false;
        if (wasActive) void watcher.cancel().catch(() => undefined);
      };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reachable.complete();
    this.#client.close();
  }

  /** The compare of a compare-and-set write: the key's mod revision, or "does not exist" for 0. */
  #guard(key: string, expected: number) {
    return expected === 0 ? this.#ns.if(key, "Create", "==", 0) : this.#ns.if(key, "Mod", "==", expected);
  }

  async #call<T>(what: string, call: () => Promise<T>): Promise<T> {
    this.#checkOpen(what.split(" ")[0] ?? what);
    try {
      const result = await call();
      this.#reachable.next(true);
      return result;
    } catch (error) {
      const failure = this.#failure(what, error);
      if (failure.code === ErrorCode.STORE_FAILED && !XdskitError.is(error)) this.#reachable.next(false);
      throw failure;
    }
  }

  #failure(what: string, error: unknown): XdskitError {
    if (error instanceof XdskitError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new XdskitError(
      ErrorCode.STORE_FAILED,
      `${this.description}: ${what} failed: ${message}; is etcd at ${this.#endpoints} reachable? (a write may or may not have been applied: read again)`,
      { cause: error },
    );
  }

  #checkOpen(method: string): void {
    if (this.#closed) throw new XdskitError(ErrorCode.API_MISUSE, `EtcdConfigStore.${method}: the store is closed`);
  }
}

function toEntry(kv: IKeyValue, key = kv.key.toString()): StoreEntry {
  let value: JsonValue;
  try {
    value = JSON.parse(kv.value.toString()) as JsonValue;
  } catch (error) {
    throw new XdskitError(ErrorCode.STORE_FAILED, `etcd key ${key} does not hold JSON (written by something other than xdskit?)`, {
      cause: error,
      path: key,
    });
  }
  return Object.freeze({ key, value: deepFreeze(value), createRevision: Number(kv.create_revision), modRevision: Number(kv.mod_revision) });
}

function conflict(key: string, expected: number, current: IKeyValue | undefined): XdskitError {
  return new XdskitError(
    ErrorCode.STORE_CONFLICT,
    `${key}: expected revision ${expected} but the key is at ${current ? `revision ${current.mod_revision}` : "no revision (it does not exist)"}; read it again and retry`,
    { path: key },
  );
}

function checkKey(owner: string, key: unknown): asserts key is string {
  if (typeof key !== "string" || key === "" || key.includes("\0")) {
    throw new XdskitError(ErrorCode.API_MISUSE, `${owner}: a key must be a non-empty string without NUL; got ${JSON.stringify(key)}`);
  }
}

function checkExpected(owner: string, expected: unknown): void {
  if (!Number.isInteger(expected) || (expected as number) < 0) throw optionError(owner, "expectedRevision", "an integer >= 0", expected);
}

function positive(owner: string, name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw optionError(owner, name, "a number > 0", value);
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
