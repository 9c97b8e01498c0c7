// The rules every xDS stream and fetch applies, whatever its protocol: how a
// failure ends it (a gRPC status), which nonces it issued, and the checks of
// a request's type URL, names and type count.
import { ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { XdsStatus } from "../events.js";
import type { ResolvedTypeDescriptor } from "../type-descriptors.js";
import type { CarrierStream } from "./stream-machine.js";

/** gRPC status codes used here (the numbers of @grpc/grpc-js `status`). */
export const GrpcCode = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
});

/** A failure that ends one stream with a gRPC status. */
export class StreamFailure extends Error {
  readonly status: XdsStatus;
  readonly error: XdskitError;
  constructor(code: number, error: XdskitError) {
    super(error.message);
    this.status = { code, details: error.message };
    this.error = error;
  }
}

/** A protocol violation by the client: ends the stream with `code` (default INVALID_ARGUMENT). */
export function violation(
  message: string,
  context: { typeUrl?: string; nodeId?: string; resourceName?: string },
  code: number = GrpcCode.INVALID_ARGUMENT,
): StreamFailure {
  return new StreamFailure(code, new XdskitError(ErrorCode.PROTOCOL_VIOLATION, message, context));
}

/** The cache failed a watch or fetch (`XDSKIT_CACHE_FAILED`): ends the stream with INTERNAL; `cause` is what the cache raised. */
export function cacheFailure(message: string, context: { typeUrl?: string; nodeId?: string; cause?: unknown }): StreamFailure {
  return new StreamFailure(GrpcCode.INTERNAL, new XdskitError(ErrorCode.CACHE_FAILED, message, context));
}

/** Per-stream nonces: decimal counters, so "was this ever sent here" is a range check. */
export class Nonces {
  #last = 0;
  next(): string {
    this.#last += 1;
    return String(this.#last);
  }
  /** True when this stream issued the nonce. */
  issued(nonce: string): boolean {
    if (!/^[1-9][0-9]{0,15}$/.test(nonce)) return false;
    return Number(nonce) <= this.#last;
  }
}

/** The type URL a request is about, checked against the service and the served types. */
export function resolveRequestType(env: CarrierStream, requested: string): ResolvedTypeDescriptor {
  const nodeId = env.node.id;
  let typeUrl = requested;
  if (env.serviceTypeUrl !== undefined) {
    if (typeUrl === "") typeUrl = env.serviceTypeUrl;
    else if (typeUrl !== env.serviceTypeUrl) {
      throw violation(
        `request for type ${JSON.stringify(typeUrl)} on the service for ${env.serviceTypeUrl}; use ADS or the matching service`,
        {
          typeUrl,
          nodeId,
        },
      );
    }
  } else if (typeUrl === "") {
    throw violation("an ADS request must name its type_url (xDS spec: ADS requests carry the type URL)", { nodeId });
  }
  const descriptor = env.options.types.get(typeUrl);
  if (descriptor === undefined) {
    throw violation(
      `type_url ${JSON.stringify(typeUrl.slice(0, 200))} is not served here; served: ${[...env.options.types.values()].map((d) => d.name).join(", ")} (add it with the "types" option)`,
      { typeUrl, nodeId },
    );
  }
  return descriptor;
}

/** Checks the count and lengths of names in one request field. */
export function checkNames(
  env: Pick<CarrierStream, "node" | "options">,
  typeUrl: string,
  names: readonly string[],
  field: string,
  limit = env.options.maxSubscribedNames,
): void {
  if (names.length > limit) {
    throw violation(
      `${field} lists ${names.length} names for ${typeUrl}; the limit is ${limit} (option maxSubscribedNames)`,
      { typeUrl, nodeId: env.node.id },
      GrpcCode.RESOURCE_EXHAUSTED,
    );
  }
  const maxLength = env.options.maxNameLength;
  // A list shared between requests (request-decoding.ts) is looked at once per limit.
  const frozen = Object.isFrozen(names);
  if (frozen && namesWithin.get(names) === maxLength) return;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name.length > maxLength) {
      throw violation(
        `${field} has a name of ${name.length} characters (${JSON.stringify(name.slice(0, 40))}...); the limit is ${maxLength} (option maxNameLength)`,
        { typeUrl, nodeId: env.node.id },
        GrpcCode.RESOURCE_EXHAUSTED,
      );
    }
  }
  if (frozen) namesWithin.set(names, maxLength);
}

/** Frozen name lists already found within a maxNameLength (the value). */
const namesWithin = new WeakMap<readonly string[], number>();

/**
 * Ends the stream (RESOURCE_EXHAUSTED) when what it subscribes to, over all
 * its types, is over option maxSubscriptionBytes (characters of names; delta
 * adds those of initial_resource_versions).
 */
export function checkSubscriptionSize(
  env: Pick<CarrierStream, "node" | "options">,
  typeUrl: string,
  states: Iterable<{ readonly subscriptionChars: number }>,
): void {
  const limit = env.options.maxSubscriptionBytes;
  if (limit === 0) return;
  let total = 0;
  for (const state of states) total += state.subscriptionChars;
  if (total > limit) {
    throw violation(
      `stream subscribes to names of ${total} characters in all (names subscribed, and initial_resource_versions); the limit is ${limit} (option maxSubscriptionBytes)`,
      { typeUrl, nodeId: env.node.id },
      GrpcCode.RESOURCE_EXHAUSTED,
    );
  }
}

/** Refuses a new type when the stream already has `count` types (option maxTypesPerStream). */
export function checkTypeCount(env: Pick<CarrierStream, "node" | "options">, typeUrl: string, count: number): void {
  if (count >= env.options.maxTypesPerStream) {
    throw violation(
      `stream subscribes to more than ${env.options.maxTypesPerStream} types (option maxTypesPerStream)`,
      { typeUrl, nodeId: env.node.id },
      GrpcCode.RESOURCE_EXHAUSTED,
    );
  }
}

/** Whether an empty first request of this type means wildcard for this node. */
export function legacyWildcardAllowed(descriptor: ResolvedTypeDescriptor, node: Node): boolean {
  switch (descriptor.legacyWildcard) {
    case "always":
      return true;
    case "never":
      return false;
    case "not-grpc":
      return !startsWithGrpc(node.userAgentName ?? "");
  }
}

/**
 * `/^grpc/i.test(name)` without a regular expression: this runs for every request of a legacy
 * wildcard type (CDS and LDS of an Envoy), and the match allocated each time.
 */
function startsWithGrpc(name: string): boolean {
  if (name.length < 4) return false;
  // ASCII letters: OR 0x20 maps upper case to lower case.
  return (
    (name.charCodeAt(0) | 0x20) === 0x67 && // g
    (name.charCodeAt(1) | 0x20) === 0x72 && // r
    (name.charCodeAt(2) | 0x20) === 0x70 && // p
    (name.charCodeAt(3) | 0x20) === 0x63 // c
  );
}

/** The cause of an unknown nonce. */
export function unknownNonce(env: CarrierStream, typeUrl: string, nonce: string): StreamFailure {
  return violation(`response_nonce ${JSON.stringify(nonce.slice(0, 40))} was never sent on this stream (for ${typeUrl})`, {
    typeUrl,
    nodeId: env.node.id,
  });
}
