// The ConfigStore seam: what a control plane needs from the place its config
// lives. Shaped after etcd's key-value model (one revision counter for the
// whole store, a create and a modify revision per key, compare-and-set on the
// modify revision, watches that resume from a revision) so that an etcd store
// (issue 12) and the embedded stores of this package are interchangeable.
import type { JsonValue } from "@xdskit/envoy-api";
import type { Observable } from "rxjs";

/** One key and its value as the store holds it. */
export interface StoreEntry {
  /** The key, e.g. `groups/front`. Keys are non-empty strings without NUL. */
  readonly key: string;
  /** The value: any JSON value (stores keep it as JSON text). */
  readonly value: JsonValue;
  /** The store revision that created the key (since its last delete). */
  readonly createRevision: number;
  /** The store revision of the key's last write: what `expectedRevision` compares against. */
  readonly modRevision: number;
}

/** Every entry under a prefix, read at one store revision. */
export interface StoreListing {
  /** The store revision the listing reflects; pass it to `watch` to miss nothing after it. */
  readonly revision: number;
  /** The entries, sorted by key. */
  readonly entries: readonly StoreEntry[];
}

/** One change seen by a watch. */
export type StoreEvent =
  | { readonly kind: "put"; readonly revision: number; readonly entry: StoreEntry }
  | { readonly kind: "delete"; readonly revision: number; readonly key: string };

/** Options of a write (`put`, `delete`). */
export interface StoreWriteOptions {
  /**
   * Compare-and-set: write only if the key's `modRevision` is this number
   * (`0`: only if the key does not exist). A mismatch throws
   * `XDSKIT_STORE_CONFLICT` and writes nothing. Default: unset, write
   * whatever the key holds.
   */
  readonly expectedRevision?: number;
}

/**
 * Where a control plane keeps the config it was given (through an admin API,
 * say), so that it survives a restart and, with a shared store, is seen by
 * every replica.
 *
 * Every write gets a new store revision: a positive integer, higher than any
 * before, never reused (the embedded stores count 1, 2, 3…; an etcd store
 * uses etcd's revisions, which count writes to the whole etcd). A write resolves only once it is durable as the store defines
 * it (the directory store: fsynced; an etcd store: committed by a quorum).
 *
 * Implementations: {@link MemoryConfigStore} (tests, or config that need not
 * survive), {@link DirectoryConfigStore} (embedded, crash-safe, single
 * process), and an etcd store in its own package.
 */
export interface ConfigStore {
  /** A short name for logs and the startup summary, e.g. `memory` or `directory:/var/lib/xdskit`. */
  readonly description: string;
  /** The store's current revision (0 before any write). */
  revision(): Promise<number>;
  /** The entry at `key`, or `undefined`. */
  get(key: string): Promise<StoreEntry | undefined>;
  /** Every entry whose key starts with `prefix` (default: all), at one revision. */
  list(prefix?: string): Promise<StoreListing>;
  /**
   * Writes `value` at `key`; resolves with the new store revision once durable.
   * @throws XdskitError `XDSKIT_STORE_CONFLICT` when `expectedRevision` does not match;
   *   `XDSKIT_STORE_FAILED` when the write could not be made durable (nothing changed).
   */
  put(key: string, value: JsonValue, options?: StoreWriteOptions): Promise<number>;
  /**
   * Deletes `key`; resolves with the new store revision, or `undefined` when
   * there was no such key (and no `expectedRevision` was given).
   * @throws XdskitError as {@link ConfigStore.put}.
   */
  delete(key: string, options?: StoreWriteOptions): Promise<number | undefined>;
  /**
   * Changes under `prefix` made after revision `afterRevision`, in revision
   * order: a cold Observable (subscribing starts the watch, unsubscribing ends
   * it). Pass the `revision` of a {@link StoreListing} to miss nothing. Errors
   * with `XDSKIT_STORE_FAILED` when the changes since `afterRevision` are no
   * longer kept (list again and watch from the new revision).
   */
  watch(prefix: string, afterRevision: number): Observable<StoreEvent>;
  /** Releases the store (files, locks, connections); watches complete. Idempotent. */
  close(): Promise<void>;
}
