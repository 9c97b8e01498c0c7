import { type ErrorCode, TypeUrl, typeNameOf, XdskitError } from "@xdskit/envoy-api/core";

/**
 * Which rule set found a violation: `envoy` (protoc-gen-validate rules of the
 * Envoy API, what Envoy itself checks), `grpc` (the stricter rules of
 * proxyless gRPC xDS clients) or `snapshot` (names and cross-references
 * between resources).
 */
export type ViolationSource = "envoy" | "grpc" | "snapshot";

/**
 * One problem in one resource. Validation returns every violation, never
 * throws for bad input.
 *
 * @example
 * formatViolation(v);
 * // "clusters[web].load_assignment.endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value: must be <= 65535"
 */
export interface Violation {
  /** Type URL of the resource. */
  readonly typeUrl: string;
  /** Name of the resource, when known. */
  readonly name?: string;
  /**
   * Field path inside the resource: proto field names, `[i]` list indexes,
   * `[key]` map keys, Any-packed configs entered through their field name
   * (`filter_chains[0].filters[0].typed_config.http_filters[1]`); `""` for the
   * resource as a whole.
   */
  readonly path: string;
  /** `path` prefixed with the collection and resource name, e.g. `clusters[web].connect_timeout`. */
  readonly location: string;
  /** Rule id, e.g. `uint32.lte`, `message.required`, `grpc.route_action`, `reference.missing`. */
  readonly rule: string;
  /** What the value must be, e.g. `must be <= 65535`. */
  readonly message: string;
  /** The rule set that found it. */
  readonly source: ViolationSource;
  /**
   * `"warning"` for what clients accept and wait out (a reference to a
   * resource not in the snapshot: Envoy and gRPC keep the cluster warming
   * until its endpoints arrive); a cache still serves a snapshot whose only
   * violations are warnings. Absent or `"error"`: clients would reject it.
   */
  readonly severity?: "error" | "warning";
}

const COLLECTIONS: Readonly<Record<string, string>> = {
  [TypeUrl.Listener]: "listeners",
  [TypeUrl.RouteConfiguration]: "routes",
  [TypeUrl.ScopedRouteConfiguration]: "scoped_routes",
  [TypeUrl.VirtualHost]: "virtual_hosts",
  [TypeUrl.Cluster]: "clusters",
  [TypeUrl.ClusterLoadAssignment]: "endpoints",
  [TypeUrl.LbEndpoint]: "lb_endpoints",
  [TypeUrl.Secret]: "secrets",
  [TypeUrl.Runtime]: "runtimes",
  [TypeUrl.TypedExtensionConfig]: "extension_configs",
};

/**
 * The short collection name that prefixes violation paths: `listeners`,
 * `routes`, `scoped_routes`, `virtual_hosts`, `clusters`, `endpoints`,
 * `lb_endpoints`, `secrets`, `runtimes`, `extension_configs`; for other
 * types the full message name.
 */
export function collectionNameOf(typeUrl: string): string {
  return COLLECTIONS[typeUrl] ?? typeNameOf(typeUrl);
}

/** `clusters[web]`, or `clusters` when the name is unknown. */
export function resourcePath(typeUrl: string, resourceName: string | undefined): string {
  const collection = collectionNameOf(typeUrl);
  return resourceName === undefined || resourceName === "" ? collection : `${collection}[${resourceName}]`;
}

/** `path: message`, one line. */
export function formatViolation(violation: Violation): string {
  return `${violation.location}: ${violation.message}`;
}

/**
 * The error {@link assertValid} throws and caches raise when they refuse a
 * snapshot: an `XdskitError` (code `XDSKIT_INVALID_RESOURCE` or
 * `XDSKIT_INVALID_SNAPSHOT`) that carries every violation.
 */
export class ValidationError extends XdskitError {
  /** Every violation found. */
  readonly violations: readonly Violation[];

  constructor(
    code: typeof ErrorCode.INVALID_RESOURCE | typeof ErrorCode.INVALID_SNAPSHOT,
    subject: string,
    violations: readonly Violation[],
    context: { typeUrl?: string; resourceName?: string } = {},
  ) {
    const shown = violations.slice(0, 20).map((v) => `  - ${formatViolation(v)}`);
    const more = violations.length > 20 ? [`  ... and ${violations.length - 20} more`] : [];
    super(
      code,
      `${subject} is invalid (${violations.length} violation${violations.length === 1 ? "" : "s"}):\n${[...shown, ...more].join("\n")}`,
      context,
    );
    this.name = "ValidationError";
    this.violations = Object.freeze([...violations]);
  }
}
