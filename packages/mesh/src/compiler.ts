import { createHash } from "node:crypto";
import { ErrorCode, optionError, typeNameOf, XdskitError } from "@xdskit/envoy-api";
import { type DataSourceInput, formatViolation, validate } from "@xdskit/resources";
import type { CompileContext, CompileSettings, WorkloadIdentity } from "./internal/context.js";
import { ModelIndex, nsOf } from "./internal/model-index.js";
import type { Planned } from "./internal/plan.js";
import { planProxyless } from "./internal/proxyless.js";
import { planSidecar } from "./internal/sidecar.js";
import { MeshModelError, MeshModelErrors } from "./mesh-error.js";
import type { MeshModel, Service } from "./model.js";
import type { ServiceInstance, ServiceKey, ServiceRegistry } from "./registry.js";
import { validateMeshModel } from "./validate-model.js";

export type { WorkloadIdentity };

/** Options of {@link MeshCompiler}. */
export interface MeshCompilerOptions {
  /** Where instances come from. Default: none (every Service has no endpoints). */
  readonly registry?: ServiceRegistry;
  /** Address and port of the sidecar's outbound listener (apps send their calls there, routed by Host). Default `"127.0.0.1"`, 15001. */
  readonly outboundAddress?: string;
  readonly outboundPort?: number;
  /** Address the sidecar's inbound listeners bind (one per Service port). Default `"0.0.0.0"`. */
  readonly inboundAddress?: string;
  /** Where the sidecar finds its app (on each port's `targetPort`). Default `"127.0.0.1"`. */
  readonly appAddress?: string;
  /** Upstream connect timeout of every cluster. Default `"5s"`. */
  readonly connectTimeout?: string;
  /** SDS name of the trust bundle (the mesh CA) used to verify peers. Default `"mesh-trust-bundle"`. */
  readonly trustBundleSecret?: string;
  /** SDS name of a sidecar's own certificate (each group's secret of that name holds its identity's). Default `"workload-certificate"`. */
  readonly certificateSecret?: string;
  /**
   * Proxyless gRPC: the certificate provider instance (in the clients' and servers' bootstraps,
   * `certificate_providers`) that holds the workload certificate and the mesh CA; gRPC takes
   * no certificates by SDS (gRFC A29). Default `"mesh"`.
   */
  readonly grpcCertificateProvider?: string;
  /** The mesh CA (PEM). When set with `certificates`, the compiler also emits the SDS secrets; unset, they come from elsewhere (e.g. SPIRE). */
  readonly trustBundle?: DataSourceInput;
  /** Certificate and key of a workload identity (its certificate must carry the SPIFFE id as a URI SAN). */
  readonly certificates?: (identity: WorkloadIdentity) => {
    readonly certificateChain: DataSourceInput;
    readonly privateKey: DataSourceInput;
  };
}

/** The defaults of {@link MeshCompilerOptions}. */
export const MESH_COMPILER_DEFAULTS = Object.freeze({
  outboundAddress: "127.0.0.1",
  outboundPort: 15001,
  inboundAddress: "0.0.0.0",
  appAddress: "127.0.0.1",
  connectTimeout: "5s",
  trustBundleSecret: "mesh-trust-bundle",
  certificateSecret: "workload-certificate",
  grpcCertificateProvider: "mesh",
});

/** The resources of one node group, by type URL: what `SnapshotCache.setSnapshot` takes as `resources`. */
export type MeshResources = Record<string, object[]>;

/** Which model objects (and registry entries) produced one resource. */
export interface ResourceExplanation {
  readonly typeUrl: string;
  readonly name: string;
  /** `Kind namespace/name` of each object; `ServiceInstances namespace/name` for registry data. */
  readonly sources: readonly string[];
}

/** The node group of the Envoy sidecars of a Service. */
export const sidecarGroup = (service: ServiceKey): string => `sidecar~${service.namespace}/${service.name}`;
/** The node group of the proxyless gRPC clients run by a Service. */
export const grpcGroup = (service: ServiceKey): string => `grpc~${service.namespace}/${service.name}`;

interface Entry {
  readonly resource: unknown;
  used: number;
}

/**
 * Compiles a mesh model and a registry into the resources of each node group:
 * `sidecar~<ns>/<name>` (the Envoy sidecars of a Service: outbound listener,
 * routes, clusters, endpoints; inbound listeners with RBAC, rate limits and
 * mTLS; SDS secrets when given certificates) and `grpc~<ns>/<name>` (proxyless
 * gRPC clients: api listeners, routes by RDS, EDS clusters, endpoints).
 *
 * Every resource is validated with the profile of its client (`envoy` or
 * `grpc`); a problem is reported as a MeshModelError naming the model objects
 * it came from. Incremental: each resource is cached under the content of the
 * model objects (and instances) it comes from, so a change to one Service
 * rebuilds only the resources that depend on it (`stats` counts them), and
 * registry churn rebuilds only endpoints.
 *
 * @example
 * const compiler = new MeshCompiler({ registry });
 * compiler.update(loadMeshModel(yaml));
 * for (const group of compiler.groups()) cache.setSnapshot(group, { version: "1", resources: compiler.compile(group) });
 */
export class MeshCompiler {
  readonly #settings: CompileSettings;
  readonly #registry: ServiceRegistry | undefined;
  readonly #memo = new Map<string, Entry>();
  readonly #digests = new Map<string, string>();
  /** Plans shared by groups, and what each shared planned resource resolved to; both cleared on change. */
  readonly #shared = new Map<string, unknown>();
  #resolved = new WeakMap<Planned, unknown>();
  readonly #listeners = new Set<(groups: readonly string[]) => void>();
  readonly #unsubscribe: (() => void) | undefined;
  #index: ModelIndex | undefined;
  #generation = 0;
  #built = 0;
  #reused = 0;

  constructor(options: MeshCompilerOptions = {}) {
    const str = (name: keyof typeof MESH_COMPILER_DEFAULTS) => {
      const v = options[name] ?? MESH_COMPILER_DEFAULTS[name];
      if (typeof v !== "string" || v === "") throw optionError("MeshCompiler", name, "a non-empty string", v);
      return v;
    };
    const port = options.outboundPort ?? MESH_COMPILER_DEFAULTS.outboundPort;
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw optionError("MeshCompiler", "outboundPort", "a port from 1 to 65535", port);
    if (options.certificates !== undefined && typeof options.certificates !== "function") {
      throw optionError("MeshCompiler", "certificates", "a function", options.certificates);
    }
    this.#settings = {
      outboundAddress: str("outboundAddress"),
      outboundPort: port,
      inboundAddress: str("inboundAddress"),
      appAddress: str("appAddress"),
      connectTimeout: str("connectTimeout"),
      trustBundleSecret: str("trustBundleSecret"),
      certificateSecret: str("certificateSecret"),
      grpcCertificateProvider: str("grpcCertificateProvider"),
      ...(options.trustBundle ? { trustBundle: options.trustBundle } : {}),
      ...(options.certificates ? { certificates: options.certificates } : {}),
    };
    this.#registry = options.registry;
    this.#unsubscribe = options.registry?.subscribe(() => {
      this.#forget();
      this.#notify(this.groups());
    });
  }

  /**
   * Takes a new model. Validates it first: on any problem throws
   * MeshModelErrors and keeps the last good model.
   */
  update(model: MeshModel): void {
    const errors = validateMeshModel(model);
    if (errors.length > 0) throw new MeshModelErrors(errors);
    this.#index = new ModelIndex(model);
    this.#forget();
    this.#generation += 1;
    for (const [key, entry] of this.#memo) if (entry.used < this.#generation - 1) this.#memo.delete(key);
    this.#notify(this.groups());
  }

  /** Every node group of the current model: a sidecar and a gRPC group per Service. */
  groups(): string[] {
    const services = [...(this.#index?.services.values() ?? [])].map((s) => ({ namespace: nsOf(s), name: s.metadata.name }));
    return [...services.map(sidecarGroup), ...services.map(grpcGroup)];
  }

  /** Calls `listener` with the groups whose resources may have changed (model update, registry churn); returns the unsubscribe. A throwing listener is ignored. */
  onChange(listener: (groups: readonly string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Resources built and reused from the cache since the compiler was made. */
  get stats(): { readonly built: number; readonly reused: number; readonly cached: number } {
    return { built: this.#built, reused: this.#reused, cached: this.#memo.size };
  }

  /**
   * The resources of one node group, by type URL.
   * @throws XdskitError `XDSKIT_API_MISUSE` before update() or for an unknown group;
   *   MeshModelErrors when a generated resource fails its client's validation (naming the model objects).
   */
  compile(group: string): MeshResources {
    const out: MeshResources = {};
    const errors: MeshModelError[] = [];
    const profile = group.startsWith("grpc~") ? "grpc" : "envoy";
    for (const p of this.#plan(group)) {
      const { resource, problems } = this.#build(p, profile);
      errors.push(...problems);
      const list = out[p.typeUrl] ?? [];
      list.push(resource as object);
      out[p.typeUrl] = list;
    }
    if (errors.length > 0) throw new MeshModelErrors(errors);
    return out;
  }

  /** For each resource of a group, the model objects it comes from. */
  explain(group: string): ResourceExplanation[] {
    return this.#plan(group).map((p) => ({ typeUrl: p.typeUrl, name: p.name, sources: p.sources }));
  }

  /** Stops listening to the registry. */
  dispose(): void {
    this.#unsubscribe?.();
    this.#listeners.clear();
  }

  #plan(group: string): Planned[] {
    const index = this.#index;
    if (!index) throw new XdskitError(ErrorCode.API_MISUSE, "MeshCompiler: call update(model) before compiling");
    const m = /^(sidecar|grpc)~([^/]+)\/(.+)$/.exec(group);
    const service = m ? index.service(m[3] as string, m[2] as string) : undefined;
    if (!m || !service) {
      throw new XdskitError(
        ErrorCode.API_MISUSE,
        `MeshCompiler: no node group "${group}"; groups are ${this.groups().join(", ") || "(none)"}`,
      );
    }
    const ctx: CompileContext = {
      index,
      settings: this.#settings,
      instances: (s) => this.#instances(s),
      shared: <T>(key: string, make: () => T): T => {
        if (!this.#shared.has(key)) this.#shared.set(key, make());
        return this.#shared.get(key) as T;
      },
    };
    return m[1] === "sidecar" ? planSidecar(ctx, service) : planProxyless(ctx, service);
  }

  #instances(s: Service): readonly ServiceInstance[] {
    try {
      return this.#registry?.instances({ namespace: nsOf(s), name: s.metadata.name }) ?? [];
    } catch {
      return [];
    }
  }

  /** Drops what is valid only for the current model and registry state. */
  #forget(): void {
    this.#digests.clear();
    this.#shared.clear();
    this.#resolved = new WeakMap();
  }

  #build(p: Planned, profile: "envoy" | "grpc"): { resource: unknown; problems: MeshModelError[] } {
    if (this.#resolved.has(p)) {
      this.#reused += 1;
      return { resource: this.#resolved.get(p), problems: [] };
    }
    const index = this.#index as ModelIndex;
    // The sources' content, digested once per list of sources until the model or the registry changes
    // (groups plan the same resources again and again; hashing their content each time was most of a recompile).
    const sourcesKey = p.sources.join(",");
    let digest = this.#digests.get(sourcesKey);
    if (digest === undefined) {
      const hash = createHash("sha256");
      for (const s of p.sources) {
        hash.update(
          s.startsWith("ServiceInstances ")
            ? JSON.stringify(this.#instances(index.services.get(s.slice(17)) as Service))
            : index.fingerprint(s),
        );
        hash.update("\u0000");
      }
      digest = hash.digest("base64");
      this.#digests.set(sourcesKey, digest);
    }
    const key = `${profile}|${p.typeUrl}|${p.name}|${p.params}|${sourcesKey}|${digest}`;
    const hit = this.#memo.get(key);
    if (hit) {
      hit.used = this.#generation;
      this.#reused += 1;
      this.#resolved.set(p, hit.resource);
      return { resource: hit.resource, problems: [] };
    }
    const resource = p.build();
    this.#built += 1;
    const violations = validate(p.typeUrl, resource, { profile });
    if (violations.length > 0) {
      const [kind, rest] = (p.sources.find((s) => !s.startsWith("ServiceInstances")) ?? "Mesh -/model").split(" ") as [string, string];
      const [ns, name] = rest.split("/") as [string, string];
      const problems = violations.map(
        (v) =>
          new MeshModelError(
            kind,
            ns,
            name,
            "",
            `generates an invalid ${typeNameOf(p.typeUrl)} "${p.name}" (from ${p.sources.join(", ")}): ${formatViolation(v)}`,
          ),
      );
      return { resource, problems };
    }
    this.#memo.set(key, { resource, used: this.#generation });
    this.#resolved.set(p, resource);
    return { resource, problems: [] };
  }

  #notify(groups: readonly string[]): void {
    for (const l of [...this.#listeners]) {
      try {
        l(groups);
      } catch {
        // A listener's failure must not stop the others.
      }
    }
  }
}
