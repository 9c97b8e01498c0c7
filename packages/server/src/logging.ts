// What the server logs, from its own events: every line about a stream
// carries node id, stream id and type; a NACK is logged once with its detail,
// not on every retry; a response over the client's limit is warned about once.
import { OnceKeys, safeLog, silentLogger, stderrLogger, type XdsLogger } from "@xdskit/cache";
import { ErrorCode, faultOf } from "@xdskit/envoy-api/core";
import type { Observable, Subscription } from "rxjs";
import type { XdsServerEvent } from "./events.js";

function bindingsOf(e: XdsServerEvent): Record<string, unknown> {
  const c = e.context;
  return c ? { nodeId: c.node?.id, streamId: c.streamId, typeUrl: c.typeUrl, protocol: c.protocol, peer: c.peer } : {};
}

/**
 * Writes the server's events to a logger (the `logger` option of XdsServer
 * does this for you). Levels: debug for streams opening and closing and for
 * ACKs, info for refused streams, warn for NACKs (once per node, type and
 * rejected version) and responses over the client's size limit (once per
 * node, type and version), error for other `error` events (once per node,
 * type and message).
 */
export function logServerEvents(events: Observable<XdsServerEvent>, logger: XdsLogger): Subscription {
  return events.subscribe({ next: serverEventLogger(logger), error: () => {} });
}

/**
 * The function {@link logServerEvents} calls with each event: what a server
 * calls directly, without an Observable between (requests and responses, most
 * of the events, are not logged and cost nothing here).
 * @internal
 */
export function serverEventLogger(logger: XdsLogger): (event: XdsServerEvent) => void {
  const once = new OnceKeys();
  const debugLogged = debugLevelCheck(logger);
  return (e) => {
    if (e.kind === "request" || e.kind === "response") return;
    // Debug lines (a stream opened or closed, an ACK) are most of the rest: build them only when logged.
    if ((e.kind === "ack" || e.kind === "stream-opened" || e.kind === "stream-closed") && !debugLogged()) return;
    const b = bindingsOf(e);
    const node = String(b.nodeId ?? "");
    switch (e.kind) {
      case "stream-opened":
        safeLog(logger, "debug", b, "stream opened");
        break;
      case "stream-closed":
        safeLog(logger, "debug", { ...b, code: e.status.code }, `stream closed: ${e.status.details}`);
        break;
      case "ack":
        safeLog(logger, "debug", { ...b, version: e.version }, "ACK");
        break;
      case "stream-rejected":
        safeLog(logger, "info", { ...b, code: e.status.code }, `stream refused: ${e.status.details}`);
        break;
      case "nack":
        if (once.first(`nack\0${node}\0${b.typeUrl}\0${e.rejectedVersion}`)) {
          safeLog(
            logger,
            "warn",
            { ...b, rejectedVersion: e.rejectedVersion, keptVersion: e.keptVersion },
            `node "${node}" rejected (NACK) version ${e.rejectedVersion} of ${b.typeUrl} and keeps ${e.keptVersion || "nothing"}: ${e.error.message}`,
          );
        }
        break;
      case "error": {
        const tooLarge = e.error.code === ErrorCode.RESPONSE_TOO_LARGE;
        if (once.first(`error\0${e.error.code}\0${node}\0${b.typeUrl}\0${e.error.message}`)) {
          safeLog(logger, tooLarge ? "warn" : "error", { ...b, code: e.error.code, fault: faultOf(e.error.code) }, e.error.message);
        }
        break;
      }
    }
  };
}

/**
 * Whether the logger writes debug lines now: never for the built-in loggers, whose `debug`
 * does nothing; pino's `isLevelEnabled("debug")` when there is one (its level can change at
 * run time); else always.
 */
function debugLevelCheck(logger: XdsLogger): () => boolean {
  if (logger === stderrLogger || logger === silentLogger) return () => false;
  const check = (logger as { isLevelEnabled?: unknown }).isLevelEnabled;
  if (typeof check !== "function") return () => true;
  return () => {
    try {
      return check.call(logger, "debug") !== false;
    } catch {
      return true;
    }
  };
}
