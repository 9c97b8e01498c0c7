// Envoy-format documents → resources by group. One document (a YAML document
// or a JSON file) names its node group and carries resources in any of three
// shapes, which may be mixed:
//   group: front
//   resources: [ { "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: web, ... } ]
//   static_resources: { listeners: [...], clusters: [...], secrets: [...] }   # an Envoy bootstrap, as is
//   clusters: [...]; listeners: [...]; routes: [...]; endpoints: [...]; secrets: [...]   # sxds style
import { fromJson, type JsonValue, messageTypeOf, TypeUrl, toJson, XdskitError } from "@xdskit/envoy-api";
import { resourceTypeOf } from "@xdskit/resources";

/** Collection keys accepted in a document, with the type of their items. */
export const COLLECTIONS: Readonly<Record<string, string>> = Object.freeze({
  listeners: TypeUrl.Listener,
  clusters: TypeUrl.Cluster,
  routes: TypeUrl.RouteConfiguration,
  route_configurations: TypeUrl.RouteConfiguration,
  endpoints: TypeUrl.ClusterLoadAssignment,
  cluster_load_assignments: TypeUrl.ClusterLoadAssignment,
  secrets: TypeUrl.Secret,
  runtimes: TypeUrl.Runtime,
  scoped_routes: TypeUrl.ScopedRouteConfiguration,
});

/** Resolves a type given as a type URL, a full message name or a collection key (`clusters`). */
export function typeUrlFor(type: string): string | undefined {
  if (type in COLLECTIONS) return COLLECTIONS[type];
  const url = type.includes("/") ? type : `type.googleapis.com/${type}`;
  try {
    messageTypeOf(url);
    return url;
  } catch {
    return undefined;
  }
}

/** One problem in a document: where (file, document, resource, field) and what. */
export interface ConfigProblem {
  readonly file?: string;
  /** The node group, for problems of a group's merged config (no single file to blame). */
  readonly group?: string;
  /** Index of the document in a multi-document YAML file (0-based). */
  readonly document?: number;
  readonly typeUrl?: string;
  readonly resource?: string;
  /** Field path inside the resource, or the document key. */
  readonly path?: string;
  readonly message: string;
}

/** Formats a problem as one line: `file#doc: type "name" path: message`. */
export function describeProblem(p: ConfigProblem): string {
  const where = [
    p.file === undefined
      ? p.group === undefined
        ? undefined
        : `group ${p.group}`
      : `${p.file}${p.document === undefined ? "" : `#${p.document}`}`,
    p.typeUrl === undefined
      ? p.resource
      : `${p.typeUrl.slice(p.typeUrl.lastIndexOf(".") + 1)}${p.resource === undefined ? "" : ` "${p.resource}"`}`,
    p.path || undefined,
  ].filter(Boolean);
  return `${where.join(" ")}${where.length ? ": " : ""}${p.message}`;
}

/** A parsed resource: its canonical Envoy JSON (with `@type`) and the message. */
export interface ParsedResource {
  readonly typeUrl: string;
  readonly name: string;
  readonly json: JsonValue;
  readonly message: unknown;
}

/** Resources by type URL, then by name. */
export type GroupResources = Map<string, Map<string, ParsedResource>>;

const DOC_KEYS = new Set(["group", "resources", "static_resources", ...Object.keys(COLLECTIONS)]);

/** Parses one resource given as Envoy JSON; `typeUrl` when the collection says it, else its `@type`. */
export function parseResource(raw: unknown, typeUrl: string | undefined, where: ConfigProblem): ParsedResource | ConfigProblem {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return { ...where, message: "a resource must be an object" };
  const { "@type": atType, ...fields } = raw as Record<string, unknown>;
  const url = typeUrl ?? (typeof atType === "string" ? typeUrlFor(atType) : undefined);
  if (!url) {
    return {
      ...where,
      path: "@type",
      message: atType === undefined ? 'needs "@type" (the type URL of the resource)' : `unknown type ${JSON.stringify(atType)}`,
    };
  }
  const name =
    typeof fields.name === "string"
      ? fields.name
      : typeof fields.cluster_name === "string"
        ? fields.cluster_name
        : typeof fields.clusterName === "string"
          ? fields.clusterName
          : undefined;
  try {
    const codec = messageTypeOf(url);
    const message = fromJson(codec, fields);
    const resourceName = resourceTypeOf(url).nameOf?.(message) ?? name;
    if (!resourceName) return { ...where, typeUrl: url, path: "name", message: "a resource needs a name" };
    const json = { "@type": url, ...(toJson(codec, message, { useProtoNames: true }) as Record<string, JsonValue>) };
    return { typeUrl: url, name: resourceName, json, message };
  } catch (error) {
    const path = XdskitError.is(error) ? error.path?.replace(/^\$\.?/, "") : undefined;
    return {
      ...where,
      typeUrl: url,
      ...(name === undefined ? {} : { resource: name }),
      ...(path ? { path } : {}),
      message: (error as Error).message.replace(/^\$[^:]*: /, ""),
    };
  }
}

/** Reads the resources of one document into `into`; returns its group and the problems found. */
export function readDocument(
  doc: unknown,
  where: ConfigProblem,
  defaultGroup: string | undefined,
): { group?: string; resources: ParsedResource[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const resources: ParsedResource[] = [];
  if (doc === null || doc === undefined) return { resources, problems };
  if (typeof doc !== "object" || Array.isArray(doc))
    return { resources, problems: [{ ...where, message: "a document must be a mapping" }] };
  const d = doc as Record<string, unknown>;
  for (const key of Object.keys(d))
    if (!DOC_KEYS.has(key)) problems.push({ ...where, path: key, message: `unknown key (expected one of ${[...DOC_KEYS].join(", ")})` });
  const group = d.group === undefined ? defaultGroup : typeof d.group === "string" && d.group !== "" ? d.group : undefined;
  if (group === undefined)
    problems.push({ ...where, path: "group", message: 'a document needs "group": the node group its resources are for' });
  const take = (list: unknown, typeUrl: string | undefined, path: string) => {
    if (list === undefined) return;
    if (!Array.isArray(list)) {
      problems.push({ ...where, path, message: "must be a list" });
      return;
    }
    list.forEach((raw, i) => {
      const parsed = parseResource(raw, typeUrl, where);
      if ("json" in parsed) resources.push(parsed);
      else problems.push({ ...parsed, path: parsed.path ? `${path}[${i}].${parsed.path}` : `${path}[${i}]` });
    });
  };
  take(d.resources, undefined, "resources");
  for (const [key, url] of Object.entries(COLLECTIONS)) take(d[key], url, key);
  if (d.static_resources !== undefined) {
    const s = d.static_resources as Record<string, unknown>;
    for (const key of ["listeners", "clusters", "secrets"]) take(s?.[key], COLLECTIONS[key], `static_resources.${key}`);
  }
  return { ...(group === undefined ? {} : { group }), resources, problems };
}

/** Adds resources to a group, reporting a name given twice. */
export function addResources(
  into: GroupResources,
  resources: readonly ParsedResource[],
  where: ConfigProblem,
  problems: ConfigProblem[],
): void {
  for (const r of resources) {
    let byName = into.get(r.typeUrl);
    if (!byName) {
      byName = new Map();
      into.set(r.typeUrl, byName);
    }
    if (byName.has(r.name)) problems.push({ ...where, typeUrl: r.typeUrl, resource: r.name, message: "defined twice in the same group" });
    byName.set(r.name, r);
  }
}
