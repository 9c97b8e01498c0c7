// The node:http server of the REST-JSON API, with the bounds a listener on a
// network needs: Node's defaults hold a connection that never finishes its
// headers for 60 s (checked only every 30 s), a slow body for 300 s, and
// accept any number of connections.
import type { Server } from "node:http";
import { ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { RestListener } from "./rest.js";

/** Options of `XdsServer.restServer()`: the bounds of the node:http server it creates. */
export interface RestServerOptions {
  /**
   * Time a client has to send the complete request headers, in milliseconds;
   * then the connection gets 408 and is closed (slowloris). Default 10,000.
   */
  readonly headersTimeoutMs?: number;
  /**
   * Time a client has to send the whole request (headers and body), in
   * milliseconds; then 408 and the connection is closed. Must be 0 (no limit)
   * or at least `headersTimeoutMs`. Default 30,000.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Time an idle keep-alive connection stays open after a response, in
   * milliseconds; 0 closes it after each response. Default 5,000.
   */
  readonly keepAliveTimeoutMs?: number;
  /**
   * Maximum open connections; node:http closes further ones as soon as they
   * are accepted (the client sees the connection reset or closed, no HTTP
   * answer). 0 means unlimited. Default 1,000.
   */
  readonly maxConnections?: number;
}

/** Every default of {@link RestServerOptions}. */
export const DEFAULT_REST_SERVER_OPTIONS = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1_000,
});

type Resolved = { readonly [K in keyof typeof DEFAULT_REST_SERVER_OPTIONS]: number };

function invalid(option: string, expected: string, got: unknown): XdskitError {
  const shown =
    typeof got === "string" ? JSON.stringify(got) : typeof got === "object" ? (got === null ? "null" : "an object") : String(got);
  return new XdskitError(ErrorCode.INVALID_OPTION, `XdsServer.restServer option "${option}": expected ${expected}, got ${shown}`, {
    path: option,
  });
}

/** Checks and completes the options; throws `XDSKIT_INVALID_OPTION` naming the option. */
export function resolveRestServerOptions(input: RestServerOptions = {}): Resolved {
  if (typeof input !== "object" || input === null) throw invalid("(options)", "an options object", input);
  const options = input as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULT_REST_SERVER_OPTIONS)) {
      throw invalid(key, `one of ${Object.keys(DEFAULT_REST_SERVER_OPTIONS).join(", ")} (unknown option)`, options[key]);
    }
  }
  const integer = (name: keyof typeof DEFAULT_REST_SERVER_OPTIONS, min: number): number => {
    const value = options[name] ?? DEFAULT_REST_SERVER_OPTIONS[name];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) throw invalid(name, `an integer >= ${min}`, value);
    return value;
  };
  const resolved = {
    headersTimeoutMs: integer("headersTimeoutMs", 1),
    requestTimeoutMs: integer("requestTimeoutMs", 0),
    keepAliveTimeoutMs: integer("keepAliveTimeoutMs", 0),
    maxConnections: integer("maxConnections", 0),
  };
  if (resolved.requestTimeoutMs !== 0 && resolved.requestTimeoutMs < resolved.headersTimeoutMs) {
    throw invalid("requestTimeoutMs", `0 or at least headersTimeoutMs (${resolved.headersTimeoutMs})`, resolved.requestTimeoutMs);
  }
  return Object.freeze(resolved);
}

/** A node:http server running `listener`, with the bounds of `options` applied. Not listening yet. */
export function createRestServer(listener: RestListener, input?: RestServerOptions): Server {
  const options = resolveRestServerOptions(input);
  const timeouts = [options.headersTimeoutMs, options.requestTimeoutMs].filter((t) => t > 0);
  // node:http is loaded by the first REST server, not with the package: most servers only speak gRPC.
  const { createServer } = process.getBuiltinModule("node:http");
  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      // Node checks both timeouts on this interval (default 30 s): check
      // often enough that a timeout is enforced close to its value.
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, ...timeouts.map((t) => Math.floor(t / 4)))),
    },
    listener,
  );
  server.headersTimeout = options.headersTimeoutMs;
  server.requestTimeout = options.requestTimeoutMs;
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  if (options.maxConnections > 0) server.maxConnections = options.maxConnections;
  return server;
}
