import { checkSpec } from "./internal/check-spec.js";
import { Checker, isObject, shown } from "./internal/checks.js";
import { MeshModelError } from "./mesh-error.js";
import { MESH_KINDS, type MeshModel, type MeshObject, type Service } from "./model.js";

/**
 * Checks a mesh model and returns every problem, as {@link MeshModelError}s
 * (empty when the model is fine). Never throws.
 *
 * Each error names the object (`Kind namespace/name`) and the field path in
 * it, and says what was expected and what was there. Besides the shape of each
 * object it checks the references between them: a route's parent Services and
 * ports, its backends and their versions, a policy's target, a Service or
 * route named twice, a rule whose weights are all zero.
 *
 * @example
 * validateMeshModel(model).map((e) => e.message);
 * // ["HTTPRoute shop/web-to-orders: spec.rules[0].backendRefs[1].weight: expected a non-negative integer from 0 to 1000000; got -1"]
 */
export function validateMeshModel(model: MeshModel): MeshModelError[] {
  const errors: MeshModelError[] = [];
  const mesh = (path: string, message: string) => errors.push(new MeshModelError("Mesh", "-", "model", path, message));
  if (!isObject(model)) {
    mesh("", `expected a mesh model { trustDomain?, objects }; got ${shown(model)}`);
    return errors;
  }
  if (model.trustDomain !== undefined && !(typeof model.trustDomain === "string" && /^[a-z0-9.-]+$/.test(model.trustDomain))) {
    mesh("trustDomain", `expected a trust domain of lowercase letters, digits, '.' and '-'; got ${shown(model.trustDomain)}`);
  }
  if (!Array.isArray(model.objects)) {
    mesh("objects", `expected a list of mesh objects; got ${shown(model.objects)}`);
    return errors;
  }
  const seen = new Set<string>();
  const good: MeshObject[] = [];
  model.objects.forEach((object: unknown, index) => {
    const before = errors.length;
    const o = isObject(object) ? object : {};
    const meta = isObject(o.metadata) ? o.metadata : {};
    const kind = typeof o.kind === "string" ? o.kind : "Object";
    const name = typeof meta.name === "string" ? meta.name : `#${index}`;
    const namespace = typeof meta.namespace === "string" ? meta.namespace : "default";
    const c = new Checker((path, expected, got) =>
      errors.push(new MeshModelError(kind, namespace, name, path, `expected ${expected}; got ${shown(got)}`)),
    );
    if (!c.object("", object, true)) return;
    if (!c.oneOf("kind", o.kind, MESH_KINDS, true)) return;
    c.known("", o, ["kind", "metadata", "spec", "apiVersion"]);
    if (c.object("metadata", o.metadata, true)) {
      c.known("metadata", meta, ["name", "namespace", "labels", "annotations"]);
      c.name("metadata.name", meta.name);
      c.name("metadata.namespace", meta.namespace, false);
    }
    const key = `${kind} ${namespace}/${name}`;
    if (seen.has(key)) c.report("metadata.name", "a name not used by another object of this kind and namespace", name);
    seen.add(key);
    if (c.object("spec", o.spec, true)) checkSpec(c, kind, o.spec as Record<string, unknown>);
    if (errors.length === before) good.push(object as unknown as MeshObject);
  });
  checkReferences(good, seen, errors);
  return errors;
}

function nsOf(o: MeshObject): string {
  return o.metadata.namespace ?? "default";
}

/** References between well-formed objects: targets exist, ports and versions are declared. */
function checkReferences(objects: readonly MeshObject[], declared: ReadonlySet<string>, errors: MeshModelError[]): void {
  // `declared` holds every object, well-formed or not, so that a bad route
  // does not also make each policy naming it fail.
  const services = new Map<string, Service>();
  for (const o of objects) if (o.kind === "Service") services.set(`${nsOf(o)}/${o.metadata.name}`, o);
  for (const o of objects) {
    const ns = nsOf(o);
    const err = (path: string, message: string) => errors.push(new MeshModelError(o.kind, ns, o.metadata.name, path, message));
    const service = (path: string, name: string, namespace: string | undefined, port?: number, version?: string) => {
      const key = `${namespace ?? ns}/${name}`;
      const s = services.get(key);
      if (!s && declared.has(`Service ${key}`)) return;
      if (!s) return err(`${path}.name`, `expected a Service of the model; there is no Service ${key}`);
      if (port !== undefined && !s.spec.ports.some((p) => p.port === port)) {
        err(`${path}.port`, `expected a port of Service ${key} (${s.spec.ports.map((p) => p.port).join(", ")}); got ${port}`);
      }
      if (version !== undefined && !(s.spec.versions ?? []).some((v) => v.name === version)) {
        const known = (s.spec.versions ?? []).map((v) => JSON.stringify(v.name)).join(", ") || "none";
        err(`${path}.version`, `expected a version of Service ${key} (${known}); got ${JSON.stringify(version)}`);
      }
    };
    if (o.kind === "HTTPRoute" || o.kind === "GRPCRoute") {
      o.spec.parentRefs.forEach((p, i) => {
        service(`spec.parentRefs[${i}]`, p.name, p.namespace, p.port);
      });
      o.spec.rules.forEach((rule, i) => {
        const refs = rule.backendRefs ?? [];
        const redirect = (rule.filters ?? []).some((f) => f.type === "RequestRedirect");
        if (refs.length === 0 && !redirect)
          err(`spec.rules[${i}].backendRefs`, "expected at least one backend (or a RequestRedirect filter); got none");
        if (refs.length > 0 && refs.every((b) => (b.weight ?? 1) === 0))
          err(`spec.rules[${i}].backendRefs`, "expected a backend with a weight above 0; all are 0");
        refs.forEach((b, j) => {
          service(`spec.rules[${i}].backendRefs[${j}]`, b.name, b.namespace, b.port, b.version);
        });
        (rule.filters ?? []).forEach((f, j) => {
          const m = f.requestMirror?.backendRef;
          if (m) service(`spec.rules[${i}].filters[${j}].requestMirror.backendRef`, m.name, m.namespace, m.port, m.version);
        });
      });
    } else if (o.kind !== "Service") {
      const t = o.spec.targetRef;
      if (t === undefined) continue;
      if (t.kind === "HTTPRoute" || t.kind === "GRPCRoute") {
        const key = `${t.kind} ${t.namespace ?? ns}/${t.name}`;
        if (!declared.has(key)) err("spec.targetRef.name", `expected a route of the model; there is no ${key}`);
      } else {
        service("spec.targetRef", t.name, t.namespace, t.port, (t as { version?: string }).version);
      }
    }
  }
}
