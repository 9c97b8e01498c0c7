import { ErrorCode, optionError, typeNameOf } from "@xdskit/envoy-api/core";
import { grpcProfileViolations } from "./internal/grpc/profile.js";
import { type Sink, validatorFor } from "./internal/pgv/compile.js";
import type { ResourceType } from "./resource-type.js";
import { resourceTypeOf } from "./resource-type-registry.js";
import { resourcePath, ValidationError, type Violation, type ViolationSource } from "./violation.js";

/**
 * The client a resource is meant for. `envoy`: the protoc-gen-validate rules
 * of the Envoy API (what Envoy enforces). `grpc`: those plus the stricter
 * rules of proxyless gRPC xDS clients (see docs/validation.md).
 */
export type ValidationProfile = "envoy" | "grpc";

/** Options of {@link validate}. */
export interface ValidateOptions {
  /** Which client's rules apply. Default `"envoy"`. */
  readonly profile?: ValidationProfile;
  /**
   * The resource's name, for paths and `Violation.name`. Default: read with the
   * type's `nameOf` (needed for LEDS `LbEndpoint`, which carries no name).
   */
  readonly name?: string;
  /**
   * What to do with an Any whose type is not registered (so its content
   * cannot be checked): `"ignore"` it or `"report"` a violation. Default `"ignore"`.
   */
  readonly unknownAny?: "ignore" | "report";
}

/** The defaults of {@link ValidateOptions}. */
export const VALIDATE_DEFAULTS = Object.freeze({ profile: "envoy", unknownAny: "ignore" } as const);

function checkOptions(options: ValidateOptions): void {
  if (typeof options !== "object" || options === null) {
    throw optionError("validate", "(options)", "an object", options);
  }
  if (options.profile !== undefined && options.profile !== "envoy" && options.profile !== "grpc") {
    throw optionError("validate", "profile", '"envoy" or "grpc"', options.profile);
  }
  if (options.unknownAny !== undefined && options.unknownAny !== "ignore" && options.unknownAny !== "report") {
    throw optionError("validate", "unknownAny", '"ignore" or "report"', options.unknownAny);
  }
  if (options.name !== undefined && typeof options.name !== "string") {
    throw optionError("validate", "name", "a string", options.name);
  }
}

function typeOf(typeOrTypeUrl: ResourceType<any> | string): ResourceType<any> {
  return typeof typeOrTypeUrl === "string" ? resourceTypeOf(typeOrTypeUrl) : typeOrTypeUrl;
}

/**
 * Checks one resource and returns every violation (empty when valid).
 *
 * Applies the protoc-gen-validate rules of the resource's message type,
 * recursively, entering Any-packed configs (filters, transport sockets,
 * extensions) through the type registry. With `profile: "grpc"` it adds the
 * rules of proxyless gRPC clients. Bad input never throws: a resource that is
 * not an object gives one violation.
 *
 * @example
 * validate(ResourceTypes.Cluster, cluster).map(formatViolation);
 * // ["clusters[web].load_assignment.endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value: must be <= 65535"]
 * validate(TypeUrl.Listener, listener, { profile: "grpc" });
 *
 * @throws XdskitError `XDSKIT_UNKNOWN_TYPE` for a type URL nothing knows,
 *   `XDSKIT_INVALID_OPTION` for bad options.
 */
export function validate<T>(typeOrTypeUrl: ResourceType<T> | string, resource: T, options: ValidateOptions = {}): Violation[] {
  checkOptions(options);
  const type = typeOf(typeOrTypeUrl);
  let name = options.name;
  if (name === undefined && type.nameOf && resource !== null && typeof resource === "object") {
    try {
      name = type.nameOf(resource as T);
    } catch {
      name = undefined;
    }
  }
  return validateResource(type, resource, name, options.profile ?? "envoy", options.unknownAny ?? "ignore");
}

/** Shared by validate() and the snapshot validator (options already checked). */
export function validateResource(
  type: ResourceType<any>,
  resource: unknown,
  name: string | undefined,
  profile: ValidationProfile,
  unknownAny: "ignore" | "report",
): Violation[] {
  const out: Violation[] = [];
  const prefix = resourcePath(type.typeUrl, name);
  const typeUrl = type.typeUrl;
  const add = (field: string, rule: string, message: string, source: ViolationSource) => {
    out.push({
      typeUrl,
      ...(name !== undefined ? { name } : {}),
      path: field,
      location: field === "" ? prefix : `${prefix}.${field}`,
      rule,
      message,
      source,
    });
  };
  if (resource === null || typeof resource !== "object") {
    add("", "message.type", `must be a ${typeNameOf(typeUrl)} message; got ${resource === null ? "null" : typeof resource}`, "envoy");
    return out;
  }
  const sink: Sink = { report: (path, rule, message) => add(path, rule, message, "envoy"), unknownAny };
  try {
    validatorFor(typeNameOf(typeUrl))(resource, "", sink);
  } catch (error) {
    add("", "message.shape", `could not be walked as a ${typeNameOf(typeUrl)}: ${(error as Error).message}`, "envoy");
  }
  if (profile === "grpc") {
    try {
      for (const v of grpcProfileViolations(typeUrl, resource)) add(v.path, v.rule, v.message, "grpc");
    } catch (error) {
      add("", "grpc.shape", `could not be checked against the gRPC rules: ${(error as Error).message}`, "grpc");
    }
  }
  return out;
}

/**
 * Like {@link validate}, but throws when something is wrong.
 *
 * @throws ValidationError (`XDSKIT_INVALID_RESOURCE`) carrying every violation.
 */
export function assertValid<T>(typeOrTypeUrl: ResourceType<T> | string, resource: T, options: ValidateOptions = {}): void {
  const violations = validate(typeOrTypeUrl, resource, options);
  if (violations.length > 0) {
    const type = typeOf(typeOrTypeUrl);
    const first = violations[0];
    throw new ValidationError(ErrorCode.INVALID_RESOURCE, resourcePath(type.typeUrl, first?.name), violations, {
      typeUrl: type.typeUrl,
      ...(first?.name !== undefined ? { resourceName: first.name } : {}),
    });
  }
}
