// Decodes the DiscoveryRequest of a SotW stream and the DeltaDiscoveryRequest
// of a delta stream. The same messages the generated codecs give, decoded by
// hand, because of the names: a SotW client repeats its whole subscription in
// every request (an Envoy ACKing endpoints lists every cluster again), and
// every proxy of a fleet subscribes to the same names, so the same
// resource_names bytes arrive over and over. Byte for byte the same run of names
// is decoded once and shared (a frozen array, found again by comparing bytes)
// while it keeps arriving; decoding them afresh was the largest share of what
// a fleet's initial sync allocated.
import {
  type DeltaDiscoveryRequest,
  DeltaDiscoveryRequest_InitialResourceVersionsEntry,
  type DiscoveryRequest,
  Node,
  ResourceLocator,
  Status,
} from "@xdskit/envoy-api/core";

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

/**
 * The short strings of a request (type_url, version_info, response_nonce) repeat from request to
 * request and stream to stream: an ASCII string read recently is found again by comparing its
 * bytes in place, and the same string returned (no new string, and one whose hash the Maps that
 * look it up have computed already). Slots by length and last byte; a miss decodes as usual.
 */
const RECENT_STRING_SLOTS = 256;
const recentStrings: (string | undefined)[] = new Array(RECENT_STRING_SLOTS).fill(undefined);
/** Strings longer than this are decoded each time (and not kept). */
const MAX_RECENT_STRING = 256;

function readString(buffer: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length === 0) return "";
  if (length > MAX_RECENT_STRING) return buffer.toString("utf8", start, end);
  const first = buffer[start]!;
  if (length <= 15 && first >= 0x31 && first <= 0x39) {
    // A nonce as servers write them (this one's: a counter): digits without a leading zero are
    // the number's own string (V8 caches those of small numbers).
    let value = first - 0x30;
    let i = start + 1;
    for (; i < end; i++) {
      const digit = buffer[i]! - 0x30;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    if (i === end) return String(value);
  }
  const slot = (length * 31 + buffer[end - 1]!) & (RECENT_STRING_SLOTS - 1);
  const known = recentStrings[slot];
  if (known !== undefined && known.length === length && holdsAscii(buffer, start, known)) return known;
  const read = buffer.toString("utf8", start, end);
  // Only an ASCII string has as many characters as bytes, and is compared byte for character.
  if (read.length === length) recentStrings[slot] = read;
  return read;
}

/**
 * Type URLs a server serves, by length: a request's type_url is read as the served string
 * itself (the one every Map of the server is keyed by, so each lookup compares one pointer
 * rather than some 60 characters), whatever other strings the recent slots hold.
 */
const servedTypeUrls: (string[] | undefined)[] = [];

/** Makes `typeUrls` the strings requests' type_url fields are read as (see servedTypeUrls). */
export function serveTypeUrls(typeUrls: Iterable<string>): void {
  for (const typeUrl of typeUrls) {
    const length = typeUrl.length;
    if (length === 0 || length > MAX_RECENT_STRING || Buffer.byteLength(typeUrl) !== length) continue;
    servedTypeUrls[length] ??= [];
    const known = servedTypeUrls[length]!;
    if (!known.includes(typeUrl) && known.length < 8) known.push(typeUrl);
  }
}

/** Whether `buffer` holds exactly the ASCII string `known` at `start` (its length checked by the caller). */
function holdsAscii(buffer: Buffer, start: number, known: string): boolean {
  for (let i = 0; i < known.length; i++) if (buffer[start + i] !== known.charCodeAt(i)) return false;
  return true;
}

function readTypeUrl(buffer: Buffer, start: number, end: number): string {
  const served = servedTypeUrls[end - start];
  if (served !== undefined) for (let i = 0; i < served.length; i++) if (holdsAscii(buffer, start, served[i]!)) return served[i]!;
  return readString(buffer, start, end);
}

/** A request without names or locators shares these (the returned arrays are never modified). */
const NONE: never[] = Object.freeze([]) as unknown as never[];
/** A delta request without initial_resource_versions shares this (never modified). */
const NO_VERSIONS: { [key: string]: string } = Object.freeze({}) as { [key: string]: string };

/**
 * The fields of one repeated string field of a message, as they are read: the run of
 * consecutive fields (as encoders write them), or, for fields split by others (legal,
 * unusual), their offsets.
 */
class NameFields {
  start = -1;
  end = -1;
  spans: number[] | undefined = undefined;

  add(buffer: Buffer, fieldStart: number, start: number, end: number): void {
    if (this.spans !== undefined) this.spans.push(start, end);
    else if (this.start < 0) this.start = fieldStart;
    else if (this.end !== fieldStart) {
      this.spans = spansOfRun(buffer, this.start, this.end);
      this.spans.push(start, end);
    }
    this.end = end;
  }

  names(buffer: Buffer): string[] {
    return this.spans !== undefined ? namesAtSpans(buffer, this.spans) : namesOfRun(buffer, this.start, this.end);
  }
}

/** Reads the next field's header at `at.i`: its number and wire type, and for length-delimited fields their bounds. */
interface FieldHeader {
  field: number;
  fieldStart: number;
  start: number;
  end: number;
}

/** The next field of `buffer`, length-delimited (wire type 2); other fields are skipped (field 0 at the end). */
function nextField(buffer: Buffer, at: { i: number }, header: FieldHeader, maxField: number): boolean {
  while (at.i < buffer.length) {
    const fieldStart = at.i;
    const tag = varint(buffer, at);
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType !== 2 || field < 1 || field > maxField) {
      skip(buffer, at, wireType);
      continue;
    }
    const length = varint(buffer, at);
    const start = at.i;
    const end = start + length;
    if (end > buffer.length) throw truncated();
    at.i = end;
    header.field = field;
    header.fieldStart = fieldStart;
    header.start = start;
    header.end = end;
    return true;
  }
  return false;
}

/**
 * Decodes a DiscoveryRequest as `DiscoveryRequest.decode` does. `resourceNames`
 * and `resourceLocators` may be frozen arrays shared with other requests: never
 * modify them.
 * @throws Error for a message that is not a valid DiscoveryRequest.
 */
export function decodeDiscoveryRequest(data: Uint8Array): DiscoveryRequest {
  const buffer = asBuffer(data);
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
  const f: FieldHeader = { field: 0, fieldStart: 0, start: 0, end: 0 };
  let names: NameFields | undefined;
  while (nextField(buffer, at, f, 7)) {
    switch (f.field) {
      case 1:
        message.versionInfo = readString(buffer, f.start, f.end);
        break;
      case 2:
        message.node = Node.decode(buffer.subarray(f.start, f.end));
        break;
      case 3:
        names ??= new NameFields();
        names.add(buffer, f.fieldStart, f.start, f.end);
        break;
      case 4:
        message.typeUrl = readTypeUrl(buffer, f.start, f.end);
        break;
      case 5:
        message.responseNonce = readString(buffer, f.start, f.end);
        break;
      case 6:
        message.errorDetail = Status.decode(buffer.subarray(f.start, f.end));
        break;
      case 7:
        if (message.resourceLocators === NONE) message.resourceLocators = [];
        message.resourceLocators.push(ResourceLocator.decode(buffer.subarray(f.start, f.end)));
        break;
    }
  }
  if (names !== undefined) message.resourceNames = names.names(buffer);
  return message;
}

/**
 * Decodes a DeltaDiscoveryRequest as `DeltaDiscoveryRequest.decode` does.
 * `resourceNamesSubscribe`, `resourceNamesUnsubscribe`, the locator lists and
 * `initialResourceVersions` may be frozen and shared with other requests:
 * never modify them.
 * @throws Error for a message that is not a valid DeltaDiscoveryRequest.
 */
export function decodeDeltaDiscoveryRequest(data: Uint8Array): DeltaDiscoveryRequest {
  const buffer = asBuffer(data);
  const message: DeltaDiscoveryRequest = {
    node: undefined,
    typeUrl: "",
    resourceNamesSubscribe: NONE,
    resourceNamesUnsubscribe: NONE,
    resourceLocatorsSubscribe: NONE,
    resourceLocatorsUnsubscribe: NONE,
    initialResourceVersions: NO_VERSIONS,
    responseNonce: "",
    errorDetail: undefined,
  };
  const at = { i: 0 };
  const f: FieldHeader = { field: 0, fieldStart: 0, start: 0, end: 0 };
  let subscribe: NameFields | undefined;
  let unsubscribe: NameFields | undefined;
  while (nextField(buffer, at, f, 9)) {
    switch (f.field) {
      case 1:
        message.node = Node.decode(buffer.subarray(f.start, f.end));
        break;
      case 2:
        message.typeUrl = readTypeUrl(buffer, f.start, f.end);
        break;
      case 3:
        subscribe ??= new NameFields();
        subscribe.add(buffer, f.fieldStart, f.start, f.end);
        break;
      case 4:
        unsubscribe ??= new NameFields();
        unsubscribe.add(buffer, f.fieldStart, f.start, f.end);
        break;
      case 5: {
        const entry = DeltaDiscoveryRequest_InitialResourceVersionsEntry.decode(buffer.subarray(f.start, f.end));
        if (message.initialResourceVersions === NO_VERSIONS) message.initialResourceVersions = {};
        message.initialResourceVersions[entry.key] = entry.value;
        break;
      }
      case 6:
        message.responseNonce = readString(buffer, f.start, f.end);
        break;
      case 7:
        message.errorDetail = Status.decode(buffer.subarray(f.start, f.end));
        break;
      case 8:
        if (message.resourceLocatorsSubscribe === NONE) message.resourceLocatorsSubscribe = [];
        message.resourceLocatorsSubscribe.push(ResourceLocator.decode(buffer.subarray(f.start, f.end)));
        break;
      case 9:
        if (message.resourceLocatorsUnsubscribe === NONE) message.resourceLocatorsUnsubscribe = [];
        message.resourceLocatorsUnsubscribe.push(ResourceLocator.decode(buffer.subarray(f.start, f.end)));
        break;
    }
  }
  if (subscribe !== undefined) message.resourceNamesSubscribe = subscribe.names(buffer);
  if (unsubscribe !== undefined) message.resourceNamesUnsubscribe = unsubscribe.names(buffer);
  return message;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
