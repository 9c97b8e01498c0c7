// The mesh model: plain objects, shaped like Kubernetes resources
// (`kind`, `metadata`, `spec`) so that they read as YAML the way mesh users
// already write it. Routes follow the Gateway API (HTTPRoute, GRPCRoute) used
// GAMMA-style: a route's parent is the Service it governs, for every caller.
// The policies cover what the Gateway API leaves out. docs/mesh.md is the
// reference; validateMeshModel() checks everything said here.

/** Name and namespace of a model object. `namespace` defaults to `"default"`. */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
}

/** A reference from one model object to another (a route's parent, a policy's target). */
export interface ObjectRef {
  /** `"Service"` (the default), or for policies also `"HTTPRoute"` / `"GRPCRoute"`. */
  readonly kind?: "Service" | "HTTPRoute" | "GRPCRoute";
  readonly name: string;
  /** Defaults to the referring object's namespace. */
  readonly namespace?: string;
  /** A Service port; unset = every port of the Service. */
  readonly port?: number;
}

// ---------------------------------------------------------------- Service

/** One port of a Service. */
export interface ServicePort {
  /** Optional name, unique within the Service. */
  readonly name?: string;
  /** The port callers use (1-65535). */
  readonly port: number;
  /** The port the application listens on behind its sidecar. Default: `port`. */
  readonly targetPort?: number;
  /** `"HTTP"` (HTTP/1.1 and HTTP/2), `"GRPC"` (HTTP/2 upstream). Default `"HTTP"`. */
  readonly protocol?: "HTTP" | "GRPC";
}

/** A version of a Service: the instances whose labels include all of `labels`. */
export interface ServiceVersion {
  /** e.g. `"v2"`; names the subset in backendRefs and cluster names. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A service of the mesh; its instances come from a ServiceRegistry. */
export interface Service {
  readonly kind: "Service";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly ports: readonly ServicePort[];
    /** Versions (subsets) by labels. None: one unversioned backend. */
    readonly versions?: readonly ServiceVersion[];
    /** The service account its instances run as (its SPIFFE identity). Default: the Service's name. */
    readonly serviceAccount?: string;
  };
}

// ---------------------------------------------------------------- Routes

/** Where a rule sends traffic: a Service (optionally one version) with a weight. */
export interface BackendRef {
  readonly name: string;
  readonly namespace?: string;
  /** Port of the backend Service. Default: the parent's port. */
  readonly port?: number;
  /** A version of the backend Service; unset = all its instances. */
  readonly version?: string;
  /** Relative weight, a non-negative integer. Default 1. */
  readonly weight?: number;
}

/** A header to match (Gateway API HTTPHeaderMatch). */
export interface HeaderMatch {
  readonly name: string;
  readonly value: string;
  /** Default `"Exact"`. */
  readonly type?: "Exact" | "RegularExpression";
}

/** One header to set or add. */
export interface HeaderValue {
  readonly name: string;
  readonly value: string;
}

/** Gateway API HTTPHeaderFilter. */
export interface HeaderModifier {
  /** Replace the header (or add it when missing). */
  readonly set?: readonly HeaderValue[];
  /** Append a value. */
  readonly add?: readonly HeaderValue[];
  /** Remove headers by name. */
  readonly remove?: readonly string[];
}

/** The path modification of a redirect or rewrite. */
export interface PathModifier {
  readonly type: "ReplaceFullPath" | "ReplacePrefixMatch";
  readonly replaceFullPath?: string;
  readonly replacePrefixMatch?: string;
}

/** A filter of a route rule (Gateway API HTTPRouteFilter). */
export interface RouteFilter {
  readonly type: "RequestHeaderModifier" | "ResponseHeaderModifier" | "RequestRedirect" | "URLRewrite" | "RequestMirror";
  readonly requestHeaderModifier?: HeaderModifier;
  readonly responseHeaderModifier?: HeaderModifier;
  readonly requestRedirect?: {
    readonly scheme?: "http" | "https";
    readonly hostname?: string;
    readonly port?: number;
    readonly path?: PathModifier;
    /** Default 302. */
    readonly statusCode?: 301 | 302 | 303 | 307 | 308;
  };
  readonly urlRewrite?: { readonly hostname?: string; readonly path?: PathModifier };
  readonly requestMirror?: { readonly backendRef: BackendRef; readonly percent?: number };
}

/** Gateway API HTTPRouteTimeouts. Durations as `"1.5s"`, `"250ms"`, `"1m"`. */
export interface RouteTimeouts {
  /** The whole request, retries included. */
  readonly request?: string;
  /** Each try. */
  readonly backendRequest?: string;
}

/** Retries of a rule (Gateway API GEP-1731, plus gRPC status names). */
export interface RouteRetry {
  /** Retries after the first try. */
  readonly attempts: number;
  /** HTTP status codes that are retried (e.g. 503). */
  readonly codes?: readonly number[];
  /** gRPC statuses that are retried, by name: `"unavailable"`, `"cancelled"`, `"deadline-exceeded"`, `"internal"`, `"resource-exhausted"`. */
  readonly grpcStatuses?: readonly string[];
  /** Base back-off between tries. */
  readonly backoff?: string;
}

/** One HTTPRoute match: all its conditions hold. */
export interface HTTPRouteMatch {
  /** Default `{ type: "PathPrefix", value: "/" }`. */
  readonly path?: { readonly type?: "Exact" | "PathPrefix" | "RegularExpression"; readonly value: string };
  readonly headers?: readonly HeaderMatch[];
  readonly queryParams?: readonly HeaderMatch[];
  readonly method?: string;
}

/** One HTTPRoute rule. */
export interface HTTPRouteRule {
  /** Any one match selects the rule. None: every request. */
  readonly matches?: readonly HTTPRouteMatch[];
  readonly filters?: readonly RouteFilter[];
  /** Where to send it (not needed with a RequestRedirect filter). */
  readonly backendRefs?: readonly BackendRef[];
  readonly timeouts?: RouteTimeouts;
  readonly retry?: RouteRetry;
}

/** Gateway API HTTPRoute, GAMMA-style: `parentRefs` are Services. */
export interface HTTPRoute {
  readonly kind: "HTTPRoute";
  readonly metadata: ObjectMeta;
  readonly spec: { readonly parentRefs: readonly ObjectRef[]; readonly rules: readonly HTTPRouteRule[] };
}

/** One GRPCRoute match. */
export interface GRPCRouteMatch {
  /** Unset fields match any. */
  readonly method?: { readonly service?: string; readonly method?: string };
  readonly headers?: readonly HeaderMatch[];
}

/** One GRPCRoute rule. */
export interface GRPCRouteRule {
  readonly matches?: readonly GRPCRouteMatch[];
  /** Header modifiers and mirrors (redirects and rewrites do not apply to gRPC). */
  readonly filters?: readonly RouteFilter[];
  readonly backendRefs?: readonly BackendRef[];
  readonly timeouts?: RouteTimeouts;
  readonly retry?: RouteRetry;
}

/** Gateway API GRPCRoute, GAMMA-style. */
export interface GRPCRoute {
  readonly kind: "GRPCRoute";
  readonly metadata: ObjectMeta;
  readonly spec: { readonly parentRefs: readonly ObjectRef[]; readonly rules: readonly GRPCRouteRule[] };
}

// ---------------------------------------------------------------- Policies

/** Connection limits, outlier detection and load balancing for calls to a Service (or one version). */
export interface TrafficPolicy {
  readonly kind: "TrafficPolicy";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly targetRef: ObjectRef & { readonly version?: string };
    readonly connectionPool?: {
      readonly maxConnections?: number;
      readonly maxPendingRequests?: number;
      readonly maxRequests?: number;
      readonly maxRetries?: number;
    };
    readonly outlierDetection?: {
      /** Consecutive 5xx (gRPC: UNAVAILABLE and friends) before ejection. Default 5. */
      readonly consecutiveErrors?: number;
      /** Default `"10s"`. */
      readonly interval?: string;
      /** Default `"30s"`. */
      readonly baseEjectionTime?: string;
      /** Default 10. */
      readonly maxEjectionPercent?: number;
      /** Eject on a failure percentage (the kind proxyless gRPC implements). */
      readonly failurePercentageThreshold?: number;
    };
    readonly loadBalancer?: {
      /** Default `"ROUND_ROBIN"`. */
      readonly policy?: "ROUND_ROBIN" | "LEAST_REQUEST" | "RING_HASH" | "RANDOM" | "MAGLEV";
      /** For RING_HASH and MAGLEV: the request header whose value picks the host. */
      readonly hashHeader?: string;
      /** Localities in order of preference (`region` or `region/zone`); the rest come last. */
      readonly localityFailover?: readonly string[];
    };
  };
}

/** Injected delays and aborts, for a route or a whole Service. */
export interface FaultInjection {
  readonly kind: "FaultInjection";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly targetRef: ObjectRef;
    readonly delay?: { readonly fixedDelay: string; readonly percent: number };
    /** One of `httpStatus` or `grpcStatus` (a code number). */
    readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: number; readonly percent: number };
  };
}

/** A token bucket on a Service's inbound side (its sidecar), per instance. */
export interface LocalRateLimit {
  readonly kind: "LocalRateLimit";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly targetRef: ObjectRef;
    /** Bucket size. */
    readonly maxTokens: number;
    /** Tokens added per fill. Default 1. */
    readonly tokensPerFill?: number;
    /** Default `"1s"`. */
    readonly fillInterval?: string;
  };
}

/** How a Service (or a whole namespace) takes connections: mutual TLS or plain text. */
export interface MTLSPolicy {
  readonly kind: "MTLSPolicy";
  readonly metadata: ObjectMeta;
  readonly spec: {
    /** A Service; unset = every Service of the policy's namespace. */
    readonly targetRef?: ObjectRef;
    /** `STRICT`: mTLS only. `PERMISSIVE`: both (callers still use mTLS). `DISABLE`: plain text. */
    readonly mode: "STRICT" | "PERMISSIVE" | "DISABLE";
  };
}

/** Who may call: a service identity or a whole namespace. */
export interface AuthorizationSource {
  /** `namespace/serviceAccount`, or a full `spiffe://` id. */
  readonly serviceAccount?: string;
  readonly namespace?: string;
}

/** What may be called. */
export interface AuthorizationTarget {
  /** Exact paths, or prefixes ending in `*` (`/orders.Orders/*`). */
  readonly paths?: readonly string[];
  readonly methods?: readonly string[];
}

/** Which service identities may call which routes of a Service (enforced by its inbound side). */
export interface AuthorizationPolicy {
  readonly kind: "AuthorizationPolicy";
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly targetRef: ObjectRef;
    /** Default `"ALLOW"`: only matching calls pass. `"DENY"`: matching calls are refused. */
    readonly action?: "ALLOW" | "DENY";
    readonly rules: readonly { readonly from?: readonly AuthorizationSource[]; readonly to?: readonly AuthorizationTarget[] }[];
  };
}

/** Any object of the model. */
export type MeshObject =
  | Service
  | HTTPRoute
  | GRPCRoute
  | TrafficPolicy
  | FaultInjection
  | LocalRateLimit
  | MTLSPolicy
  | AuthorizationPolicy;

/** The kinds of {@link MeshObject}. */
export type MeshKind = MeshObject["kind"];

/** Every kind, in the order the docs present them. */
export const MESH_KINDS: readonly MeshKind[] = Object.freeze([
  "Service",
  "HTTPRoute",
  "GRPCRoute",
  "TrafficPolicy",
  "FaultInjection",
  "LocalRateLimit",
  "MTLSPolicy",
  "AuthorizationPolicy",
]);

/** A whole mesh: its objects, and the SPIFFE trust domain of its identities. */
export interface MeshModel {
  /** Default `"cluster.local"`. */
  readonly trustDomain?: string;
  readonly objects: readonly MeshObject[];
}

/** `Kind namespace/name`, how errors and explain() name an object. */
export function objectKey(object: { readonly kind: string; readonly metadata: ObjectMeta }): string {
  return `${object.kind} ${object.metadata.namespace ?? "default"}/${object.metadata.name}`;
}
