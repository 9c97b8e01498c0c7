// Envoy's Client Status Discovery Service (CSDS), served from node status:
// per connected client and resource, whether it was sent, ACKed or NACKed,
// so standard tools (grpcdebug, istioctl-style proxy-status) can ask the
// control plane what each client holds.

import { createRequire } from "node:module";
import type {
  Server,
  ServerDuplexStream,
  ServerUnaryCall,
  ServiceDefinition,
  sendUnaryData,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { ConfigWatcher, NodeStatus, NodeStatusTracker } from "@xdskit/cache";
import type * as EnvoyApi from "@xdskit/envoy-api";
import type { ClientConfig, ClientStatusRequest, ClientStatusResponse } from "@xdskit/envoy-api";
import { Any, ErrorCode, Node, optionError, Timestamp, XdskitError } from "@xdskit/envoy-api/core";
import type { ClientConfig_GenericXdsConfig } from "@xdskit/envoy-api/envoy/service/status/v3/csds";
import type { StringMatcher } from "@xdskit/envoy-api/envoy/type/matcher/v3/string";
// Status codes as numbers, not @grpc/grpc-js `status`: importing @xdskit/server
// must not load grpc-js (about 65 files) before a server is registered.
import type { XdsCall, XdsCallStatus } from "./internal/grpc-stream.js";
import type { Http2Route } from "./internal/http2-transport.js";
import { GrpcCode } from "./internal/stream-rules.js";

/** Options of {@link addCsdsService}, {@link clientStatus} and `XdsServer.serveHttp2`'s `csds`. */
export interface CsdsOptions {
  /** The node status to answer from (e.g. `xds.status`). Required. */
  readonly status: NodeStatusTracker;
  /**
   * The cache, to attach each resource's content (`xds_config`) when the
   * cache still serves the version that was sent. Default: none (no contents).
   */
  readonly cache?: ConfigWatcher;
  /** Most clients in one response; the rest are left out (the oldest first). Default: 1,000. */
  readonly maxClients?: number;
  /**
   * Extra string fields for each client's `node.metadata` in the answer, e.g.
   * which control-plane replica serves it (`xdskit serve` with a shared store
   * sets `xdskit.replica`). Default: none. A throwing function adds nothing.
   */
  readonly nodeMetadata?: (node: NodeStatus) => Readonly<Record<string, string>> | undefined;
}

const DEFAULT_MAX_CLIENTS = 1_000;

// The CSDS messages (and the admin messages they import) are loaded the first
// time a CSDS request is answered, not with @xdskit/server: most servers never
// serve CSDS (docs/benchmarks.md, "Import time"). They come from envoy-api's
// root entry, required (require() of an ES module shares it with `import`, so
// these are the very classes `import "@xdskit/envoy-api"` gives).
const requireHere = createRequire(import.meta.url);
let envoyApi: typeof EnvoyApi | undefined;
function api(): typeof EnvoyApi {
  envoyApi ??= requireHere("@xdskit/envoy-api") as typeof EnvoyApi;
  return envoyApi;
}

/**
 * The paths of the two CSDS methods, as envoy-api's
 * ClientStatusDiscoveryServiceService names them (import-cost.test.ts checks they
 * agree), written here so that registering the service loads no CSDS message.
 * @internal
 */
export const CSDS_METHOD_PATHS = Object.freeze({
  stream: "/envoy.service.status.v3.ClientStatusDiscoveryService/StreamClientStatus",
  fetch: "/envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus",
});

/** The CSDS statuses used here, as the numbers of envoy.admin.v3.ClientResourceStatus and envoy.service.status.v3.ConfigStatus. */
const ClientResourceStatus = { REQUESTED: 1, ACKED: 3, NACKED: 4 } as const;
type ClientResourceStatus = EnvoyApi.ClientResourceStatus;
const ConfigStatus = { SYNCED: 1, STALE: 3, ERROR: 4 } as const;
type ConfigStatus = EnvoyApi.ConfigStatus;

function timestamp(ms: number): Timestamp {
  return Timestamp.fromPartial({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 });
}

function stringMatches(m: StringMatcher, value: string): boolean {
  const v = m.ignoreCase ? value.toLowerCase() : value;
  const c = (s: string) => (m.ignoreCase ? s.toLowerCase() : s);
  if (m.exact !== undefined) return v === c(m.exact);
  if (m.prefix !== undefined) return v.startsWith(c(m.prefix));
  if (m.suffix !== undefined) return v.endsWith(c(m.suffix));
  if (m.contains !== undefined) return v.includes(c(m.contains));
  if (m.safeRegex !== undefined) return new RegExp(`^(?:${m.safeRegex.regex})$`, m.ignoreCase ? "i" : "").test(value);
  throw new XdskitError(
    ErrorCode.PROTOCOL_VIOLATION,
    "CSDS: node_matchers[].node_id uses a string matcher xdskit does not support (custom)",
    {
      path: "node_matchers.node_id",
    },
  );
}

function matches(request: ClientStatusRequest, node: NodeStatus): boolean {
  if (request.nodeMatchers.length === 0) return true;
  return request.nodeMatchers.some((m) => m.nodeId === undefined || stringMatches(m.nodeId, node.nodeId));
}

/** The CSDS statuses of one resource, from what its type's status says. */
function resourceStatus(
  t: NodeStatus["types"][string],
  name: string,
): {
  config: ConfigStatus;
  client: ClientResourceStatus;
  version: string;
  error?: { details: string; at: number; rejectedVersion: string };
} {
  const sent = t.lastSent!;
  const nack = t.lastNack;
  if (nack && nack.nonce === sent.nonce && (nack.resourceNames.length === 0 || nack.resourceNames.includes(name))) {
    return {
      config: ConfigStatus.ERROR,
      client: ClientResourceStatus.NACKED,
      version: nack.keptVersion,
      error: { details: nack.error.message, at: nack.at, rejectedVersion: nack.rejectedVersion },
    };
  }
  if ((t.lastAck && t.lastAck.nonce === sent.nonce) || (nack && nack.nonce === sent.nonce)) {
    return { config: ConfigStatus.SYNCED, client: ClientResourceStatus.ACKED, version: sent.version };
  }
  return { config: ConfigStatus.STALE, client: ClientResourceStatus.REQUESTED, version: sent.version };
}

async function contents(
  cache: ConfigWatcher | undefined,
  node: NodeStatus,
  typeUrl: string,
  version: string,
  names: readonly string[],
): Promise<Map<string, Any>> {
  const out = new Map<string, Any>();
  if (cache === undefined || names.length === 0) return out;
  try {
    const response = await cache.fetch({ node: identityNode(node, undefined), typeUrl, names: new Set(names), versionInfo: "" });
    if (response === undefined || response.version !== version) return out;
    for (const entry of response.resources) out.set(entry.name, Any.fromPartial({ typeUrl, value: entry.bytes }));
  } catch {
    // No contents for a type the cache does not serve; the statuses stand.
  }
  return out;
}

function identityNode(s: NodeStatus, metadata: Readonly<Record<string, string>> | undefined): Node {
  return Node.fromPartial({
    ...(metadata && Object.keys(metadata).length > 0
      ? { metadata: { fields: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, { stringValue: v }])) } }
      : {}),
    id: s.node.id,
    cluster: s.node.cluster,
    userAgentName: s.node.userAgentName,
    ...(s.node.userAgentVersion ? { userAgentVersion: s.node.userAgentVersion } : {}),
    ...(s.node.locality ? { locality: s.node.locality } : {}),
  });
}

/**
 * Answers one CSDS request from node status: one `ClientConfig` per matching
 * node (node id matchers: exact, prefix, suffix, contains, safe regex), with
 * one `generic_xds_configs` entry per resource of the last response of each
 * type: SYNCED/ACKED once ACKed, ERROR/NACKED (with the error detail) when
 * the NACK named it or named nothing, STALE/REQUESTED while unanswered.
 *
 * @throws XdskitError `XDSKIT_PROTOCOL_VIOLATION` for node metadata matchers
 *   (status keeps no metadata) or a custom string matcher.
 */
export async function clientStatus(options: CsdsOptions, request: ClientStatusRequest): Promise<ClientStatusResponse> {
  if (request.nodeMatchers.some((m) => m.nodeMetadatas.length > 0)) {
    throw new XdskitError(
      ErrorCode.PROTOCOL_VIOLATION,
      "CSDS: node_matchers[].node_metadatas is not supported: node status keeps no node metadata; match on node_id",
      { path: "node_matchers.node_metadatas" },
    );
  }
  const max = options.maxClients ?? DEFAULT_MAX_CLIENTS;
  const nodes = options.status.nodes().filter((n) => matches(request, n));
  const config: ClientConfig[] = [];
  for (const node of nodes.slice(-max)) {
    const generic: ClientConfig_GenericXdsConfig[] = [];
    for (const t of Object.values(node.types)) {
      if (!t.lastSent) continue;
      const sent = t.lastSent;
      const bodies = request.excludeResourceContents
        ? new Map<string, Any>()
        : await contents(options.cache, node, t.typeUrl, sent.version, sent.resourceNames);
      for (const name of sent.resourceNames) {
        const s = resourceStatus(t, name);
        generic.push({
          typeUrl: t.typeUrl,
          name,
          versionInfo: s.version,
          ...(bodies.has(name) && s.client !== ClientResourceStatus.NACKED ? { xdsConfig: bodies.get(name) } : {}),
          lastUpdated: timestamp(t.lastAck?.at ?? sent.at),
          configStatus: s.config,
          clientStatus: s.client,
          ...(s.error
            ? { errorState: { details: s.error.details, lastUpdateAttempt: timestamp(s.error.at), versionInfo: s.error.rejectedVersion } }
            : {}),
          isStaticResource: false,
        });
      }
    }
    let metadata: Readonly<Record<string, string>> | undefined;
    try {
      metadata = options.nodeMetadata?.(node);
    } catch {
      metadata = undefined;
    }
    config.push({ node: identityNode(node, metadata), xdsConfig: [], genericXdsConfigs: generic, clientScope: "" });
  }
  return api().ClientStatusResponse.fromPartial({ config });
}

function failure(error: unknown): XdsCallStatus {
  return XdskitError.is(error)
    ? { code: GrpcCode.INVALID_ARGUMENT, details: (error as Error).message }
    : { code: GrpcCode.INTERNAL, details: `CSDS failed: ${(error as Error)?.message ?? String(error)}` };
}

/** What one CSDS request gets: a status (the call ends with it) or the encoded response. */
type CsdsOutcome = { readonly status: XdsCallStatus } | { readonly response: Buffer };

/**
 * Answers one encoded ClientStatusRequest, on either transport: decodes it,
 * answers it with {@link clientStatus} and encodes the response. Never rejects:
 * a request that does not decode or that xdskit cannot answer is
 * INVALID_ARGUMENT, any other failure INTERNAL.
 */
async function answerEncoded(options: CsdsOptions, bytes: Buffer): Promise<CsdsOutcome> {
  let request: ClientStatusRequest;
  try {
    request = api().ClientStatusRequest.decode(bytes);
  } catch (error) {
    return {
      status: { code: GrpcCode.INVALID_ARGUMENT, details: `CSDS: could not decode the ClientStatusRequest: ${(error as Error)?.message}` },
    };
  }
  try {
    const encoded = api()
      .ClientStatusResponse.encode(await clientStatus(options, request))
      .finish();
    return { response: Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength) };
  } catch (error) {
    return { status: failure(error) };
  }
}

/** Requests a CSDS stream may hold unanswered; it is paused while it holds any, so more arrive only from a misbehaving transport. */
const MAX_HELD_REQUESTS = 16;

/**
 * StreamClientStatus on either transport: each request gets one response, in
 * order. The stream reads one request at a time (it is paused while a request
 * is answered and its response is written), so a client that sends faster
 * than it reads is held back by flow control, not buffered here. Ends with OK
 * after the client half-closes and the last answer is written.
 */
function serveClientStatusStream(options: CsdsOptions, call: XdsCall): void {
  const held: Buffer[] = [];
  let busy = false;
  let clientEnded = false;
  let done = false;
  const finish = (status?: XdsCallStatus) => {
    if (done) return;
    done = true;
    held.length = 0;
    if (status === undefined) call.end();
    else call.emit("error", status);
  };
  const next = () => {
    if (done || busy) return;
    const request = held.shift();
    if (request === undefined) {
      if (clientEnded) finish();
      else call.resume();
      return;
    }
    busy = true;
    void answerEncoded(options, request).then((outcome) => {
      if (done) return;
      if ("status" in outcome) {
        finish(outcome.status);
        return;
      }
      call.write(outcome.response, (error) => {
        busy = false;
        if (error)
          done = true; // the client went away
        else next();
      });
    });
  };
  call.on("data", (request: Buffer) => {
    if (done) return;
    held.push(request);
    call.pause();
    if (held.length > MAX_HELD_REQUESTS) {
      finish({ code: GrpcCode.RESOURCE_EXHAUSTED, details: `CSDS: more than ${MAX_HELD_REQUESTS} requests unanswered on one stream` });
      return;
    }
    next();
  });
  call.on("end", () => {
    clientEnded = true;
    next();
  });
  call.on("cancelled", () => {
    done = true;
    held.length = 0;
  });
  call.on("error", () => {});
}

/** FetchClientStatus on either transport. */
function fetchClientStatus(options: CsdsOptions, request: Buffer, answer: (status: XdsCallStatus | null, response?: Buffer) => void): void {
  void answerEncoded(options, request).then((outcome) => ("status" in outcome ? answer(outcome.status) : answer(null, outcome.response)));
}

function checkCsdsOptions(where: string, options: CsdsOptions | undefined): void {
  if (typeof options?.status?.nodes !== "function") {
    throw optionError(where, "status", "a NodeStatusTracker (e.g. xds.status)", options?.status);
  }
  if (options.maxClients !== undefined && (!Number.isInteger(options.maxClients) || options.maxClients < 1)) {
    throw optionError(where, "maxClients", "an integer >= 1", options.maxClients);
  }
}

const rawMessage = (value: Buffer): Buffer => value;

/**
 * Adds `envoy.service.status.v3.ClientStatusDiscoveryService` (StreamClientStatus
 * and FetchClientStatus) to a grpc-js server, answering from node status.
 * Each request on the stream gets one response. On a node:http2 server served
 * by `XdsServer.serveHttp2`, pass these options as its `csds` option instead:
 * both transports answer with the same code.
 *
 * @throws XdskitError `XDSKIT_INVALID_OPTION` without a `status` or with a bad `maxClients`.
 * @example addCsdsService(grpcServer, { status: xds.status!, cache });
 */
export function addCsdsService(server: Server, options: CsdsOptions): void {
  checkCsdsOptions("addCsdsService", options);
  // Raw messages both ways, as XdsServer.register does: decoding and its errors are the shared code's.
  const method = (path: string, streaming: boolean) => ({
    path,
    requestStream: streaming,
    responseStream: streaming,
    requestSerialize: rawMessage,
    requestDeserialize: rawMessage,
    responseSerialize: rawMessage,
    responseDeserialize: rawMessage,
  });
  server.addService(
    {
      streamClientStatus: method(CSDS_METHOD_PATHS.stream, true),
      fetchClientStatus: method(CSDS_METHOD_PATHS.fetch, false),
    } as ServiceDefinition,
    {
      fetchClientStatus: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
        fetchClientStatus(options, call.request, (status, response) =>
          status === null ? callback(null, response) : callback({ ...status, name: "CsdsError", message: status.details }),
        ),
      streamClientStatus: (call: ServerDuplexStream<Buffer, Buffer>) => serveClientStatusStream(options, call as unknown as XdsCall),
    } satisfies UntypedServiceImplementation,
  );
}

/**
 * The CSDS methods as routes of the node:http2 transport (XdsServer.serveHttp2's
 * `csds` option). `track` sees each StreamClientStatus call, so shutdown can end it.
 * @internal
 */
export function csdsHttp2Routes(options: CsdsOptions, track: (call: XdsCall) => void): Map<string, Http2Route> {
  checkCsdsOptions("XdsServer.serveHttp2", options);
  return new Map<string, Http2Route>([
    [
      CSDS_METHOD_PATHS.stream,
      {
        kind: "stream",
        serve: (call) => {
          track(call);
          serveClientStatusStream(options, call);
        },
      },
    ],
    [CSDS_METHOD_PATHS.fetch, { kind: "unary", serve: (call, answer) => fetchClientStatus(options, call.request, answer) }],
  ]);
}
