// One-shot fetches: gRPC Fetch* methods and REST-JSON share this.
import { type SotwResponse, sameContentVersion } from "@xdskit/cache";
import type { DiscoveryRequest } from "@xdskit/envoy-api/core";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { PeerIdentity, XdsContext, XdsStatus, XdsTransportKind } from "../events.js";
import { originOf } from "./admission.js";
import type { StreamHost } from "./stream-host.js";
import { cacheFailure, checkNames, GrpcCode, type StreamFailure, violation } from "./stream-rules.js";

/** What a fetch is answered with. */
export interface FetchOutcome {
  readonly context: XdsContext;
  /** `undefined` when the client is up to date (it holds the current version of everything that exists). */
  readonly response: SotwResponse | undefined;
}

/**
 * Answers one fetch from the cache. Throws {@link StreamFailure} for bad
 * requests, refusals and cache errors, and NOT_FOUND when the cache would
 * hold the request (no requested name exists, or nothing is known for the
 * node): a held request is not a current one, so it is never answered as
 * "up to date" (protocol.md: fetch-held-not-found).
 */
export async function answerFetch(
  core: StreamHost,
  input: {
    request: DiscoveryRequest;
    serviceTypeUrl: string;
    protocol: Extract<XdsTransportKind, "fetch" | "rest">;
    peer: string;
    /** The verified client certificate's identity (peer-certificate.ts): in the context, and for per-identity limits. */
    identity?: PeerIdentity | undefined;
    method: string;
  },
): Promise<FetchOutcome> {
  // Under the same admission control as streams: a slot of maxConcurrentStreams,
  // of the connection and of the peer while it is answered, and a token of newStreamsPerSecond.
  const ticket = core.admission.enterFetch(originOf(input.peer, input.identity?.key));
  if ("code" in ticket) {
    core.hub.emit({ kind: "stream-rejected", context: undefined, status: ticket, at: Date.now() });
    throw refused(ticket);
  }
  try {
    return await admittedFetch(core, input);
  } finally {
    core.admission.releaseFetch(ticket);
  }
}

async function admittedFetch(core: StreamHost, input: Parameters<typeof answerFetch>[1]): Promise<FetchOutcome> {
  const { request, serviceTypeUrl } = input;
  if (request.node === undefined) throw violation("a fetch must carry the node", { typeUrl: serviceTypeUrl });
  const node = request.node;
  if (node.id === "" && !core.options.allowEmptyNodeId) {
    throw violation("the node has an empty id: every node must name itself, or allow it with the server option allowEmptyNodeId", {
      typeUrl: serviceTypeUrl,
    });
  }
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
    ...(input.identity === undefined ? {} : { identity: input.identity }),
    method: input.method,
  });
  checkNames({ node, options: core.options }, typeUrl, request.resourceNames, "resource_names");
  const status = await core.admission.decision(context, "fetch");
  if (status !== undefined) {
    core.hub.emit({ kind: "stream-rejected", context, status, at: Date.now() });
    throw refused(status);
  }
  const names = new Set(request.resourceNames.filter((n) => n !== "*"));
  const ask = async (askNames: ReadonlySet<string>, versionInfo: string): Promise<SotwResponse | undefined> => {
    try {
      return await core.options.cache.fetch({ node, typeUrl, names: askNames, versionInfo });
    } catch (error) {
      throw cacheFailure(`the cache failed a ${typeUrl} fetch: ${(error as Error)?.message ?? String(error)}`, {
        typeUrl,
        nodeId: node.id,
        cause: error,
      });
    }
  };
  let response = await ask(names, request.versionInfo);
  if (response === undefined) {
    // The cache answers `undefined` both for "current" and for "held". Ask
    // again as a client holding nothing: an answer means the client's version
    // is current (or the cache moved on meanwhile: then that answer is sent).
    const fresh = request.versionInfo === "" ? undefined : await ask(names, "");
    if (fresh === undefined) throw await notFound(core, ask, { typeUrl, node, names });
    if (!sameContentVersion(fresh.version, request.versionInfo)) response = fresh;
  }
  // A full-state type answers a client that claims a version with an empty
  // list when none of its names exist: for a one-shot fetch that is a miss too.
  if (response !== undefined && names.size > 0 && response.resources.length === 0) {
    throw await notFound(core, ask, { typeUrl, node, names });
  }
  core.hub.emit({ kind: "fetch", context, resourceNames: request.resourceNames, version: response?.version, at: Date.now() });
  return { context, response };
}

const LISTED_NAMES = 10;

/** The NOT_FOUND failure for a held fetch, saying what is missing. */
async function notFound(
  core: StreamHost,
  ask: (names: ReadonlySet<string>, versionInfo: string) => Promise<SotwResponse | undefined>,
  input: { typeUrl: string; node: Node; names: ReadonlySet<string> },
): Promise<StreamFailure> {
  const { typeUrl, node, names } = input;
  const descriptor = core.options.types.get(typeUrl);
  const typeName = descriptor?.name ?? typeUrl;
  const who = `node ${JSON.stringify(node.id.slice(0, 200))}`;
  // An empty request is a wildcard where the type has a legacy wildcard;
  // a wildcard is always answered once the cache has config for the node.
  const wildcardType = descriptor !== undefined && descriptor.legacyWildcard !== "never";
  const noConfig = `no snapshot for the node group of ${who} (the cache has no ${typeName} configuration for it yet)`;
  let details: string;
  if (names.size === 0) {
    details = wildcardType ? noConfig : `the request names no resources and ${typeName} has no wildcard: list the resource names to fetch`;
  } else if (wildcardType && (await ask(new Set(), "")) === undefined) {
    details = noConfig;
  } else {
    const listed = [...names].slice(0, LISTED_NAMES).map((n) => JSON.stringify(n.slice(0, 200)));
    const more = names.size > LISTED_NAMES ? ` and ${names.size - LISTED_NAMES} more` : "";
    details = `none of the requested ${typeName} resources exist for ${who}: ${listed.join(", ")}${more}`;
  }
  return violation(details, { typeUrl, nodeId: node.id }, GrpcCode.NOT_FOUND);
}

function refused(status: XdsStatus): StreamFailure {
  const failure = violation(status.details, {}, status.code);
  return failure;
}
