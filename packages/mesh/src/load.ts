import { createRequire } from "node:module";
import type * as YamlModule from "yaml";
import { MeshModelError, MeshModelErrors } from "./mesh-error.js";
import type { MeshModel, MeshObject } from "./model.js";
import { validateMeshModel } from "./validate-model.js";

let yaml: typeof YamlModule | undefined;
function loadYaml(): typeof YamlModule {
  yaml ??= createRequire(import.meta.url)("yaml") as typeof YamlModule;
  return yaml;
}

/** Options of {@link loadMeshModel}. */
export interface LoadMeshModelOptions {
  /** Check the model with validateMeshModel() and throw on any problem. Default `true`. */
  readonly validate?: boolean;
  /** Named in errors about YAML syntax, e.g. a file name. Default `"model"`. */
  readonly source?: string;
}

/**
 * Reads a mesh model from YAML: documents separated by `---`, each one object
 * (`kind`, `metadata`, `spec`) or a list of them. An optional document
 * `kind: Mesh` with `spec.trustDomain` sets the trust domain.
 *
 * @example
 * const model = loadMeshModel(readFileSync("mesh.yaml", "utf8"));
 * model.objects.length; // e.g. 5
 *
 * @throws MeshModelErrors (`XDSKIT_INVALID_MESH_MODEL`) when the YAML does not
 *   parse (with the line) or, unless `validate: false`, when the model has
 *   problems; `errors` lists every one.
 */
export function loadMeshModel(yamlText: string, options: LoadMeshModelOptions = {}): MeshModel {
  const source = options.source ?? "model";
  const docs = loadYaml().parseAllDocuments(yamlText, { prettyErrors: true });
  const objects: MeshObject[] = [];
  let trustDomain: unknown;
  const errors: MeshModelError[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) errors.push(new MeshModelError("Mesh", "-", source, "", `YAML does not parse: ${e.message}`));
      continue;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item && typeof item === "object" && (item as { kind?: unknown }).kind === "Mesh") {
        trustDomain = (item as { spec?: { trustDomain?: unknown } }).spec?.trustDomain;
      } else {
        objects.push(item as MeshObject);
      }
    }
  }
  if (errors.length > 0) throw new MeshModelErrors(errors);
  const model: MeshModel = trustDomain === undefined ? { objects } : { trustDomain: trustDomain as string, objects };
  if (options.validate !== false) {
    const problems = validateMeshModel(model);
    if (problems.length > 0) throw new MeshModelErrors(problems);
  }
  return model;
}
