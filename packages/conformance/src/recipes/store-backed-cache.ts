// A SnapshotCache that follows a ConfigStore: each key `snapshots/<group>`
// holds a group's snapshot as JSON, and every process running this serves
// exactly what the store holds, changes included. With an EtcdConfigStore,
// any number of processes (replicas) serve the same snapshots.
import type { SnapshotCache } from "@xdskit/cache";
import { fromJson, type JsonValue, messageTypeOf } from "@xdskit/envoy-api";
import type { ConfigStore, StoreEntry } from "@xdskit/stores";
import type { Subscription } from "rxjs";

/** What a store key holds: a version and Envoy JSON resources, each with its `@type`. */
export interface StoredSnapshot {
  readonly version: string;
  readonly resources: readonly JsonValue[];
}

const PREFIX = "snapshots/";

/** Writes a group's snapshot; `expectedRevision` makes it a compare-and-set (0: the group must be new). */
export function saveSnapshot(store: ConfigStore, group: string, snapshot: StoredSnapshot, expectedRevision?: number): Promise<number> {
  const value = snapshot as unknown as JsonValue;
  return store.put(PREFIX + group, value, expectedRevision === undefined ? {} : { expectedRevision });
}

/** Serves every stored snapshot from `cache`, then follows the store. Resolves once loaded; call the result to stop. */
export async function followStore(store: ConfigStore, cache: SnapshotCache, onError = (error: unknown) => console.error(error)) {
  let subscription: Subscription | undefined;
  let stopped = false;
  const apply = (entry: StoreEntry) => {
    try {
      const { version, resources } = entry.value as unknown as StoredSnapshot;
      const byType: Record<string, unknown[]> = {};
      for (const resource of resources) {
        const { "@type": typeUrl, ...fields } = resource as Record<string, JsonValue>;
        const list = byType[typeUrl as string] ?? [];
        list.push(fromJson(messageTypeOf(typeUrl as string), fields));
        byType[typeUrl as string] = list;
      }
      cache.setSnapshot(entry.key.slice(PREFIX.length), { version, resources: byType as never });
    } catch (error) {
      onError(error); // a bad entry: the group keeps its last good snapshot
    }
  };
  const load = async (): Promise<void> => {
    const listing = await store.list(PREFIX);
    for (const entry of listing.entries) apply(entry);
    if (stopped) return;
    subscription = store.watch(PREFIX, listing.revision).subscribe({
      next: (event) => (event.kind === "put" ? apply(event.entry) : cache.clearSnapshot(event.key.slice(PREFIX.length))),
      // History compacted, or the store failed: list again and follow from there.
      error: (error) => {
        onError(error);
        retry();
      },
    });
  };
  const retry = () => {
    if (stopped) return;
    const again = () =>
      load().catch((error) => {
        onError(error);
        retry();
      });
    setTimeout(again, 1000).unref();
  };
  await load();
  return () => {
    stopped = true;
    subscription?.unsubscribe();
  };
}
