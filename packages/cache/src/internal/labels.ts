// Versions in the user's words. What a client sees as a version (SotW
// `version_info`, a delta resource's `version`) is `<label>~<digest>`: the
// label of the snapshot in which that content last changed, then the content
// digest. Equality is decided by the digest alone, so two replicas, or one
// process before and after a restart, that hold the same content agree with a
// client whatever labels they gave it: nothing is re-sent for unchanged content.
import type { ResourceEntry } from "../types.js";
import { type ResourceSetView, versionsOf } from "./resource-set.js";

/** Separates the snapshot label from the content digest in a version. */
export const LABEL_SEPARATOR = "~";

/** The content digest of a version: the part after the last `~` (all of it when unlabelled). */
export function digestOf(version: string): string {
  const at = version.lastIndexOf(LABEL_SEPARATOR);
  return at < 0 ? version : version.slice(at + 1);
}

/** The snapshot label of a version, or `undefined` when it carries none. */
export function labelOf(version: string): string | undefined {
  const at = version.lastIndexOf(LABEL_SEPARATOR);
  return at < 0 ? undefined : version.slice(0, at);
}

/** `<label>~<digest>`, or the digest alone without a label. */
export function withLabel(label: string | undefined, digest: string): string {
  return label === undefined ? digest : `${label}${LABEL_SEPARATOR}${digest}`;
}

/**
 * True when two versions name the same content: equal digests, whatever the
 * labels (so `release-42~abc` and `release-43~abc` are the same content).
 */
export function sameContentVersion(a: string, b: string): boolean {
  return a === b || digestOf(a) === digestOf(b);
}

/** Labelled views already built, so groups served the same snapshots in the same order share one (and its entries). */
const built = new WeakMap<object, Map<string, WeakMap<object, LabelledType>>>();
const FIRST = {};

/**
 * One type of a group's served snapshot, with each entry's version labelled
 * by the snapshot in which it last changed, and the type's version by the
 * snapshot in which the type last changed. Built once per change of the type.
 */
export class LabelledType implements ResourceSetView {
  readonly typeUrl: string;
  readonly version: string;
  /** The type's content digest (unlabelled). */
  readonly digest: string;
  readonly #byName: Map<string, ResourceEntry>;
  #all: readonly ResourceEntry[] | undefined;
  #versions: ReadonlyMap<string, string> | undefined;

  private constructor(typeUrl: string, digest: string, label: string, byName: Map<string, ResourceEntry>) {
    this.typeUrl = typeUrl;
    this.digest = digest;
    this.version = withLabel(label, digest);
    this.#byName = byName;
  }

  /**
   * The labelled view of `entries` (content digest `digest`) served under
   * snapshot `label`, keeping the labels of `previous` for what did not change.
   */
  static of(
    typeUrl: string,
    entries: { readonly [name: string]: ResourceEntry },
    digest: string,
    label: string,
    previous: LabelledType | undefined,
  ): LabelledType {
    if (previous !== undefined && previous.digest === digest) return previous;
    // Empty types share one entries object everywhere: cheap to build, and not worth remembering per label.
    let empty = true;
    for (const _ in entries) {
      empty = false;
      break;
    }
    if (empty) return LabelledType.#build(typeUrl, entries, digest, label, previous);
    let byLabel = built.get(entries);
    if (byLabel === undefined) {
      byLabel = new Map();
      built.set(entries, byLabel);
    }
    const labelKey = `${typeUrl}\0${label}`;
    let byPrevious = byLabel.get(labelKey);
    if (byPrevious === undefined) {
      byPrevious = new WeakMap();
      byLabel.set(labelKey, byPrevious);
    }
    const known = byPrevious.get(previous ?? FIRST);
    if (known !== undefined) return known;
    const made = LabelledType.#build(typeUrl, entries, digest, label, previous);
    byPrevious.set(previous ?? FIRST, made);
    return made;
  }

  static #build(
    typeUrl: string,
    entries: { readonly [name: string]: ResourceEntry },
    digest: string,
    label: string,
    previous: LabelledType | undefined,
  ): LabelledType {
    const byName = new Map<string, ResourceEntry>();
    const before = previous === undefined ? undefined : previous.#byName;
    for (const name in entries) {
      const entry = entries[name]!;
      const old = before?.get(name);
      const unchanged = old !== undefined && digestOf(old.version) === entry.version && old.ttlMs === entry.ttlMs;
      byName.set(name, unchanged ? old : Object.freeze({ ...entry, version: withLabel(label, entry.version) }));
    }
    return new LabelledType(typeUrl, digest, label, byName);
  }

  get size(): number {
    return this.#byName.size;
  }

  get(name: string): ResourceEntry | undefined {
    return this.#byName.get(name);
  }

  all(): readonly ResourceEntry[] {
    this.#all ??= Object.freeze([...this.#byName.values()]);
    return this.#all;
  }

  names(): Iterable<string> {
    return this.#byName.keys();
  }

  versions(): ReadonlyMap<string, string> {
    this.#versions ??= versionsOf(this.#byName.values());
    return this.#versions;
  }
}
