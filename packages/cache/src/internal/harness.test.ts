// Runs the protocol-rule tests against both caches: a SnapshotCache with
// three node groups, and a MuxCache of LinearCaches (one per type).
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { ResourceTypeLookup } from "@xdskit/resources";
import { describe, expect, it } from "vitest";
import { EntryStore } from "../entry-store.js";
import { LinearCache } from "../linear-cache.js";
import { MuxCache } from "../mux-cache.js";
import { groupByIdPrefix } from "../node-group.js";
import { SnapshotCache } from "../snapshot-cache.js";
import type { ConfigWatcher } from "../types.js";
import { CDS, cluster, EDS, LDS, node, RDS, SDS } from "./fixtures.test.js";

export interface HarnessOptions {
  readonly resourceTypes?: ResourceTypeLookup;
  readonly adsConsistency?: boolean;
  readonly heartbeatIntervalMs?: number;
  readonly entries?: EntryStore;
}

export interface Harness {
  readonly cache: ConfigWatcher;
  /** One node per group (the linear harness has one shared state but still three nodes). */
  readonly nodes: readonly Node[];
  /** Sets the full content of a type, for every group (or only `group`). */
  set(typeUrl: string, resources: readonly object[], group?: string): void;
  /** Deletes names of a type, everywhere. */
  remove(typeUrl: string, names: readonly string[]): void;
  /** Re-sets the current content under a new snapshot version (a no-op for linear caches). */
  touch(): void;
  /** Watches waiting in the cache(s) right now. */
  openWatches(): number;
  /** The group of a node (for snapshot: id prefix). */
  readonly groupOf: (n: Node) => string;
  readonly store: EntryStore;
  dispose(): void;
}

export const GROUPS = ["g1", "g2", "g3"] as const;

export function snapshotHarness(options: HarnessOptions = {}): Harness {
  const store = options.entries ?? new EntryStore();
  const cache = new SnapshotCache({ nodeGroup: groupByIdPrefix, entries: store, ...options });
  const state = new Map<string, Map<string, readonly object[]>>(GROUPS.map((g) => [g, new Map()]));
  let version = 0;
  const commit = (g: string): void => {
    cache.setSnapshot(g, { version: `v${++version}`, resources: Object.fromEntries(state.get(g)!) });
  };
  return {
    cache,
    nodes: GROUPS.map((g) => node(`${g}-a`)),
    set(typeUrl, resources, group) {
      for (const g of group ? [group] : GROUPS) {
        state.get(g)!.set(typeUrl, resources);
        commit(g);
      }
    },
    remove(typeUrl, names) {
      for (const g of GROUPS) {
        const list = (state.get(g)!.get(typeUrl) ?? []) as { name?: string; clusterName?: string }[];
        state.get(g)!.set(
          typeUrl,
          list.filter((r) => !names.includes(r.name ?? r.clusterName ?? "")),
        );
        commit(g);
      }
    },
    touch() {
      for (const g of GROUPS) commit(g);
    },
    openWatches: () => cache.openWatches,
    groupOf: (n) => cache.groupOf(n),
    store,
    dispose: () => cache.dispose(),
  };
}

export function linearHarness(options: HarnessOptions = {}): Harness {
  const store = options.entries ?? new EntryStore();
  const caches = new Map<string, LinearCache>(
    [CDS, EDS, LDS, RDS, SDS].map((typeUrl) => [
      typeUrl,
      new LinearCache({
        typeUrl,
        entries: store,
        ...options,
      }),
    ]),
  );
  const cache = new MuxCache({ caches: Object.fromEntries(caches) });
  return {
    cache,
    nodes: GROUPS.map((g) => node(`${g}-a`)),
    set(typeUrl, resources) {
      caches.get(typeUrl)!.replaceAll(resources);
    },
    remove(typeUrl, names) {
      caches.get(typeUrl)!.deleteMany(names);
    },
    touch() {},
    openWatches: () => [...caches.values()].reduce((n, c) => n + c.openWatches, 0),
    groupOf: groupByIdPrefix,
    store,
    dispose: () => {
      for (const c of caches.values()) c.dispose();
    },
  };
}

export const HARNESSES = [
  { name: "SnapshotCache (3 node groups)", make: snapshotHarness },
  { name: "LinearCache via MuxCache", make: linearHarness },
] as const;

describe("harness", () => {
  it.each(HARNESSES)("$name holds what set() put in", ({ make }) => {
    const h = make();
    h.set(CDS, [cluster("a")]);
    expect(h.nodes).toHaveLength(3);
    h.dispose();
  });
});
