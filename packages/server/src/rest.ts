// Envoy's REST-JSON xDS API on node:http: `POST /v3/discovery:<type>` with a
// JSON DiscoveryRequest; 200 with a JSON DiscoveryResponse, 304 when the
// client's version_info is current, 404 when nothing requested exists.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { XdskitError } from "@xdskit/envoy-api/core";
import type { PeerIdentity } from "./events.js";
import { answerFetch } from "./internal/fetch.js";
import { peerIdentityOf } from "./internal/peer-certificate.js";
import { requestFromJson, responseToJson } from "./internal/rest-json.js";
import type { StreamHost } from "./internal/stream-host.js";
import { GrpcCode, StreamFailure } from "./internal/stream-rules.js";

/** The verified client certificate's identity of a request on a TLS server that checks client certificates. */
function restIdentity(request: IncomingMessage): PeerIdentity | undefined {
  const socket = request.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== "function" || socket.authorized !== true) return undefined;
  return peerIdentityOf(socket.getPeerCertificate());
}

const PATH = /^\/v3\/discovery:([A-Za-z0-9_.-]+)$/;

/** A node:http request listener (`http.createServer(listener)` or `server.on("request", listener)`). */
export type RestListener = (request: IncomingMessage, response: ServerResponse) => void;

function httpStatusOf(grpcCode: number): number {
  switch (grpcCode) {
    case GrpcCode.INVALID_ARGUMENT:
      return 400;
    case 16: // UNAUTHENTICATED
      return 401;
    case GrpcCode.PERMISSION_DENIED:
      return 403;
    case GrpcCode.NOT_FOUND:
      return 404;
    case GrpcCode.RESOURCE_EXHAUSTED:
      return 429;
    case GrpcCode.UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

function sendError(response: ServerResponse, status: number, message: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ error: message });
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  response.end(body);
}

/** Builds the REST listener of a server (see `XdsServer.restListener`). */
export function createRestListener(core: StreamHost): RestListener {
  const byName = new Map<string, string>();
  for (const descriptor of core.options.types.values()) byName.set(descriptor.name, descriptor.typeUrl);
  return (request, response) => {
    const path = (request.url ?? "").split("?")[0]!;
    const match = PATH.exec(path);
    const typeUrl = match ? byName.get(match[1]!) : undefined;
    if (typeUrl === undefined) {
      sendError(response, 404, `no xDS REST endpoint at ${path.slice(0, 200)}; use POST /v3/discovery:<${[...byName.keys()].join("|")}>`);
      request.resume();
      return;
    }
    if (request.method !== "POST") {
      response.setHeader("allow", "POST");
      sendError(response, 405, `use POST for ${path}`);
      request.resume();
      return;
    }
    const limit = core.options.maxRequestBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    // Refuses an oversized body and stops reading it: the client gets 413
    // with `Connection: close`, and node:http closes the socket once the
    // answer is written, without reading the rest (a client could otherwise
    // stream gigabytes at a listener that has already refused).
    const refuseBody = (): void => {
      aborted = true;
      request.removeListener("data", onData);
      request.pause();
      if (!response.headersSent) response.setHeader("connection", "close");
      sendError(response, 413, `request body over ${limit} bytes (option maxRequestBytes)`);
      response.once("finish", () => {
        if (!request.socket.destroyed) request.socket.destroySoon();
      });
    };
    const onData = (chunk: Buffer): void => {
      if (aborted) return;
      size += chunk.length;
      if (size > limit) {
        refuseBody();
        return;
      }
      chunks.push(chunk);
    };
    const declared = Number(request.headers["content-length"] ?? 0);
    if (declared > limit) {
      refuseBody();
      return;
    }
    request.on("data", onData);
    request.on("error", () => {
      aborted = true;
    });
    request.on("end", () => {
      if (aborted) return;
      void answer(Buffer.concat(chunks).toString("utf8"));
    });

    async function answer(text: string): Promise<void> {
      let discoveryRequest: ReturnType<typeof requestFromJson>;
      try {
        discoveryRequest = requestFromJson(text);
      } catch (error) {
        sendError(response, 400, `body is not a JSON DiscoveryRequest: ${(error as Error).message}`);
        return;
      }
      try {
        const peer = `${request.socket.remoteAddress ?? "unknown"}:${request.socket.remotePort ?? 0}`;
        const outcome = await answerFetch(core, {
          request: discoveryRequest,
          serviceTypeUrl: typeUrl!,
          protocol: "rest",
          peer,
          identity: restIdentity(request),
          method: path,
        });
        if (outcome.response === undefined) {
          response.writeHead(304);
          response.end();
          return;
        }
        const body = responseToJson(outcome.response);
        response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        response.end(body);
      } catch (error) {
        if (error instanceof StreamFailure) {
          // A miss (NOT_FOUND) is an answer, not a fault: no error event, so a poller logs nothing.
          if (error.status.code !== GrpcCode.NOT_FOUND)
            core.hub.emit({ kind: "error", context: undefined, error: error.error, at: Date.now() });
          sendError(response, httpStatusOf(error.status.code), error.status.details);
        } else {
          const message = XdskitError.is(error) ? `${error.code}: ${error.message}` : String((error as Error)?.message ?? error);
          sendError(response, 500, message);
        }
      }
    }
  };
}
