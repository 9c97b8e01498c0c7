// One gRPC `Fetch*` call (unary DiscoveryRequest -> DiscoveryResponse): size
// and decoding checks, then the fetch shared with REST (fetch.ts), then
// encoding with the response size limit. Failures become gRPC statuses.
import type { PeerCertificate } from "node:tls";
import type { sendUnaryData } from "@grpc/grpc-js";
import { DiscoveryRequest, ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { XdsMethodSpec } from "../services.js";
import { answerFetch } from "./fetch.js";
import { grpcCallIdentity } from "./peer-certificate.js";
import { encodeSotw } from "./response-encoding.js";
import type { StreamHost } from "./stream-host.js";
import { GrpcCode, StreamFailure } from "./stream-rules.js";

/** The part of a grpc-js `ServerUnaryCall<Buffer, Buffer>` a fetch uses (the node:http2 transport makes one too). */
export interface XdsUnaryCall {
  readonly request: Buffer;
  getPeer(): string;
  getAuthContext?(): { sslPeerCertificate?: PeerCertificate | undefined };
}

/** Answers one gRPC fetch on `method` of the service for `typeUrl`. Never throws. */
export function handleGrpcFetch(
  host: StreamHost,
  call: XdsUnaryCall,
  callback: sendUnaryData<Buffer>,
  method: XdsMethodSpec,
  typeUrl: string,
): void {
  const options = host.options;
  const fail = (code: number, details: string) => callback({ code, details, name: "XdsFetchError", message: details });
  (async () => {
    if (call.request.length > options.maxRequestBytes) {
      return fail(
        GrpcCode.RESOURCE_EXHAUSTED,
        `request of ${call.request.length} bytes is over ${options.maxRequestBytes} (option maxRequestBytes)`,
      );
    }
    let request: DiscoveryRequest;
    try {
      request = DiscoveryRequest.decode(call.request);
    } catch (error) {
      return fail(GrpcCode.INVALID_ARGUMENT, `could not decode the DiscoveryRequest: ${(error as Error).message}`);
    }
    let peer = "unknown";
    try {
      peer = call.getPeer();
    } catch {}
    const outcome = await answerFetch(host, {
      request,
      serviceTypeUrl: typeUrl,
      protocol: "fetch",
      peer,
      identity: grpcCallIdentity(call),
      method: method.path,
    });
    if (outcome.response === undefined) {
      return fail(GrpcCode.FAILED_PRECONDITION, `up to date: version_info ${JSON.stringify(request.versionInfo)} is current`);
    }
    const message = encodeSotw(outcome.response, "");
    if (message.length > options.maxResponseBytes) {
      const details = `the ${typeUrl} response for node ${JSON.stringify(request.node?.id)} is ${message.length} bytes, over ${options.maxResponseBytes} (option maxResponseBytes)`;
      host.hub.emit({
        kind: "error",
        context: outcome.context,
        error: new XdskitError(ErrorCode.RESPONSE_TOO_LARGE, details, { typeUrl }),
        at: Date.now(),
      });
      return fail(GrpcCode.RESOURCE_EXHAUSTED, details);
    }
    callback(null, message);
  })().catch((error: unknown) => {
    if (error instanceof StreamFailure) {
      // A miss (NOT_FOUND) is an answer, not a fault: no error event, so a poller logs nothing.
      if (error.status.code !== GrpcCode.NOT_FOUND)
        host.hub.emit({ kind: "error", context: undefined, error: error.error, at: Date.now() });
      fail(error.status.code, error.status.details);
    } else {
      fail(GrpcCode.INTERNAL, `internal error: ${(error as Error)?.message ?? String(error)}`);
    }
  });
}
