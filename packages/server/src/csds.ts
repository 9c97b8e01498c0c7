// Envoy's Client Status Discovery Service (CSDS), served from node status:
// per connected client and resource, whether it was sent, ACKed or NACKed,
// so standard tools (grpcdebug, istioctl-style proxy-status) can ask the
// control plane what each client holds.
import type { Server, ServerDuplexStream, ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import type { ConfigWatcher, NodeStatus, NodeStatusTracker } from "@xdskit/cache";
import { Any, ClientStatusDiscoveryServiceService, ErrorCode, optionError, XdskitError } from "@xdskit/envoy-api";
import { ClientResourceStatus } from "@xdskit/envoy-api/envoy/admin/v3/config_dump_shared";
import { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import {
  type ClientConfig,
  type ClientConfig_GenericXdsConfig,
  type ClientStatusRequest,
  ClientStatusResponse,
  ConfigStatus,
} from "@xdskit/envoy-api/envoy/service/status/v3/csds";
import type { StringMatcher } from "@xdskit/envoy-api/envoy/type/matcher/v3/string";
import { Timestamp } from "@xdskit/envoy-api/google/protobuf/timestamp";
// Status codes as numbers, not @grpc/grpc-js `status`: importing @xdskit/server
// must not load grpc-js (about 65 files) before a server is registered.
import { GrpcCode } from "./internal/stream-rules.js";

/** Options of {@link addCsdsService} and {@link clientStatus}. */
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
  return ClientStatusResponse.fromPartial({ config });
}

function failure(error: unknown): { code: number; details: string } {
  return XdskitError.is(error)
    ? { code: GrpcCode.INVALID_ARGUMENT, details: error.message }
    : { code: GrpcCode.INTERNAL, details: `CSDS failed: ${(error as Error)?.message ?? String(error)}` };
}

/**
 * Adds `envoy.service.status.v3.ClientStatusDiscoveryService` (StreamClientStatus
 * and FetchClientStatus) to a grpc-js server, answering from node status.
 * Each request on the stream gets one response.
 *
 * @example addCsdsService(grpcServer, { status: xds.status!, cache });
 */
export function addCsdsService(server: Server, options: CsdsOptions): void {
  if (typeof options?.status?.nodes !== "function") {
    throw optionError("addCsdsService", "status", "a NodeStatusTracker (e.g. xds.status)", options?.status);
  }
  server.addService(ClientStatusDiscoveryServiceService, {
    fetchClientStatus: (
      call: ServerUnaryCall<ClientStatusRequest, ClientStatusResponse>,
      callback: sendUnaryData<ClientStatusResponse>,
    ) => {
      clientStatus(options, call.request).then(
        (response) => callback(null, response),
        (error) => callback(failure(error)),
      );
    },
    streamClientStatus: (call: ServerDuplexStream<ClientStatusRequest, ClientStatusResponse>) => {
      let chain: Promise<unknown> = Promise.resolve();
      call.on("data", (request: ClientStatusRequest) => {
        chain = chain.then(() =>
          clientStatus(options, request).then(
            (response) => {
              if (!call.cancelled) call.write(response);
            },
            (error) => call.destroy(Object.assign(new Error(failure(error).details), failure(error))),
          ),
        );
      });
      call.on("end", () => void chain.then(() => call.end()));
      call.on("error", () => {});
    },
  });
}
