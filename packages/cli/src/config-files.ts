// Reads a directory of Envoy YAML/JSON files into resources by node group.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { addResources, type ConfigProblem, type GroupResources, readDocument } from "./resource-docs.js";

/** What a config directory holds: resources by group, mesh model documents, and every problem found. */
export interface ConfigFiles {
  readonly groups: Map<string, GroupResources>;
  /** Documents with a `kind` (Service, HTTPRoute, ..., Mesh): the mesh model (docs/mesh.md), compiled by the serve's mesh layer. */
  readonly mesh: unknown[];
  readonly problems: ConfigProblem[];
  readonly files: string[];
}

const EXTENSIONS = /\.(ya?ml|json)$/i;

/** The config files of `path`: the file itself, or the YAML/JSON files of the directory (not recursive, sorted). */
export function configFileList(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => EXTENSIONS.test(name) && !name.startsWith("."))
    .sort()
    .map((name) => join(path, name));
}

/** Reads files (all of them, never stopping at the first problem). */
export function readConfigFiles(files: readonly string[], defaultGroup?: string): ConfigFiles {
  const groups = new Map<string, GroupResources>();
  const problems: ConfigProblem[] = [];
  const mesh: unknown[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      problems.push({ file, message: `cannot read: ${(error as Error).message}` });
      continue;
    }
    const docs: unknown[] = [];
    if (/\.json$/i.test(file)) {
      try {
        docs.push(JSON.parse(text));
      } catch (error) {
        problems.push({ file, message: `not valid JSON: ${(error as Error).message}` });
        continue;
      }
    } else {
      const parsed = parseAllDocuments(text, { merge: true, uniqueKeys: true });
      const list = Array.isArray(parsed) ? parsed : [parsed];
      let bad = false;
      list.forEach((doc, i) => {
        if (doc.errors.length > 0) {
          bad = true;
          problems.push({ file, document: i, message: `not valid YAML: ${doc.errors[0]?.message}` });
        } else docs.push(doc.toJS({ maxAliasCount: 1000 }));
      });
      if (bad) continue;
    }
    docs.forEach((doc, i) => {
      if (isMeshDocument(doc)) {
        mesh.push(doc);
        return;
      }
      const where: ConfigProblem = docs.length > 1 ? { file, document: i, message: "" } : { file, message: "" };
      const read = readDocument(doc, where, defaultGroup);
      problems.push(...read.problems);
      if (read.group === undefined) return;
      let group = groups.get(read.group);
      if (!group) {
        group = new Map();
        groups.set(read.group, group);
      }
      addResources(group, read.resources, where, problems);
    });
  }
  return { groups, mesh, problems, files: [...files] };
}

/** A mesh model document: a mapping with `kind` (Envoy config documents have `group` and resource lists instead). */
function isMeshDocument(doc: unknown): boolean {
  return typeof doc === "object" && doc !== null && !Array.isArray(doc) && typeof (doc as { kind?: unknown }).kind === "string";
}
