// The cache behind the protocol model test's server: a SnapshotCache (one
// node group; versions `<label>~<digest>`) or a MuxCache of LinearCaches, one
// per type (versions are digests alone). Either applies the model's steps and
// says which version a client should see.
import { type ConfigWatcher, LinearCache, MuxCache, SnapshotCache, silentLogger } from "@xdskit/cache";
import { build, GROUP, MODEL_TYPES, type ModelState, PROBE, PROBE_NAMES, snapshotInput } from "./model-universe.js";

export type BackendKind = "snapshot" | "linear";

export interface ModelBackend {
  readonly kind: BackendKind;
  readonly watcher: ConfigWatcher;
  /** Whether versions carry the snapshot label (`<label>~<digest>`). */
  readonly labelled: boolean;
  /** Moves the cache to `next`: a whole new state, or an update of one type (upserts of what differs, `removed`). */
  apply(label: string, previous: ModelState, next: ModelState, typeUrl?: string, removed?: readonly string[]): void;
  /** Writes one resource again with the same bytes (a no-op). */
  rewrite(label: string, typeUrl: string, name: string, variant: number): void;
  /** Writes the same state again under a new label (a no-op). */
  restate(label: string, state: ModelState): void;
  /** The content digest of a type, and of one resource (undefined when absent). */
  typeDigest(typeUrl: string): string | undefined;
  entryDigest(typeUrl: string, name: string): string | undefined;
  dispose(): void;
}

export function createBackend(kind: BackendKind, initial: ModelState): ModelBackend {
  return kind === "snapshot" ? snapshotBackend(initial) : linearBackend(initial);
}

function snapshotBackend(initial: ModelState): ModelBackend {
  // Silent: the model subscribes to missing names on purpose (missing-names-held), which the cache warns about.
  // Every node is in one group, so the clients share the group's answers.
  const cache = new SnapshotCache({ logger: silentLogger, nodeGroup: () => GROUP });
  const restate = (label: string, state: ModelState): void => {
    cache.setSnapshot(GROUP, snapshotInput(label, state));
  };
  restate("v0", initial);
  return {
    kind: "snapshot",
    watcher: cache,
    labelled: true,
    apply(label, previous, next, typeUrl, removed = []) {
      if (typeUrl === undefined) return restate(label, next);
      cache.updateResources(GROUP, {
        version: label,
        upsert: { [typeUrl]: changed(previous, next, typeUrl) },
        remove: { [typeUrl]: removed },
      });
    },
    rewrite(label, typeUrl, name, variant) {
      cache.updateResources(GROUP, { version: label, upsert: { [typeUrl]: [build(typeUrl, name, variant)] } });
    },
    restate,
    typeDigest: (typeUrl) => cache.getSnapshot(GROUP)?.resources[typeUrl]?.version,
    entryDigest: (typeUrl, name) => cache.getSnapshot(GROUP)?.resources[typeUrl]?.entries[name]?.version,
    dispose: () => cache.dispose(),
  };
}

function linearBackend(initial: ModelState): ModelBackend {
  const caches = new Map<string, LinearCache>();
  const input = snapshotInput("v0", initial).resources;
  for (const typeUrl of MODEL_TYPES) caches.set(typeUrl, new LinearCache({ typeUrl, resources: input[typeUrl]! }));
  caches.set(PROBE, new LinearCache({ typeUrl: PROBE, resources: PROBE_NAMES.map((n) => build(PROBE, n, 0)) }));
  const mux = new MuxCache({ caches: Object.fromEntries(caches) });
  // A LinearCache has no label: its versions are digests alone.
  const restate = (_label: string, state: ModelState): void => {
    const resources = snapshotInput("x", state).resources;
    for (const t of MODEL_TYPES) caches.get(t)!.replaceAll(resources[t]!);
  };
  return {
    kind: "linear",
    watcher: mux,
    labelled: false,
    apply(label, previous, next, typeUrl, removed = []) {
      if (typeUrl === undefined) return restate(label, next);
      caches.get(typeUrl)!.update({ upsert: changed(previous, next, typeUrl), delete: [...removed] });
    },
    rewrite(_label, typeUrl, name, variant) {
      caches.get(typeUrl)!.upsert(build(typeUrl, name, variant));
    },
    restate,
    typeDigest: (typeUrl) => caches.get(typeUrl)?.version,
    entryDigest: (typeUrl, name) => caches.get(typeUrl)?.get(name)?.version,
    dispose: () => {
      for (const c of caches.values()) c.dispose();
    },
  };
}

/** The resources of a type that `next` adds or changes against `previous`. */
function changed(previous: ModelState, next: ModelState, typeUrl: string): object[] {
  return [...next.get(typeUrl)!].filter(([name, v]) => previous.get(typeUrl)!.get(name) !== v).map(([name, v]) => build(typeUrl, name, v));
}
