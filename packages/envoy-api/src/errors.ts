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
  /** An options object has a bad field; the message names the option, what was expected and what arrived; `path` is the option. */
  INVALID_OPTION: "XDSKIT_INVALID_OPTION",
  /** Client's fault: a request broke the xDS protocol (no node, unserved type URL, unknown nonce, over a limit). */
  PROTOCOL_VIOLATION: "XDSKIT_PROTOCOL_VIOLATION",
  /** Cache's fault: the cache (a `ConfigWatcher`) failed or misbehaved in a watch or fetch; the stream ends. */
  CACHE_FAILED: "XDSKIT_CACHE_FAILED",
  /** Hook's fault: a user callback or observer threw or rejected; the event was still delivered elsewhere. */
  HOOK_FAILED: "XDSKIT_HOOK_FAILED",
  /** Caller's fault: code used an xdskit API the wrong way (a bad argument, a call after dispose, a cache asked for a type it does not serve). */
  API_MISUSE: "XDSKIT_API_MISUSE",
  /** Nobody's code: writing a response to the client failed (the peer went away, the transport broke); the stream ends. */
  WRITE_FAILED: "XDSKIT_WRITE_FAILED",
  /** xdskit's fault: an unexpected error inside xdskit; please report it with the message and stack. */
  INTERNAL: "XDSKIT_INTERNAL",
  /** A response would exceed the client's maximum message size. */
  RESPONSE_TOO_LARGE: "XDSKIT_RESPONSE_TOO_LARGE",
  /** A FakeEnvoy wait did not complete in time. */
  WAIT_TIMEOUT: "XDSKIT_WAIT_TIMEOUT",
  /** A config store's compare-and-set write lost: the key's revision is not the expected one (someone wrote first). */
  STORE_CONFLICT: "XDSKIT_STORE_CONFLICT",
  /** A config store cannot be used: its state directory is locked by another process, unreadable, or a write failed. */
  STORE_FAILED: "XDSKIT_STORE_FAILED",
  /** A mesh model (`@xdskit/mesh`) is refused: the message names the model object (kind namespace/name) and the field path. */
  INVALID_MESH_MODEL: "XDSKIT_INVALID_MESH_MODEL",
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

/**
 * Who must act on an error, by its code: the client (`"client"`), the cache
 * behind the server (`"cache"`), a user hook (`"hook"`), the code calling
 * xdskit (`"caller"`: configuration, input, options, misuse), the network
 * (`"transport"`), or xdskit itself (`"xdskit"`: report the bug). Logs and
 * metrics can label errors with it.
 */
export type ErrorFault = "client" | "cache" | "hook" | "caller" | "transport" | "xdskit";

const FAULTS: Readonly<Record<ErrorCodeValue, ErrorFault>> = Object.freeze({
  XDSKIT_UNKNOWN_TYPE: "caller",
  XDSKIT_TYPE_MISMATCH: "caller",
  XDSKIT_DECODE_FAILED: "caller",
  XDSKIT_INVALID_JSON: "caller",
  XDSKIT_INVALID_YAML: "caller",
  XDSKIT_JSON_ENCODE_FAILED: "caller",
  XDSKIT_INVALID_RESOURCE: "caller",
  XDSKIT_INVALID_SNAPSHOT: "caller",
  XDSKIT_INVALID_OPTION: "caller",
  XDSKIT_PROTOCOL_VIOLATION: "client",
  XDSKIT_CACHE_FAILED: "cache",
  XDSKIT_HOOK_FAILED: "hook",
  XDSKIT_API_MISUSE: "caller",
  XDSKIT_WRITE_FAILED: "transport",
  XDSKIT_INTERNAL: "xdskit",
  XDSKIT_RESPONSE_TOO_LARGE: "caller",
  XDSKIT_WAIT_TIMEOUT: "caller",
  XDSKIT_STORE_CONFLICT: "caller",
  XDSKIT_STORE_FAILED: "transport",
  XDSKIT_INVALID_MESH_MODEL: "caller",
});

/**
 * Whose fault an error code is (see {@link ErrorFault}); docs/errors.md says
 * what each one does about it. A code this copy of xdskit does not know
 * (from a newer copy) counts as `"xdskit"`.
 * @example faultOf(ErrorCode.HOOK_FAILED) // "hook"
 */
export function faultOf(code: ErrorCodeValue): ErrorFault {
  return FAULTS[code] ?? "xdskit";
}

function shownValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function";
  return typeof value === "object" ? "an object" : typeof value;
}

/**
 * The one way xdskit reports a bad option: an `XDSKIT_INVALID_OPTION` error
 * whose message is `owner: option "option" must be expected; got actual` and
 * whose `path` is the option (nested options use dots: `"tls.cert"`).
 * Exported so libraries built on xdskit report their options the same way.
 * @example throw optionError("XdsServer", "maxStreams", "an integer >= 1", 0)
 * // XdsServer: option "maxStreams" must be an integer >= 1; got 0
 */
export function optionError(owner: string, option: string, expected: string, actual: unknown): XdskitError {
  return new XdskitError(ErrorCode.INVALID_OPTION, `${owner}: option "${option}" must be ${expected}; got ${shownValue(actual)}`, {
    path: option,
  });
}
