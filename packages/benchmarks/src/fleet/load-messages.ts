// The protobuf the fleet load generator reads and writes, by hand and on
// bytes: it reads of a response only what it must to ACK (version, nonce and
// type URL, and the cluster names of a CDS response, kept as the encoded
// resource_names of the EDS request), in place in the connection's read
// buffer, and writes each request into one scratch buffer from bytes kept per
// type and per name list, copying version and nonce straight from the
// response. No codec, no strings, no Buffer per message on the hot path: the
// generator spends its core on the connection, and the server stays the
// bottleneck.
//
// Field numbers (envoy.service.discovery.v3):
//   DiscoveryResponse / DeltaDiscoveryResponse: (system_)version_info 1, resources 2,
//     type_url 4, nonce 5; Any.value 2 holding a Cluster (name 1); Resource.name 3.
//   DiscoveryRequest: version_info 1, node 2, resource_names 3, type_url 4, response_nonce 5.
//   DeltaDiscoveryRequest: node 1, type_url 2, resource_names_subscribe 3, response_nonce 6.
//   Node: id 1, cluster 2.
import { TypeUrl } from "@xdskit/envoy-api";
import { copyBytes } from "./bytes.js";

/** The four types, in subscription order; a type is its index here. */
export const TYPE_URLS = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration] as const;
export const CDS = 0;
export const EDS = 1;
export const LDS = 2;
export const RDS = 3;
const TYPE_BYTES = TYPE_URLS.map((t) => Buffer.from(t, "latin1"));

/** What {@link scan} reads of a response: offsets into the buffer it was read from, valid while the bytes are. */
export interface Head {
  /** The index in {@link TYPE_URLS}, or -1 for another type URL (`typeStart`..`typeEnd`). */
  type: number;
  typeStart: number;
  typeEnd: number;
  versionStart: number;
  versionEnd: number;
  nonceStart: number;
  nonceEnd: number;
  /** With `wantNames`: the cluster names, encoded as repeated field 3 (resource names of an EDS request). */
  names: Buffer | undefined;
}

export const newHead = (): Head => ({
  type: -1,
  typeStart: 0,
  typeEnd: 0,
  versionStart: 0,
  versionEnd: 0,
  nonceStart: 0,
  nonceEnd: 0,
  names: undefined,
});

/** The offset after the last varint read ({@link varint} returns the value). */
let next = 0;

function varint(bytes: Uint8Array, at: number): number {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      next = at;
      return value;
    }
    shift += 7;
  }
}

/** Skips a field of wire type `wire` at `at`; returns the offset after it. */
function skip(bytes: Uint8Array, wire: number, at: number): number {
  switch (wire) {
    case 0:
      varint(bytes, at);
      return next;
    case 1:
      return at + 8;
    case 5:
      return at + 4;
    case 2:
      return varint(bytes, at) + next;
    default:
      throw new Error(`unexpected wire type ${wire}`);
  }
}

/** Name ranges (start, end pairs) gathered by a scan. */
const ranges: number[] = [];

/**
 * Reads the DiscoveryResponse (or, with `delta`, the DeltaDiscoveryResponse) in `bytes[start, end)`
 * into `head`. With `wantNames`, the resource names too: SotW reads each Any's Cluster.name, delta
 * each Resource.name.
 */
export function scan(bytes: Buffer, start: number, end: number, delta: boolean, wantNames: boolean, head: Head): Head {
  head.type = -1;
  head.typeStart = head.typeEnd = head.versionStart = head.versionEnd = head.nonceStart = head.nonceEnd = 0;
  head.names = undefined;
  ranges.length = 0;
  let at = start;
  while (at < end) {
    const tag = varint(bytes, at);
    at = next;
    if ((tag & 7) !== 2) {
      at = skip(bytes, tag & 7, at);
      continue;
    }
    const length = varint(bytes, at);
    const s = next;
    const e = s + length;
    switch (tag >>> 3) {
      case 1:
        head.versionStart = s;
        head.versionEnd = e;
        break;
      case 2:
        if (wantNames) (delta ? resourceName : anyClusterName)(bytes, s, e);
        break;
      case 4:
        head.typeStart = s;
        head.typeEnd = e;
        break;
      case 5:
        head.nonceStart = s;
        head.nonceEnd = e;
        break;
    }
    at = e;
  }
  for (let t = 0; t < TYPE_BYTES.length; t++) {
    if (same(TYPE_BYTES[t]!, bytes, head.typeStart, head.typeEnd)) {
      head.type = t;
      break;
    }
  }
  if (wantNames) head.names = encodeRanges(bytes);
  return head;
}

/** Whether `bytes[start, end)` equals `want` (compared from the end, where type URLs differ). */
function same(want: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start !== want.length) return false;
  for (let i = want.length - 1; i >= 0; i--) if (want[i] !== bytes[start + i]) return false;
  return true;
}

/** Field `field` (length-delimited) of the message in `start`..`end`, or -1 (start in `next`). */
function find(bytes: Uint8Array, start: number, end: number, field: number): number {
  let at = start;
  while (at < end) {
    const tag = varint(bytes, at);
    at = next;
    if ((tag & 7) !== 2) {
      at = skip(bytes, tag & 7, at);
      continue;
    }
    const length = varint(bytes, at);
    if (tag >>> 3 === field) return length; // value from `next`
    at = next + length;
  }
  return -1;
}

/** Any { value 2: Cluster { name 1 } } */
function anyClusterName(bytes: Uint8Array, start: number, end: number): void {
  const length = find(bytes, start, end, 2);
  if (length < 0) return;
  const s = next;
  const nameLength = find(bytes, s, s + length, 1);
  if (nameLength >= 0) ranges.push(next, next + nameLength);
}

/** Resource { name 3 } */
function resourceName(bytes: Uint8Array, start: number, end: number): void {
  const length = find(bytes, start, end, 3);
  if (length >= 0) ranges.push(next, next + length);
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 128) {
    out[at++] = (n & 127) | 128;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** The gathered name ranges as repeated field 3. */
function encodeRanges(bytes: Buffer): Buffer {
  let size = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const n = ranges[i + 1]! - ranges[i]!;
    size += 1 + varintSize(n) + n;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    out[at++] = (3 << 3) | 2;
    at = writeVarint(out, at, ranges[i + 1]! - ranges[i]!);
    at += copyBytes(bytes, ranges[i]!, ranges[i + 1]!, out, at);
  }
  return out;
}

/** Field `field` (length-delimited) holding `value`, encoded. */
function lengthDelimited(field: number, value: string | Buffer): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const out = Buffer.allocUnsafe(1 + varintSize(bytes.length) + bytes.length);
  out[0] = (field << 3) | 2;
  bytes.copy(out, writeVarint(out, 1, bytes.length));
  return out;
}

/** Repeated string field 3 (resource_names, or resource_names_subscribe) holding `names`, encoded once per list. */
export function encodeNames(names: readonly string[]): Buffer {
  return Buffer.concat(names.map((name) => lengthDelimited(3, name)));
}

export const NO_NAMES = Buffer.alloc(0);
/** resource_names_subscribe "*" (delta's wildcard). */
export const STAR = encodeNames(["*"]);
const TYPE_FIELD = {
  sotw: TYPE_URLS.map((t) => lengthDelimited(4, t)),
  delta: TYPE_URLS.map((t) => lengthDelimited(2, t)),
};

/**
 * Requests are written here, one at a time: each writer below returns the length written from
 * offset 0 (gRPC framing included), and the caller sends `output()[0, length)` before writing the
 * next. The buffer grows when a request needs more.
 */
let out = Buffer.allocUnsafe(64 * 1024);
export const output = (): Buffer => out;

/** Makes room for a message of `length` bytes and writes its gRPC prefix (uncompressed); returns 5. */
function grpcPrefix(length: number): number {
  if (out.length < 5 + length) out = Buffer.allocUnsafe(Math.max(2 * out.length, 5 + length));
  out[0] = 0;
  out.writeUInt32BE(length, 1);
  return 5;
}

/** Field `field` (length-delimited) holding `bytes[start, end)`, written at `at`; returns the offset after it. */
function writeField(field: number, bytes: Uint8Array, start: number, end: number, at: number): number {
  out[at++] = (field << 3) | 2;
  at = writeVarint(out, at, end - start);
  return at + copyBytes(bytes, start, end, out, at);
}

const fieldSize = (length: number): number => 1 + varintSize(length) + length;

/**
 * A request subscribing to `type`: SotW with `names` as resource_names (an empty list is the
 * wildcard), delta with `names` as resource_names_subscribe. Returns its length in {@link output}.
 */
export function subscribe(delta: boolean, type: number, names: Buffer): number {
  const typeField = (delta ? TYPE_FIELD.delta : TYPE_FIELD.sotw)[type]!;
  // SotW: resource_names 3 before type_url 4; delta: type_url 2 before resource_names_subscribe 3.
  const [a, b] = delta ? [typeField, names] : [names, typeField];
  let at = grpcPrefix(a.length + b.length);
  at += copyBytes(a, 0, a.length, out, at);
  return at + copyBytes(b, 0, b.length, out, at);
}

/**
 * The ACK of the response scanned into `head` (from `bytes`): SotW repeats the version, the names
 * (`names`: the subscription's resource_names) and the nonce; delta sends the type URL and the
 * nonce only. Returns its length in {@link output}.
 */
export function ack(delta: boolean, type: number, names: Buffer, bytes: Buffer, head: Head): number {
  const nonceLength = head.nonceEnd - head.nonceStart;
  const nonceSize = nonceLength === 0 ? 0 : fieldSize(nonceLength);
  if (delta) {
    const typeField = TYPE_FIELD.delta[type]!;
    let at = grpcPrefix(typeField.length + nonceSize);
    at += copyBytes(typeField, 0, typeField.length, out, at);
    return nonceLength === 0 ? at : writeField(6, bytes, head.nonceStart, head.nonceEnd, at);
  }
  const versionLength = head.versionEnd - head.versionStart;
  const typeField = TYPE_FIELD.sotw[type]!;
  const versionSize = versionLength === 0 ? 0 : fieldSize(versionLength);
  let at = grpcPrefix(versionSize + names.length + typeField.length + nonceSize);
  if (versionLength > 0) at = writeField(1, bytes, head.versionStart, head.versionEnd, at);
  at += copyBytes(names, 0, names.length, out, at);
  at += copyBytes(typeField, 0, typeField.length, out, at);
  return nonceLength === 0 ? at : writeField(5, bytes, head.nonceStart, head.nonceEnd, at);
}

/**
 * The first request of a stream: the node (id and cluster) and the CDS wildcard subscription
 * (SotW: no resource names; delta: resource_names_subscribe "*"). Returns its length in {@link output}.
 */
export function firstRequest(delta: boolean, nodeId: string, cluster: string): number {
  const node = Buffer.concat([lengthDelimited(1, nodeId), lengthDelimited(2, cluster)]);
  const parts = delta ? [lengthDelimited(1, node), TYPE_FIELD.delta[CDS]!, STAR] : [lengthDelimited(2, node), TYPE_FIELD.sotw[CDS]!];
  let at = grpcPrefix(parts.reduce((sum, part) => sum + part.length, 0));
  for (const part of parts) at += copyBytes(part, 0, part.length, out, at);
  return at;
}

/**
 * A gRPC-framed response of `type` shaped like the fleet fixture's (`count` resources named
 * `<type>-<i>`, each a few dozen bytes; CDS resources are Clusters whose name is read), for the
 * generator to warm up on before it measures anything.
 */
export function sampleResponse(delta: boolean, type: number, count: number, nonce: string): Buffer {
  const typeUrl = TYPE_URLS[type]!;
  const resources = Array.from({ length: count }, (_, i) => {
    const name = `${type === CDS ? "cluster" : "resource"}-${i}`;
    const value = Buffer.concat([lengthDelimited(1, name), lengthDelimited(7, "x".repeat(40))]);
    const any = Buffer.concat([lengthDelimited(1, typeUrl), lengthDelimited(2, value)]);
    return lengthDelimited(2, delta ? Buffer.concat([lengthDelimited(3, name), lengthDelimited(1, "1"), lengthDelimited(2, any)]) : any);
  });
  const body = Buffer.concat([lengthDelimited(1, "v1"), ...resources, lengthDelimited(4, typeUrl), lengthDelimited(5, nonce)]);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}
