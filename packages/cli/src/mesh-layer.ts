// The mesh model as a config source of `xdskit serve`: mesh objects from the
// config files (documents with a `kind`) and from the admin API (kept in the
// config store under `mesh/model`), compiled by @xdskit/mesh into the
// resources of the node groups `sidecar~<ns>/<name>` and `grpc~<ns>/<name>`,
// which the control plane serves like file config.
import { type JsonValue, messageTypeOf, toJson } from "@xdskit/envoy-api";
import {
  diffMeshModels,
  MeshCompiler,
  type MeshDiff,
  type MeshModel,
  MeshModelError,
  MeshModelErrors,
  type MeshObject,
  type ResourceExplanation,
  type ServiceRegistry,
  validateMeshModel,
} from "@xdskit/mesh";
import { resourceTypeOf } from "@xdskit/resources";
import type { ConfigStore, StoreEvent } from "@xdskit/stores";
import type { Subscription } from "rxjs";
import type { ConfigProblem, GroupResources, ParsedResource } from "./resource-docs.js";

/** The store key of the mesh objects set through the admin API. */
export const MESH_MODEL_KEY = "mesh/model";

/** What the store keeps under {@link MESH_MODEL_KEY}. */
interface StoredMesh {
  readonly trustDomain?: string;
  readonly objects: MeshObject[];
}

/** Splits parsed documents into a model: `kind: Mesh` sets the trust domain, every other document is an object. */
export function meshModelOf(documents: readonly unknown[]): MeshModel {
  let trustDomain: string | undefined;
  const objects: MeshObject[] = [];
  for (const doc of documents) {
    if ((doc as { kind?: unknown })?.kind === "Mesh") trustDomain = (doc as { spec?: { trustDomain?: string } }).spec?.trustDomain;
    else objects.push(doc as MeshObject);
  }
  return trustDomain === undefined ? { objects } : { trustDomain, objects };
}

/**
 * The mesh model of one `xdskit serve`: file objects and API objects (kept in
 * the config store) compiled together by a `MeshCompiler`. Every change is
 * validated as a whole first; a refused change leaves the last good model
 * compiled.
 */
export class MeshLayer {
  readonly #compiler: MeshCompiler;
  readonly #registry: ServiceRegistry | undefined;
  #files: MeshModel = { objects: [] };
  #api: MeshModel = { objects: [] };
  #apiRevision = 0;

  constructor(
    readonly store: ConfigStore,
    registry?: ServiceRegistry,
  ) {
    this.#registry = registry;
    this.#compiler = new MeshCompiler(registry ? { registry } : {});
  }

  /** The model served: file objects and API objects together (the API's trust domain wins). */
  get model(): MeshModel {
    return combine(this.#files, this.#api);
  }

  /** The API-owned objects and the store revision to pass back for compare-and-set. */
  get api(): { readonly model: MeshModel; readonly revision: number } {
    return { model: this.#api, revision: this.#apiRevision };
  }

  /** Reads the API-owned objects from the store (at start). */
  async load(): Promise<void> {
    const entry = await this.store.get(MESH_MODEL_KEY);
    if (entry) this.#setApi(entry.value as unknown as StoredMesh, entry.modRevision);
  }

  /** Takes the file objects; throws MeshModelErrors (and keeps the last good model) when the combined model is invalid. */
  setFiles(model: MeshModel): void {
    this.#update(combine(model, this.#api));
    this.#files = model;
  }

  /**
   * Replaces the API-owned objects: validated with the file objects, written to
   * the store (compare-and-set with `expectedRevision` when given), then
   * compiled. With `dryRun` only validates. Returns the resource diff per node group.
   * @throws MeshModelErrors naming each bad object and field; XdskitError `XDSKIT_STORE_CONFLICT`.
   */
  async put(model: MeshModel, options: { dryRun?: boolean; expectedRevision?: number } = {}): Promise<MeshDiff> {
    const next = combine(this.#files, model);
    const errors = validateMeshModel(next);
    if (errors.length > 0) throw new MeshModelErrors(errors);
    const diff = diffMeshModels(this.model, next, this.#registry ? { registry: this.#registry } : {});
    if (options.dryRun) return diff;
    const stored: StoredMesh = {
      ...(model.trustDomain === undefined ? {} : { trustDomain: model.trustDomain }),
      objects: [...model.objects],
    };
    const revision = await this.store.put(
      MESH_MODEL_KEY,
      stored as unknown as JsonValue,
      options.expectedRevision === undefined ? {} : { expectedRevision: options.expectedRevision },
    );
    this.#update(next);
    this.#api = model;
    this.#apiRevision = revision;
    return diff;
  }

  /**
   * Applies what other replicas write under `mesh/` (a shared store), calling
   * `onChange` after each applied change. A change that does not validate
   * here is reported to `onProblem`; the last good model keeps serving.
   */
  follow(afterRevision: number, onChange: () => void, onProblem: (error: unknown) => void): Subscription {
    return this.store.watch("mesh/", afterRevision).subscribe({
      next: (event: StoreEvent) => {
        if (event.kind === "put" && event.entry.key === MESH_MODEL_KEY && event.entry.modRevision > this.#apiRevision) {
          try {
            this.#setApi(event.entry.value as unknown as StoredMesh, event.entry.modRevision);
            onChange();
          } catch (error) {
            onProblem(error);
          }
        }
      },
      error: onProblem,
    });
  }

  /** Calls `listener` when compiled resources may have changed by themselves (instance churn in the registry). */
  onChange(listener: () => void): () => void {
    return this.#compiler.onChange(() => listener());
  }

  /** The compiled resources of every mesh node group, as the control plane takes file config. */
  groups(): Map<string, GroupResources> {
    const out = new Map<string, GroupResources>();
    if (this.model.objects.length === 0) return out;
    for (const group of this.#compiler.groups()) {
      const byType: GroupResources = new Map();
      for (const [typeUrl, messages] of Object.entries(this.#compiler.compile(group))) {
        const byName = new Map<string, ParsedResource>();
        const codec = messageTypeOf(typeUrl);
        for (const message of messages) {
          const name = resourceTypeOf(typeUrl).nameOf?.(message as never) ?? "";
          const json = { "@type": typeUrl, ...(toJson(codec, message, { useProtoNames: true }) as Record<string, JsonValue>) };
          byName.set(name, { typeUrl, name, json, message });
        }
        byType.set(typeUrl, byName);
      }
      out.set(group, byType);
    }
    return out;
  }

  /** For each resource of a mesh node group, the model objects it comes from. */
  explain(group: string): ResourceExplanation[] {
    return this.model.objects.length === 0 || !this.#compiler.groups().includes(group) ? [] : this.#compiler.explain(group);
  }

  #setApi(stored: StoredMesh, revision: number): void {
    const model =
      stored.trustDomain === undefined ? { objects: stored.objects } : { trustDomain: stored.trustDomain, objects: stored.objects };
    this.#update(combine(this.#files, model));
    this.#api = model;
    this.#apiRevision = revision;
  }

  #update(model: MeshModel): void {
    if (model.objects.length === 0) return void this.#compiler.update({ objects: [] });
    this.#compiler.update(model);
  }
}

function combine(files: MeshModel, api: MeshModel): MeshModel {
  const trustDomain = api.trustDomain ?? files.trustDomain;
  const objects = [...files.objects, ...api.objects];
  return trustDomain === undefined ? { objects } : { trustDomain, objects };
}

/**
 * File config and compiled mesh groups together, as the control plane takes
 * them; a resource both define in one group is a problem.
 */
export function withMeshGroups(
  files: ReadonlyMap<string, GroupResources>,
  mesh: ReadonlyMap<string, GroupResources>,
): { groups: Map<string, GroupResources>; problems: ConfigProblem[] } {
  const groups = new Map<string, GroupResources>();
  const problems: ConfigProblem[] = [];
  for (const [group, byType] of files) groups.set(group, new Map([...byType].map(([t, byName]) => [t, new Map(byName)])));
  for (const [group, byType] of mesh) {
    const into = groups.get(group) ?? new Map<string, Map<string, ParsedResource>>();
    groups.set(group, into);
    for (const [typeUrl, byName] of byType) {
      const names = into.get(typeUrl) ?? new Map<string, ParsedResource>();
      into.set(typeUrl, names);
      for (const [name, resource] of byName) {
        if (names.has(name)) {
          problems.push({ group, typeUrl, resource: name, message: "defined by both a config file and the mesh model" });
        }
        names.set(name, resource);
      }
    }
  }
  return { groups, problems };
}

/** A mesh model error as a config problem (for logs and 400s): the model object and field, not a generated resource. */
export function meshProblems(error: unknown): ConfigProblem[] | undefined {
  if (error instanceof MeshModelErrors) return error.errors.map((e) => meshProblem(e));
  if (error instanceof MeshModelError) return [meshProblem(error)];
  return undefined;
}

function meshProblem(e: MeshModelError): ConfigProblem {
  const owner = `${e.kind} ${e.namespace}/${e.objectName}`;
  let message = e.message.startsWith(`${owner}: `) ? e.message.slice(owner.length + 2) : e.message;
  if (e.path && message.startsWith(`${e.path}: `)) message = message.slice(e.path.length + 2);
  return { resource: owner, ...(e.path ? { path: e.path } : {}), message };
}
