import { ErrorCode, type JsonValue, optionError, XdskitError } from "@xdskit/envoy-api";
import type { Observable } from "rxjs";
import type { ConfigStore, StoreEntry, StoreEvent, StoreListing, StoreWriteOptions } from "./config-store.js";
import { checkKey, KvState } from "./internal/kv-state.js";

/** Options of {@link MemoryConfigStore}. */
export interface MemoryConfigStoreOptions {
  /**
   * How many recent changes are kept for watches that resume from an older
   * revision (`watch(prefix, afterRevision)`). Older ones are dropped, as
   * etcd compacts. Default 1000; at least 1.
   */
  readonly maxLoggedEvents?: number;
}

/** Defaults of {@link MemoryConfigStoreOptions}. */
export const MEMORY_STORE_DEFAULTS = Object.freeze({ maxLoggedEvents: 1000 });

/**
 * A {@link ConfigStore} in memory: nothing survives the process. For tests,
 * and for `xdskit serve` without a state directory.
 *
 * @example
 * const store = new MemoryConfigStore();
 * const revision = await store.put("groups/front", { version: "1" });
 * await store.put("groups/front", { version: "2" }, { expectedRevision: revision });
 */
export class MemoryConfigStore implements ConfigStore {
  readonly description = "memory";
  readonly #state: KvState;
  #closed = false;

  constructor(options: MemoryConfigStoreOptions = {}) {
    this.#state = new KvState(checkLogSize("MemoryConfigStore", options.maxLoggedEvents));
  }

  async revision(): Promise<number> {
    return this.#state.revision;
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    return this.#state.get(key);
  }

  async list(prefix = ""): Promise<StoreListing> {
    return this.#state.list(prefix);
  }

  async put(key: string, value: JsonValue, options?: StoreWriteOptions): Promise<number> {
    this.#checkOpen("put");
    checkKey("MemoryConfigStore.put", key);
    const planned = this.#state.plan(key, value, options);
    return this.#state.commit(planned as NonNullable<typeof planned>);
  }

  async delete(key: string, options?: StoreWriteOptions): Promise<number | undefined> {
    this.#checkOpen("delete");
    checkKey("MemoryConfigStore.delete", key);
    const planned = this.#state.plan(key, undefined, options);
    return planned && this.#state.commit(planned);
  }

  watch(prefix: string, afterRevision: number): Observable<StoreEvent> {
    return this.#state.watch(this.description, prefix, afterRevision);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#state.close();
  }

  #checkOpen(method: string): void {
    if (this.#closed) throw new XdskitError(ErrorCode.API_MISUSE, `MemoryConfigStore.${method}: the store is closed`);
  }
}

export function checkLogSize(owner: string, value: number | undefined): number {
  const size = value ?? MEMORY_STORE_DEFAULTS.maxLoggedEvents;
  if (!Number.isInteger(size) || size < 1) throw optionError(owner, "maxLoggedEvents", "an integer >= 1", value);
  return size;
}
