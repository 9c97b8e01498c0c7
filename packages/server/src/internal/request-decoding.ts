// Decodes the DiscoveryRequest of a SotW stream. The same message the
// generated codec gives, decoded by hand, because of one field: a SotW client
// repeats its whole subscription in every request (an Envoy ACKing endpoints
// lists every cluster again), so the same resource_names bytes arrive over
// and over, from every proxy of a fleet. Byte for byte the same run of names
// is decoded once and shared (a frozen array, found again by comparing bytes)
// while it keeps arriving; decoding them afresh was the largest share of what
// a fleet's initial sync allocated.
import type { DiscoveryRequest } from "@xdskit/envoy-api";
import { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { ResourceLocator } from "@xdskit/envoy-api/envoy/service/discovery/v3/discovery";
import { Status } from "@xdskit/envoy-api/google/rpc/status";

/** Runs of names remembered, by their byte length (the most recent per length). */
const RECENT_RUNS = 32;
/** Runs shorter than this are decoded each time: comparing would not save anything. */
const MIN_RUN_BYTES = 64;
/**
 * Runs longer than this are decoded each time and never remembered, so what a
 * client sends can hold at most RECENT_RUNS × MAX_RUN_BYTES (8 MiB) here.
 * 256 KiB is several thousand names a request.
 */
const MAX_RUN_BYTES = 256 * 1024;

interface NameRun {
  readonly bytes: Buffer;
  readonly names: readonly string[];
}
const recentRuns = new Map<number, NameRun>();

function truncated(): Error {
  return new Error("truncated message (a field runs past the end)");
}

/** Reads a varint at `at.i` (up to 2^53), advancing it. */
function varint(bytes: Uint8Array, at: { i: number }): number {
  let value = 0;
  let scale = 1;
  for (let n = 0; n < 8; n++) {
    if (at.i >= bytes.length) throw truncated();
    const b = bytes[at.i++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
    scale *= 128;
  }
  // A 64-bit varint's last bytes: read and drop (only lengths and tags are read here).
  for (let n = 8; n < 10; n++) {
    if (at.i >= bytes.length) throw truncated();
    if (bytes[at.i++]! < 0x80) return value;
  }
  throw new Error("malformed varint (more than 10 bytes)");
}

function skip(bytes: Uint8Array, at: { i: number }, wireType: number): void {
  switch (wireType) {
    case 0:
      varint(bytes, at);
      return;
    case 1:
      at.i += 8;
      break;
    case 2:
      at.i += varint(bytes, at);
      break;
    case 5:
      at.i += 4;
      break;
    default:
      throw new Error(`unsupported wire type ${wireType}`);
  }
  if (at.i > bytes.length) throw truncated();
}

/** The names of the fields at `spans` (start and end offsets of each name, in pairs). */
function namesAtSpans(buffer: Buffer, spans: readonly number[]): string[] {
  const names: string[] = [];
  for (let k = 0; k < spans.length; k += 2) names.push(buffer.toString("utf8", spans[k], spans[k + 1]));
  return names;
}

/** The start and end offsets of each name in a run of resource_names fields (`start` to `end`). */
function spansOfRun(buffer: Buffer, start: number, end: number): number[] {
  const spans: number[] = [];
  const at = { i: start };
  while (at.i < end) {
    varint(buffer, at);
    const length = varint(buffer, at);
    spans.push(at.i, at.i + length);
    at.i += length;
  }
  return spans;
}

/**
 * The names of a run of consecutive resource_names fields (`start` to `end`, already
 * checked by the caller): the frozen array of the last request whose run had the same
 * bytes, else decoded (and remembered). No offsets are collected on the way in: most runs
 * are found again, and a run that is not is read a second time.
 */
function namesOfRun(buffer: Buffer, start: number, end: number): string[] {
  const shareable = end - start >= MIN_RUN_BYTES && end - start <= MAX_RUN_BYTES;
  if (shareable) {
    const known = recentRuns.get(end - start);
    if (known !== undefined && buffer.compare(known.bytes, 0, known.bytes.length, start, end) === 0) return known.names as string[];
  }
  const names = namesAtSpans(buffer, spansOfRun(buffer, start, end));
  if (!shareable) return names;
  const run = { bytes: Buffer.from(buffer.subarray(start, end)), names: Object.freeze(names) };
  if (!recentRuns.has(end - start) && recentRuns.size >= RECENT_RUNS) recentRuns.delete(recentRuns.keys().next().value!);
  recentRuns.set(end - start, run);
  return names;
}

/** A request without names or locators shares these (the returned arrays are never modified). */
const NONE: never[] = Object.freeze([]) as unknown as never[];

/**
 * Decodes a DiscoveryRequest as `DiscoveryRequest.decode` does. `resourceNames`
 * and `resourceLocators` may be frozen arrays shared with other requests: never
 * modify them.
 * @throws Error for a message that is not a valid DiscoveryRequest.
 */
export function decodeDiscoveryRequest(data: Uint8Array): DiscoveryRequest {
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const message: DiscoveryRequest = {
    versionInfo: "",
    node: undefined,
    resourceNames: NONE,
    resourceLocators: NONE,
    typeUrl: "",
    responseNonce: "",
    errorDetail: undefined,
  };
  const at = { i: 0 };
  // The run of resource_names fields: consecutive, as encoders write them. Names split by
  // other fields (legal, unusual) are collected by their offsets instead.
  let runStart = -1;
  let runEnd = -1;
  let spans: number[] | undefined;
  while (at.i < buffer.length) {
    const fieldStart = at.i;
    const tag = varint(buffer, at);
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType !== 2 || field < 1 || field > 7) {
      skip(buffer, at, wireType);
      continue;
    }
    const length = varint(buffer, at);
    const start = at.i;
    const end = start + length;
    if (end > buffer.length) throw truncated();
    at.i = end;
    switch (field) {
      case 1:
        message.versionInfo = buffer.toString("utf8", start, end);
        break;
      case 2:
        message.node = Node.decode(buffer.subarray(start, end));
        break;
      case 3:
        if (spans !== undefined) spans.push(start, end);
        else if (runStart < 0) runStart = fieldStart;
        else if (runEnd !== fieldStart) {
          spans = spansOfRun(buffer, runStart, runEnd);
          spans.push(start, end);
        }
        runEnd = end;
        break;
      case 4:
        message.typeUrl = buffer.toString("utf8", start, end);
        break;
      case 5:
        message.responseNonce = buffer.toString("utf8", start, end);
        break;
      case 6:
        message.errorDetail = Status.decode(buffer.subarray(start, end));
        break;
      case 7:
        if (message.resourceLocators === NONE) message.resourceLocators = [];
        message.resourceLocators.push(ResourceLocator.decode(buffer.subarray(start, end)));
        break;
    }
  }
  if (spans !== undefined) message.resourceNames = namesAtSpans(buffer, spans);
  else if (runStart >= 0) message.resourceNames = namesOfRun(buffer, runStart, runEnd);
  return message;
}
