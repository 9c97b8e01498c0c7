/**
 * Every error code xdskit raises, in one table. Match on `error.code`, never on
 * the message text: codes are stable across releases, messages are not.
 * docs/errors.md lists each code with its meaning and fix; a test keeps the
 * two in step.
 */
export const ErrorCode = Object.freeze({
  /** A type URL or full message name is not in the type registry. */
  UNKNOWN_TYPE: "XDSKIT_UNKNOWN_TYPE",
  /** An Any's type URL differs from the type the caller asked to unpack. */
  TYPE_MISMATCH: "XDSKIT_TYPE_MISMATCH",
  /** Bytes could not be decoded as the named message. */
  DECODE_FAILED: "XDSKIT_DECODE_FAILED",
  /** JSON or YAML input does not fit the message (unknown field, wrong type); `path` names where. */
  INVALID_JSON: "XDSKIT_INVALID_JSON",
  /** YAML input is not valid YAML, or does not fit the message (as for JSON); `path` names where. */
  INVALID_YAML: "XDSKIT_INVALID_YAML",
  /** A message could not be written as JSON (e.g. an Any of an unknown type). */
  JSON_ENCODE_FAILED: "XDSKIT_JSON_ENCODE_FAILED",
  /** A resource fails validation; `violations` lists every problem. */
  INVALID_RESOURCE: "XDSKIT_INVALID_RESOURCE",
  /** A snapshot is refused (empty version, duplicate names, invalid resources). */
  INVALID_SNAPSHOT: "XDSKIT_INVALID_SNAPSHOT",
  /** An options object has a bad field; the message names the option, what was expected and what arrived. */
  INVALID_OPTION: "XDSKIT_INVALID_OPTION",
  /** A request broke the xDS protocol (no node, unserved type URL, unknown nonce, over a limit). */
  PROTOCOL_VIOLATION: "XDSKIT_PROTOCOL_VIOLATION",
  /** A response would exceed the client's maximum message size. */
  RESPONSE_TOO_LARGE: "XDSKIT_RESPONSE_TOO_LARGE",
  /** A FakeEnvoy wait did not complete in time. */
  WAIT_TIMEOUT: "XDSKIT_WAIT_TIMEOUT",
});

/** One of the values of {@link ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const BRAND = Symbol.for("xdskit.error");

/** Context fields an error may carry, besides its message. */
export interface XdskitErrorContext {
  /** The type URL involved, e.g. `type.googleapis.com/envoy.config.cluster.v3.Cluster`. */
  typeUrl?: string;
  /** The resource name involved. */
  resourceName?: string;
  /** The node id involved. */
  nodeId?: string;
  /** A field path, e.g. `load_assignment.endpoints[0]` (JSON input: `$.loadAssignment.endpoints[0]`). */
  path?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The base of every error xdskit throws. `code` is one of {@link ErrorCode};
 * the context (type URL, resource, node, path) is on fields as well as in the
 * message.
 *
 * `XdskitError.is(e)` works even when two copies of xdskit are installed
 * (it checks a global brand, not the class identity).
 */
export class XdskitError extends Error {
  readonly code: ErrorCodeValue;
  readonly typeUrl?: string;
  readonly resourceName?: string;
  readonly nodeId?: string;
  readonly path?: string;

  constructor(code: ErrorCodeValue, message: string, context: XdskitErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = "XdskitError";
    this.code = code;
    if (context.typeUrl !== undefined) this.typeUrl = context.typeUrl;
    if (context.resourceName !== undefined) this.resourceName = context.resourceName;
    if (context.nodeId !== undefined) this.nodeId = context.nodeId;
    if (context.path !== undefined) this.path = context.path;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for any xdskit error, from this copy of the package or another. */
  static is(value: unknown): value is XdskitError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
