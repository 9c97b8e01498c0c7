import { createRequire } from "node:module";
import type * as YamlModule from "yaml";
import { Checker, shown } from "./internal/checks.js";
import { MeshModelError, MeshModelErrors } from "./mesh-error.js";

/** Where an instance runs; endpoints are grouped by locality, and TrafficPolicy `localityFailover` orders them. */
export interface Locality {
  readonly region?: string;
  readonly zone?: string;
  readonly subZone?: string;
}

/** One running instance (endpoint) of a Service. */
export interface ServiceInstance {
  /** IP address or host name. */
  readonly address: string;
  /**
   * The port the instance serves on. Default: the Service port's `targetPort`
   * (or `port`). For a Service with several ports, `ports` maps a Service
   * port (as a string key) to the instance's port.
   */
  readonly port?: number;
  readonly ports?: Readonly<Record<string, number>>;
  /** Matched against a ServiceVersion's labels. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly locality?: Locality;
  /** Load-balancing weight (>= 1). Default 1. */
  readonly weight?: number;
  /** Default `"healthy"`. Unhealthy and draining instances are sent but not picked. */
  readonly health?: "healthy" | "unhealthy" | "draining" | "unknown";
}

/** A Service by namespace and name. */
export interface ServiceKey {
  readonly namespace: string;
  readonly name: string;
}

/**
 * Where a mesh's instances come from: a list per Service, and a way to hear
 * that one Service's instances changed. The compiler reads `instances()` when it
 * compiles, and a change recompiles only that Service's endpoints.
 *
 * Implement it over your own discovery (Consul, DNS, a database), or feed a
 * {@link StaticServiceRegistry} from your discovery's callbacks.
 */
export interface ServiceRegistry {
  /** The current instances of a Service (empty when unknown). */
  instances(service: ServiceKey): readonly ServiceInstance[];
  /**
   * Calls `listener` with each Service whose instances changed, until the
   * returned function is called. A listener that throws is the caller's bug; registries here
   * catch it so that other listeners still hear the change.
   */
  subscribe(listener: (service: ServiceKey) => void): () => void;
}

/** `namespace/name`. */
export function serviceKeyString(key: ServiceKey): string {
  return `${key.namespace}/${key.name}`;
}

function parseKey(text: string): ServiceKey {
  const slash = text.indexOf("/");
  return slash < 0 ? { namespace: "default", name: text } : { namespace: text.slice(0, slash), name: text.slice(slash + 1) };
}

/** Checks instances; problems name the Service as `ServiceInstances namespace/name` and the field. */
export function validateInstances(key: ServiceKey, instances: unknown): MeshModelError[] {
  const errors: MeshModelError[] = [];
  const c = new Checker((path, expected, got) =>
    errors.push(new MeshModelError("ServiceInstances", key.namespace, key.name, path, `expected ${expected}; got ${shown(got)}`)),
  );
  if (!c.list("", instances, true)) return errors;
  instances.forEach((i, n) => {
    const p = `[${n}]`;
    if (!c.object(p, i, true)) return;
    c.known(p, i, ["address", "port", "ports", "labels", "locality", "weight", "health"]);
    c.string(`${p}.address`, i.address, true);
    c.integer(`${p}.port`, i.port, 1, 65535);
    if (c.object(`${p}.ports`, i.ports)) {
      for (const [k, v] of Object.entries(i.ports as object)) c.integer(`${p}.ports.${k}`, v, 1, 65535, true);
    }
    if (c.object(`${p}.labels`, i.labels)) {
      for (const [k, v] of Object.entries(i.labels as object)) if (typeof v !== "string") c.report(`${p}.labels.${k}`, "a string", v);
    }
    if (c.object(`${p}.locality`, i.locality)) {
      const l = i.locality as Record<string, unknown>;
      c.known(`${p}.locality`, l, ["region", "zone", "subZone"]);
      for (const k of ["region", "zone", "subZone"]) c.string(`${p}.locality.${k}`, l[k]);
    }
    c.integer(`${p}.weight`, i.weight, 1, 128 * 1024);
    c.oneOf(`${p}.health`, i.health, ["healthy", "unhealthy", "draining", "unknown"]);
  });
  return errors;
}

/**
 * A registry you fill: from code, from a YAML file ({@link StaticServiceRegistry.fromYaml}),
 * or from your own discovery's callbacks (call `set` on each change).
 * @example
 * const registry = new StaticServiceRegistry({ "shop/orders": [{ address: "10.0.0.7", port: 50051, labels: { version: "v1" } }] });
 * registry.set({ namespace: "shop", name: "orders" }, []); // subscribers hear shop/orders
 */
export class StaticServiceRegistry implements ServiceRegistry {
  #instances = new Map<string, readonly ServiceInstance[]>();
  #listeners = new Set<(service: ServiceKey) => void>();

  /** `initial` maps `namespace/name` (or just `name`, in `default`) to instances. */
  constructor(initial: Readonly<Record<string, readonly ServiceInstance[]>> = {}) {
    const errors: MeshModelError[] = [];
    for (const [text, list] of Object.entries(initial)) {
      const key = parseKey(text);
      const problems = validateInstances(key, list);
      errors.push(...problems);
      if (problems.length === 0) this.#instances.set(serviceKeyString(key), Object.freeze([...list]));
    }
    if (errors.length > 0) throw new MeshModelErrors(errors);
  }

  /**
   * Reads a registry from YAML: a map from `namespace/name` to a list of instances.
   * @throws MeshModelErrors naming the Service and field of each bad instance.
   */
  static fromYaml(text: string): StaticServiceRegistry {
    return new StaticServiceRegistry(parseRegistryYaml(text));
  }

  instances(service: ServiceKey): readonly ServiceInstance[] {
    return this.#instances.get(serviceKeyString(service)) ?? [];
  }

  /** Replaces a Service's instances and tells subscribers (only when they differ). @throws MeshModelErrors for bad instances (nothing changes). */
  set(service: ServiceKey, instances: readonly ServiceInstance[]): void {
    const problems = validateInstances(service, instances);
    if (problems.length > 0) throw new MeshModelErrors(problems);
    const key = serviceKeyString(service);
    const before = this.#instances.get(key);
    if (before && JSON.stringify(before) === JSON.stringify(instances)) return;
    this.#instances.set(key, Object.freeze([...instances]));
    this.#notify({ namespace: service.namespace, name: service.name });
  }

  /** Replaces every Service's instances at once (e.g. after re-reading a file); subscribers hear each one that changed. */
  replaceAll(all: Readonly<Record<string, readonly ServiceInstance[]>>): void {
    const next = new StaticServiceRegistry(all);
    const keys = new Set([...this.#instances.keys(), ...next.#instances.keys()]);
    for (const key of keys) {
      const service = parseKey(key);
      const list = next.#instances.get(key) ?? [];
      if (JSON.stringify(this.#instances.get(key) ?? []) !== JSON.stringify(list)) {
        this.#instances.set(key, list);
        this.#notify(service);
      }
    }
  }

  subscribe(listener: (service: ServiceKey) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #notify(service: ServiceKey): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(service);
      } catch {
        // A listener's failure must not keep the others from hearing the change.
      }
    }
  }
}

/**
 * Parses registry YAML (`namespace/name: [instances]`).
 * @throws MeshModelErrors when the YAML does not parse or is not such a map.
 */
export function parseRegistryYaml(text: string): Record<string, ServiceInstance[]> {
  let value: unknown;
  try {
    value = loadYamlModule().parse(text);
  } catch (error) {
    throw new MeshModelErrors([new MeshModelError("Registry", "-", "yaml", "", `YAML does not parse: ${(error as Error).message}`)]);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new MeshModelErrors([
      new MeshModelError("Registry", "-", "yaml", "", `expected a map from "namespace/name" to a list of instances; got ${shown(value)}`),
    ]);
  }
  return value as Record<string, ServiceInstance[]>;
}

let yamlModule: typeof YamlModule | undefined;
function loadYamlModule(): typeof YamlModule {
  yamlModule ??= createRequire(import.meta.url)("yaml") as typeof YamlModule;
  return yamlModule;
}
