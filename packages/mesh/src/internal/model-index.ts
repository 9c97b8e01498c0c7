// A validated model, indexed for the compiler: Services by key, routes by
// parent Service, policies by target, each object's content fingerprint.
import type {
  AuthorizationPolicy,
  FaultInjection,
  GRPCRoute,
  HTTPRoute,
  LocalRateLimit,
  MeshModel,
  MeshObject,
  MTLSPolicy,
  Service,
  ServicePort,
  TrafficPolicy,
} from "../model.js";
import { objectKey } from "../model.js";

export const nsOf = (o: { readonly metadata: { readonly namespace?: string } }): string => o.metadata.namespace ?? "default";

/** `outbound|<port>|<version>|<name>.<namespace>`: a Service port's cluster (and EDS name), one per version ("" = all instances). */
export function clusterName(service: Service, port: number, version = ""): string {
  return `outbound|${port}|${version}|${service.metadata.name}.${nsOf(service)}`;
}

/** The host names callers use for a Service: `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local`. */
export function hostNames(service: Service): string[] {
  const n = service.metadata.name;
  const ns = nsOf(service);
  return [n, `${n}.${ns}`, `${n}.${ns}.svc`, `${n}.${ns}.svc.cluster.local`];
}

export type Route = HTTPRoute | GRPCRoute;

export class ModelIndex {
  readonly trustDomain: string;
  readonly services = new Map<string, Service>();
  readonly routes: Route[] = [];
  readonly trafficPolicies: TrafficPolicy[] = [];
  readonly faults: FaultInjection[] = [];
  readonly rateLimits: LocalRateLimit[] = [];
  readonly mtls: MTLSPolicy[] = [];
  readonly authz: AuthorizationPolicy[] = [];
  readonly #fingerprints = new Map<string, string>();

  constructor(model: MeshModel) {
    this.trustDomain = model.trustDomain ?? "cluster.local";
    const sorted = [...model.objects].sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : objectKey(a) > objectKey(b) ? 1 : 0));
    for (const o of sorted) {
      this.#fingerprints.set(objectKey(o), JSON.stringify(o));
      this.#add(o);
    }
  }

  #add(o: MeshObject): void {
    switch (o.kind) {
      case "Service":
        this.services.set(`${nsOf(o)}/${o.metadata.name}`, o);
        return;
      case "HTTPRoute":
      case "GRPCRoute":
        this.routes.push(o);
        return;
      case "TrafficPolicy":
        this.trafficPolicies.push(o);
        return;
      case "FaultInjection":
        this.faults.push(o);
        return;
      case "LocalRateLimit":
        this.rateLimits.push(o);
        return;
      case "MTLSPolicy":
        this.mtls.push(o);
        return;
      case "AuthorizationPolicy":
        this.authz.push(o);
        return;
    }
  }

  /** The content of an object as last seen, for cache keys. */
  fingerprint(key: string): string {
    return this.#fingerprints.get(key) ?? "";
  }

  service(name: string, namespace: string): Service | undefined {
    return this.services.get(`${namespace}/${name}`);
  }

  /** Routes whose parentRefs include this Service port (or the whole Service). */
  routesFor(service: Service, port: ServicePort): Route[] {
    return this.routes.filter((r) =>
      r.spec.parentRefs.some(
        (p) =>
          p.name === service.metadata.name && (p.namespace ?? nsOf(r)) === nsOf(service) && (p.port === undefined || p.port === port.port),
      ),
    );
  }

  /** Policies whose targetRef is this Service (any version, any port unless given). */
  #targets(
    policy: {
      readonly metadata: { readonly namespace?: string };
      readonly spec: { readonly targetRef?: { readonly kind?: string; readonly name: string; readonly namespace?: string } };
    },
    service: Service,
  ): boolean {
    const t = policy.spec.targetRef;
    return (
      t !== undefined &&
      (t.kind ?? "Service") === "Service" &&
      t.name === service.metadata.name &&
      (t.namespace ?? nsOf(policy)) === nsOf(service)
    );
  }

  /** The TrafficPolicies of a Service version: the Service-wide one, then the version's (which wins field by field). */
  trafficPoliciesFor(service: Service, port: number, version: string): TrafficPolicy[] {
    const mine = this.trafficPolicies.filter(
      (p) => this.#targets(p, service) && (p.spec.targetRef.port === undefined || p.spec.targetRef.port === port),
    );
    return [
      ...mine.filter((p) => p.spec.targetRef.version === undefined),
      ...mine.filter((p) => version !== "" && p.spec.targetRef.version === version),
    ];
  }

  faultsForService(service: Service, port: number): FaultInjection[] {
    return this.faults.filter((f) => this.#targets(f, service) && (f.spec.targetRef.port === undefined || f.spec.targetRef.port === port));
  }

  faultsForRoute(route: Route): FaultInjection[] {
    return this.faults.filter(
      (f) =>
        f.spec.targetRef.kind === route.kind &&
        f.spec.targetRef.name === route.metadata.name &&
        (f.spec.targetRef.namespace ?? nsOf(f)) === nsOf(route),
    );
  }

  rateLimitsFor(service: Service, port: number): LocalRateLimit[] {
    return this.rateLimits.filter(
      (r) => this.#targets(r, service) && (r.spec.targetRef.port === undefined || r.spec.targetRef.port === port),
    );
  }

  authzFor(service: Service): AuthorizationPolicy[] {
    return this.authz.filter((a) => this.#targets(a, service));
  }

  /** The MTLSPolicy in force for a Service: its own, else its namespace's; `undefined` = none (plain text). */
  mtlsFor(service: Service): MTLSPolicy | undefined {
    return (
      this.mtls.find((m) => this.#targets(m, service)) ?? this.mtls.find((m) => m.spec.targetRef === undefined && nsOf(m) === nsOf(service))
    );
  }

  serviceAccount(service: Service): string {
    return service.spec.serviceAccount ?? service.metadata.name;
  }

  /** `spiffe://<trustDomain>/ns/<ns>/sa/<sa>`. */
  spiffeId(namespace: string, serviceAccount: string): string {
    return `spiffe://${this.trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
  }
}
