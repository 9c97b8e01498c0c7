import { MeshCompiler, type MeshCompilerOptions, type MeshResources } from "./compiler.js";
import type { MeshModel } from "./model.js";

/** Resource names by type URL. */
export type NamesByType = Record<string, string[]>;

/** How one node group's resources would change. */
export interface GroupDiff {
  readonly group: string;
  readonly added: NamesByType;
  readonly changed: NamesByType;
  readonly removed: NamesByType;
}

/** Groups whose resources would change (unchanged groups are left out), in group order. */
export type MeshDiff = GroupDiff[];

function nameOf(resource: object): string {
  const r = resource as { name?: string; clusterName?: string };
  return r.name ?? r.clusterName ?? "";
}

function byName(resources: MeshResources | undefined): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const [typeUrl, list] of Object.entries(resources ?? {})) {
    out.set(typeUrl, new Map(list.map((r) => [nameOf(r), JSON.stringify(r)])));
  }
  return out;
}

/** The resource-level difference of two compiled states, group by group. */
export function diffResources(before: ReadonlyMap<string, MeshResources>, after: ReadonlyMap<string, MeshResources>): MeshDiff {
  const groups = [...new Set([...before.keys(), ...after.keys()])].sort();
  const out: GroupDiff[] = [];
  for (const group of groups) {
    const a = byName(before.get(group));
    const b = byName(after.get(group));
    const diff = { group, added: {} as NamesByType, changed: {} as NamesByType, removed: {} as NamesByType };
    const put = (bucket: NamesByType, typeUrl: string, name: string) => {
      const list = bucket[typeUrl] ?? [];
      list.push(name);
      bucket[typeUrl] = list;
    };
    for (const typeUrl of [...new Set([...a.keys(), ...b.keys()])].sort()) {
      const old = a.get(typeUrl) ?? new Map<string, string>();
      const now = b.get(typeUrl) ?? new Map<string, string>();
      for (const [name, content] of now) {
        const was = old.get(name);
        if (was === undefined) put(diff.added, typeUrl, name);
        else if (was !== content) put(diff.changed, typeUrl, name);
      }
      for (const name of old.keys()) if (!now.has(name)) put(diff.removed, typeUrl, name);
    }
    if (Object.keys(diff.added).length + Object.keys(diff.changed).length + Object.keys(diff.removed).length > 0) out.push(diff);
  }
  return out;
}

/** Every group's resources of a model (helper of diffMeshModels). */
function compileAll(model: MeshModel, options: MeshCompilerOptions): Map<string, MeshResources> {
  const compiler = new MeshCompiler(options);
  try {
    compiler.update(model);
    return new Map(compiler.groups().map((g) => [g, compiler.compile(g)]));
  } finally {
    compiler.dispose();
  }
}

/**
 * What changing the model from `before` to `after` would change, per node
 * group: resource names added, changed and removed, by type URL. Nothing is
 * pushed; use it to review a change (or print it in CI) before publishing.
 * Both models are compiled with the same options (and registry).
 *
 * @throws MeshModelErrors when either model is invalid (naming the object and field).
 * @example
 * diffMeshModels(current, proposed, { registry });
 * // [{ group: "sidecar~shop/web", added: {}, removed: {}, changed: { "type.googleapis.com/envoy.config.route.v3.RouteConfiguration": ["outbound"] } }, ...]
 */
export function diffMeshModels(before: MeshModel, after: MeshModel, options: MeshCompilerOptions = {}): MeshDiff {
  return diffResources(compileAll(before, options), compileAll(after, options));
}
