// One-shot fetches: gRPC Fetch* methods and REST-JSON share this.
import type { SotwResponse } from "@xdskit/cache";
import type { DiscoveryRequest } from "@xdskit/envoy-api";
import type { XdsContext, XdsStatus, XdsTransportKind } from "../events.js";
import type { StreamHost } from "./stream-host.js";
import { cacheFailure, checkNames, GrpcCode, type StreamFailure, violation } from "./stream-rules.js";

/** What a fetch is answered with. */
export interface FetchOutcome {
  readonly context: XdsContext;
  /** `undefined` when the client is up to date. */
  readonly response: SotwResponse | undefined;
}

/**
 * Answers one fetch from the cache. Throws {@link StreamFailure} for bad
 * requests, refusals and cache errors.
 */
export async function answerFetch(
  core: StreamHost,
  input: {
    request: DiscoveryRequest;
    serviceTypeUrl: string;
    protocol: Extract<XdsTransportKind, "fetch" | "rest">;
    peer: string;
    method: string;
  },
): Promise<FetchOutcome> {
  const refusal = core.admission.admitFetch();
  if (refusal !== undefined) throw refused(refusal);
  const { request, serviceTypeUrl } = input;
  if (request.node === undefined) throw violation("a fetch must carry the node", { typeUrl: serviceTypeUrl });
  const node = request.node;
  const typeUrl = request.typeUrl === "" ? serviceTypeUrl : request.typeUrl;
  if (typeUrl !== serviceTypeUrl) {
    throw violation(`fetch for type ${JSON.stringify(typeUrl.slice(0, 200))} on the endpoint for ${serviceTypeUrl}`, {
      typeUrl,
      nodeId: node.id,
    });
  }
  if (!core.options.types.has(typeUrl)) throw violation(`type_url ${typeUrl} is not served here`, { typeUrl, nodeId: node.id });
  const context: XdsContext = Object.freeze({
    streamId: core.nextId(),
    node,
    typeUrl,
    protocol: input.protocol,
    ads: false,
    peer: input.peer,
    method: input.method,
  });
  checkNames({ node, options: core.options }, typeUrl, request.resourceNames, "resource_names");
  const status = await core.admission.decision(context, "fetch");
  if (status !== undefined) {
    core.hub.emit({ kind: "stream-rejected", context, status, at: Date.now() });
    throw refused(status);
  }
  const names = new Set(request.resourceNames.filter((n) => n !== "*"));
  let response: SotwResponse | undefined;
  try {
    response = await core.options.cache.fetch({ node, typeUrl, names, versionInfo: request.versionInfo });
  } catch (error) {
    throw cacheFailure(`the cache failed a ${typeUrl} fetch: ${(error as Error)?.message ?? String(error)}`, {
      typeUrl,
      nodeId: node.id,
      cause: error,
    });
  }
  core.hub.emit({ kind: "fetch", context, resourceNames: request.resourceNames, version: response?.version, at: Date.now() });
  return { context, response };
}

function refused(status: XdsStatus): StreamFailure {
  const failure = violation(status.details, {}, status.code);
  return failure;
}
