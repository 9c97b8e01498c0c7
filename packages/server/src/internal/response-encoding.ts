// Builds response messages from the cache's stored encodings: each resource's
// `bytes` goes into an Any as is (never decoded or re-encoded). Resources with
// a TTL, and heartbeats, are wrapped in envoy.service.discovery.v3.Resource.
import type { DeltaResponse, ResourceEntry, SotwResponse } from "@xdskit/cache";
import { type Any, DeltaDiscoveryResponse, DiscoveryResponse, Duration, Resource, TypeUrl } from "@xdskit/envoy-api/core";

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

// Protobuf fields written by hand: a response is a few string fields around
// bytes framed once and shared, so one exactly sized buffer per message
// replaces the generated writer's growing buffer and the concatenation after it.
// Every tag used here is below 16, so a tag is one byte.
const TAG_VERSION = 0x0a; // DiscoveryResponse.version_info, DeltaDiscoveryResponse.system_version_info (1, length-delimited)
const TAG_TYPE_URL = 0x22; // type_url (4)
const TAG_NONCE = 0x2a; // nonce (5)
const TAG_REMOVED = 0x32; // DeltaDiscoveryResponse.removed_resources (6)

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/** Bytes of a string field that proto3 writes only when not empty (`always` for repeated values). */
function stringFieldSize(value: string, always = false): number {
  if (value === "" && !always) return 0;
  const bytes = Buffer.byteLength(value);
  return 1 + varintSize(bytes) + bytes;
}

function writeStringField(out: Buffer, at: number, tag: number, value: string, always = false): number {
  if (value === "" && !always) return at;
  out[at++] = tag;
  at = writeVarint(out, at, Buffer.byteLength(value));
  return at + out.write(value, at);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Encoded responses kept per shared resource list (SotW) or per first entry (delta), for streams whose version, type URL and nonce agree. */
export const SHARED_MESSAGES_PER_LIST = 4;

// Per resource list (caches hand the same frozen list to every stream of a
// node group, e.g. a wildcard's full set): the encoded `resources` field,
// framed once per update, and the last few whole messages. Streams of one
// group see the same sequence of responses, so their per-stream nonces
// (decimal counters) mostly agree and they are sent the very same buffer: no
// encoding and no copy per stream (grpc-js copies it once behind its frame
// header). Both live as long as the list: a WeakMap, so a replaced snapshot
// frees them; at most SHARED_MESSAGES_PER_LIST messages per list.
interface SharedSotw {
  readonly body: Buffer;
  readonly messages: Map<string, Buffer>;
}
const sharedSotw = new WeakMap<readonly ResourceEntry[], SharedSotw>();

function sotwBody(resources: readonly ResourceEntry[], heartbeat: boolean): Buffer {
  const message: DiscoveryResponse = {
    versionInfo: "",
    resources: resources.map((e) => sotwAny(e, heartbeat)),
    canary: false,
    typeUrl: "",
    nonce: "",
    controlPlane: undefined,
  };
  return toBuffer(DiscoveryResponse.encode(message).finish());
}

function frameSotw(body: Buffer, version: string, typeUrl: string, nonce: string): Buffer {
  const out = Buffer.allocUnsafe(stringFieldSize(version) + stringFieldSize(typeUrl) + stringFieldSize(nonce) + body.length);
  let at = writeStringField(out, 0, TAG_VERSION, version);
  at = writeStringField(out, at, TAG_TYPE_URL, typeUrl);
  at = writeStringField(out, at, TAG_NONCE, nonce);
  body.copy(out, at);
  return out;
}

/**
 * Encodes a SotW response with its nonce: the stream's own fields followed by
 * the shared resources field (protobuf fields may come in any order). The
 * returned buffer may be shared with other streams: never modify it.
 */
export function encodeSotw(response: SotwResponse, nonce: string): Buffer {
  const resources = response.resources;
  if (response.heartbeat === true) return frameSotw(sotwBody(resources, true), response.version, response.typeUrl, nonce);
  let shared = sharedSotw.get(resources);
  if (shared === undefined) {
    shared = { body: sotwBody(resources, false), messages: new Map() };
    sharedSotw.set(resources, shared);
  }
  const key = `${response.version}\n${response.typeUrl}\n${nonce}`;
  let message = shared.messages.get(key);
  if (message === undefined) {
    message = frameSotw(shared.body, response.version, response.typeUrl, nonce);
    if (shared.messages.size >= SHARED_MESSAGES_PER_LIST) shared.messages.delete(shared.messages.keys().next().value!);
    shared.messages.set(key, message);
  }
  return message;
}

// The resource names of a list, as a set and as an array, computed once per
// shared list instead of once per stream (what a SotW stream records as sent
// and reports in its response event). Read-only: never modify them.
const namesByList = new WeakMap<readonly ResourceEntry[], { readonly set: ReadonlySet<string>; readonly list: readonly string[] }>();

/** True when both sets hold the same names. */
export function sameNames(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  // A shared set's list is walked by index: no iterator result per name (this runs per response).
  const list = listOfSet.get(a);
  if (list !== undefined) {
    for (let i = 0; i < list.length; i++) if (!b.has(list[i]!)) return false;
    return true;
  }
  for (const name of a) if (!b.has(name)) return false;
  return true;
}

/**
 * The names of a shared set in its order, for the sets a SotW stream shares (the names of a
 * sent list, and the subscriptions of sotw-stream.ts): comparing a request's list with a set
 * then walks two arrays by index, with no iterator or closure per comparison. Both never
 * change once registered.
 */
const listOfSet = new WeakMap<ReadonlySet<string>, readonly string[]>();

/** Registers `list` as the names of `set` in its order (only when it is: same size, built from it). */
export function registerNameList(set: ReadonlySet<string>, list: readonly string[]): void {
  if (set.size === list.length) listOfSet.set(set, list);
}

/** The names of a registered set in its order; undefined for any other set. */
export function nameListOf(set: ReadonlySet<string>): readonly string[] | undefined {
  return listOfSet.get(set);
}

/** The names of `resources`, shared by every stream sent the same list. */
export function namesOf(resources: readonly ResourceEntry[]): { readonly set: ReadonlySet<string>; readonly list: readonly string[] } {
  let names = namesByList.get(resources);
  if (names === undefined) {
    const list = Object.freeze(resources.map((e) => e.name));
    names = { set: new Set(list), list };
    registerNameList(names.set, list);
    namesByList.set(resources, names);
  }
  return names;
}

// The names of a delta chunk, as its event reports them (and node status
// keeps them): one frozen list shared by the streams sent the same entries,
// keyed and matched like the shared messages below. An idle delta stream
// otherwise holds its own copy per type (100 names of clusters, 100 of
// endpoints in the fleet benchmark).
interface SharedNames {
  readonly resources: readonly ResourceEntry[];
  readonly names: readonly string[];
}
const sharedNames = new WeakMap<ResourceEntry, SharedNames[]>();
const NO_NAMES: readonly string[] = Object.freeze([]);

/** The names of `resources` in order, as a frozen list shared with other streams sent the same entries. */
export function chunkNames(resources: readonly ResourceEntry[]): readonly string[] {
  const first = resources[0];
  if (first === undefined) return NO_NAMES;
  let kept = sharedNames.get(first);
  const hit = kept?.find((shared) => sameItems(shared.resources, resources));
  if (hit !== undefined) return hit.names;
  const names = Object.freeze(resources.map((e) => e.name));
  if (kept === undefined) {
    kept = [];
    sharedNames.set(first, kept);
  }
  if (kept.length >= SHARED_MESSAGES_PER_LIST) kept.shift();
  kept.push({ resources, names });
  return names;
}

/** Whether two lists hold the same items (by identity) in the same order; the same list at once. */
function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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

// Whole delta messages shared between streams: a uniform fleet sends every
// stream the same entries (the cache's own immutable objects) under the same
// system version, type URL and nonce, though each stream's chunk is its own
// array. Keyed by the first entry (a WeakMap, freed with the entry), at most
// SHARED_MESSAGES_PER_LIST messages each, matched by comparing the entries by
// identity, which costs far less than building and copying the message again.
interface SharedDelta {
  readonly resources: readonly ResourceEntry[];
  readonly removed: readonly string[];
  readonly key: string;
  readonly message: Buffer;
}
const sharedDelta = new WeakMap<ResourceEntry, SharedDelta[]>();

function sameChunk(shared: SharedDelta, chunk: DeltaChunk, key: string): boolean {
  return shared.key === key && sameItems(shared.resources, chunk.resources) && sameItems(shared.removed, chunk.removed);
}

/**
 * Encodes one delta message with its nonce. The bytes equal what
 * `DeltaDiscoveryResponse.encode` gives, which writes fields in this order:
 * system_version_info, resources, type_url, removed_resources, nonce. So the
 * message is the stream's head (version), each entry's precomputed field, and
 * the stream's tail (type URL, removed names, nonce), written into one buffer
 * of the exact size. The returned buffer may be shared with other streams
 * that were sent the same entries with the same nonce: never modify it.
 */
export function encodeDelta(response: DeltaResponse, chunk: DeltaChunk, nonce: string): Buffer {
  const heartbeat = response.heartbeat === true;
  const first = heartbeat ? undefined : chunk.resources[0];
  if (first === undefined) return buildDelta(response, chunk, nonce, heartbeat);
  const key = `${response.systemVersion}\n${response.typeUrl}\n${nonce}`;
  let kept = sharedDelta.get(first);
  const hit = kept?.find((shared) => sameChunk(shared, chunk, key));
  if (hit !== undefined) return hit.message;
  const message = buildDelta(response, chunk, nonce, false);
  if (kept === undefined) {
    kept = [];
    sharedDelta.set(first, kept);
  }
  if (kept.length >= SHARED_MESSAGES_PER_LIST) kept.shift();
  kept.push({ resources: chunk.resources, removed: chunk.removed, key, message });
  return message;
}

function buildDelta(response: DeltaResponse, chunk: DeltaChunk, nonce: string, heartbeat: boolean): Buffer {
  let size = stringFieldSize(response.systemVersion) + stringFieldSize(response.typeUrl) + stringFieldSize(nonce);
  const fields = chunk.resources.map((entry) => deltaField(entry, heartbeat));
  for (const field of fields) size += field.length;
  for (const name of chunk.removed) size += stringFieldSize(name, true);
  const out = Buffer.allocUnsafe(size);
  let at = writeStringField(out, 0, TAG_VERSION, response.systemVersion);
  for (const field of fields) {
    out.set(field, at);
    at += field.length;
  }
  at = writeStringField(out, at, TAG_TYPE_URL, response.typeUrl);
  for (const name of chunk.removed) at = writeStringField(out, at, TAG_REMOVED, name, true);
  writeStringField(out, at, TAG_NONCE, nonce);
  return out;
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
  // Most responses fit in one message: it is the response's own lists (shared with other
  // streams sent the same answer), not copies.
  let total = base;
  for (let i = 0; i < response.resources.length; i++) total += estimateEntryBytes(response.resources[i]!);
  for (let i = 0; i < response.removed.length; i++) total += response.removed[i]!.length * 3 + 8;
  if (total <= limit) return [{ resources: response.resources, removed: response.removed }];
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
