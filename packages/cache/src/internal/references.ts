import type { ResourceTypeLookup } from "@xdskit/resources";
import type { Snapshot } from "../snapshot.js";
import type { ResourceEntry } from "../types.js";

/** A reference from one resource to another that the snapshot lacks. */
export interface MissingReference {
  /** The node group whose snapshot has the problem. */
  readonly group: string;
  /** Type URL of the referencing resource (e.g. a cluster). */
  readonly typeUrl: string;
  /** Name of the referencing resource. */
  readonly name: string;
  /** Type URL of the missing resource (e.g. ClusterLoadAssignment). */
  readonly referenceTypeUrl: string;
  /** Name of the missing resource. */
  readonly referenceName: string;
  /** Where in the referencing resource the name sits. */
  readonly path: string;
}

type Ref = { readonly typeUrl: string; readonly name: string; readonly path: string };
const refsOf = new WeakMap<ResourceEntry, readonly Ref[]>();

function references(entry: ResourceEntry, lookup: ResourceTypeLookup): readonly Ref[] {
  let refs = refsOf.get(entry);
  if (!refs) {
    try {
      const type = lookup(entry.typeUrl);
      refs = type.references(type.messageType.decode(entry.bytes));
    } catch {
      refs = [];
    }
    refsOf.set(entry, refs);
  }
  return refs;
}

/** Every unresolved reference in a snapshot; references are decoded once per entry and remembered. */
export function missingReferences(group: string, snapshot: Snapshot, lookup: ResourceTypeLookup): MissingReference[] {
  const out: MissingReference[] = [];
  for (const [typeUrl, t] of Object.entries(snapshot.resources)) {
    for (const name of Object.keys(t.entries)) {
      for (const ref of references(t.entries[name]!, lookup)) {
        if (ref.name.endsWith("*")) continue; // a glob or collection: nothing to check by name
        const target = snapshot.resources[ref.typeUrl];
        if (target && Object.hasOwn(target.entries, ref.name)) continue;
        out.push(Object.freeze({ group, typeUrl, name, referenceTypeUrl: ref.typeUrl, referenceName: ref.name, path: ref.path }));
      }
    }
  }
  return out;
}
