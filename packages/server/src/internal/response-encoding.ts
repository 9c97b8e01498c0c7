// Builds response messages from the cache's stored encodings: each resource's
// `bytes` goes into an Any as is (never decoded or re-encoded). Resources with
// a TTL, and heartbeats, are wrapped in envoy.service.discovery.v3.Resource.
import type { DeltaResponse, ResourceEntry, SotwResponse } from "@xdskit/cache";
import { type Any, DeltaDiscoveryResponse, DiscoveryResponse, Resource, TypeUrl } from "@xdskit/envoy-api";
import { Duration } from "@xdskit/envoy-api/google/protobuf/duration";

function ttlOf(entry: ResourceEntry): Duration | undefined {
  if (entry.ttlMs === undefined) return undefined;
  const ms = Math.max(0, Math.floor(entry.ttlMs));
  return Duration.fromPartial({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 });
}

function wrapped(entry: ResourceEntry, heartbeat: boolean): Resource {
  return {
    name: entry.name,
    resourceName: undefined,
    aliases: [],
    version: entry.version,
    resource: heartbeat ? undefined : { typeUrl: entry.typeUrl, value: entry.bytes },
    ttl: ttlOf(entry),
    cacheControl: undefined,
    metadata: undefined,
  };
}

/** The Any a SotW response carries for one resource. */
export function sotwAny(entry: ResourceEntry, heartbeat: boolean): Any {
  if (!heartbeat && entry.ttlMs === undefined) return { typeUrl: entry.typeUrl, value: entry.bytes };
  return { typeUrl: TypeUrl.Resource, value: Resource.encode(wrapped(entry, heartbeat)).finish() };
}

// The encoded `resources` field of a SotW response, per resource list. Caches
// hand the same frozen list to every stream of a node group (e.g. a
// wildcard's full set), so the Anys are framed once per update, not once per
// stream; each stream only adds its version, type URL and nonce.
const bodies = new WeakMap<readonly ResourceEntry[], Buffer>();

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function sotwBody(resources: readonly ResourceEntry[], heartbeat: boolean): Buffer {
  const cached = heartbeat ? undefined : bodies.get(resources);
  if (cached !== undefined) return cached;
  const message: DiscoveryResponse = {
    versionInfo: "",
    resources: resources.map((e) => sotwAny(e, heartbeat)),
    canary: false,
    typeUrl: "",
    nonce: "",
    controlPlane: undefined,
  };
  const body = toBuffer(DiscoveryResponse.encode(message).finish());
  if (!heartbeat) bodies.set(resources, body);
  return body;
}

/**
 * Encodes a SotW response with its nonce: the stream's own fields followed by
 * the shared resources field (protobuf fields may come in any order).
 */
export function encodeSotw(response: SotwResponse, nonce: string): Buffer {
  const head: DiscoveryResponse = {
    versionInfo: response.version,
    resources: [],
    canary: false,
    typeUrl: response.typeUrl,
    nonce,
    controlPlane: undefined,
  };
  return Buffer.concat([toBuffer(DiscoveryResponse.encode(head).finish()), sotwBody(response.resources, response.heartbeat === true)]);
}

/** One message of a (possibly split) delta response. */
export interface DeltaChunk {
  readonly resources: readonly ResourceEntry[];
  readonly removed: readonly string[];
}

// The encoded `resources` field of a delta response (tag, length, Resource),
// per entry: entries are immutable and shared by every stream that is sent
// them, so each is wrapped and framed once, not once per stream. Heartbeats
// (no body) are framed apart from full sends.
const deltaFields = new WeakMap<ResourceEntry, Uint8Array>();
const heartbeatFields = new WeakMap<ResourceEntry, Uint8Array>();

function deltaField(entry: ResourceEntry, heartbeat: boolean): Uint8Array {
  const fields = heartbeat ? heartbeatFields : deltaFields;
  let field = fields.get(entry);
  if (field === undefined) {
    field = DeltaDiscoveryResponse.encode(deltaMessage("", [wrapped(entry, heartbeat)], "", [], "")).finish();
    fields.set(entry, field);
  }
  return field;
}

function deltaMessage(
  systemVersionInfo: string,
  resources: Resource[],
  typeUrl: string,
  removed: string[],
  nonce: string,
): DeltaDiscoveryResponse {
  return { systemVersionInfo, resources, typeUrl, removedResources: removed, removedResourceNames: [], nonce, controlPlane: undefined };
}

/**
 * Encodes one delta message with its nonce. The bytes equal what
 * `DeltaDiscoveryResponse.encode` gives, which writes fields in this order:
 * system_version_info, resources, type_url, removed_resources, nonce. So the
 * message is the stream's head (version), each entry's precomputed field, and
 * the stream's tail (type URL, removed names, nonce).
 */
export function encodeDelta(response: DeltaResponse, chunk: DeltaChunk, nonce: string): Buffer {
  const heartbeat = response.heartbeat === true;
  const parts: Uint8Array[] = [DeltaDiscoveryResponse.encode(deltaMessage(response.systemVersion, [], "", [], "")).finish()];
  for (const entry of chunk.resources) parts.push(deltaField(entry, heartbeat));
  parts.push(DeltaDiscoveryResponse.encode(deltaMessage("", [], response.typeUrl, [...chunk.removed], nonce)).finish());
  return Buffer.concat(parts);
}

/** An upper bound of what one resource adds to a response, in bytes. */
export function estimateEntryBytes(entry: ResourceEntry): number {
  // Any/Resource framing, name, version, type URL, TTL: generous constants.
  return entry.bytes.length + 2 * entry.name.length + entry.version.length + entry.typeUrl.length + TypeUrl.Resource.length + 48;
}

/** Why a response cannot be sent within the size limit. */
export interface TooLarge {
  readonly tooLarge: true;
  /** The resource that alone exceeds the limit, if one does. */
  readonly resourceName?: string;
  readonly bytes: number;
}

/**
 * Splits a delta response into messages whose estimated size stays under
 * `limit` bytes. Removed names go in the last message, after every update.
 */
export function splitDelta(response: DeltaResponse, limit: number): DeltaChunk[] | TooLarge {
  const base = 64 + response.typeUrl.length + response.systemVersion.length;
  const chunks: DeltaChunk[] = [];
  let current: ResourceEntry[] = [];
  let size = base;
  for (const entry of response.resources) {
    const bytes = estimateEntryBytes(entry);
    if (base + bytes > limit) return { tooLarge: true, resourceName: entry.name, bytes: base + bytes };
    if (size + bytes > limit && current.length > 0) {
      chunks.push({ resources: current, removed: [] });
      current = [];
      size = base;
    }
    current.push(entry);
    size += bytes;
  }
  let removed: string[] = [];
  for (const name of response.removed) {
    const bytes = name.length * 3 + 8;
    if (size + bytes > limit && (current.length > 0 || removed.length > 0)) {
      chunks.push({ resources: current, removed });
      current = [];
      removed = [];
      size = base;
    }
    removed.push(name);
    size += bytes;
  }
  if (current.length > 0 || removed.length > 0 || chunks.length === 0) chunks.push({ resources: current, removed });
  return chunks;
}
