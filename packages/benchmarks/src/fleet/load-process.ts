// The load generator of the fleet benchmark (fleet.ts): BENCH_STREAMS ADS
// streams over HTTP/2 (gRPC framing by hand, 100 streams per connection), in a
// process of its own pinned to the other core. BENCH_CLIENT picks the HTTP/2
// client (load-transport.ts): "raw" (default), frames written and read by
// h2-raw.ts over node:net, or "http2", node:http2's client. Each
// stream subscribes like Envoy: CDS wildcard, then EDS for the clusters
// received, then LDS (wildcard), then RDS for the route configuration the
// fixture's listener names, and ACKs every response. It decodes only what it
// must: version, nonce and type URL of each response, and the cluster names of
// a CDS response (the route configuration name is the fixture's, not decoded).
//
// IPC (parent -> child): {kind:"open"}, {kind:"mark"}, {kind:"churn"}, {kind:"close"}.
// Child -> parent: "ready"; "synced" when every stream has ACKed all four
// types; after "mark", "updated" when every stream has ACKed a response of
// each marked type received after the mark; after "churn", "churned" with the
// resync times of the reconnected streams; "failed" on any stream error.
import { DeltaDiscoveryRequest, DiscoveryRequest, TypeUrl } from "@xdskit/envoy-api";
import { ROUTE_CONFIG_NAME } from "./fixture.js";
import { type Call, type ClientKind, type Transport, transport } from "./load-transport.js";

/**
 * "mark": from now on, count each stream once it has ACKed a response of every type in `types`
 * (default: endpoints). With `quiet`, report only once every stream has and no response came
 * for 300 ms (a burst: the time is that of the last response).
 */
export type LoadCommand =
  | { kind: "open" }
  | { kind: "mark"; types?: string[]; quiet?: boolean }
  /** Each second for `seconds` seconds, `fraction` of the (synced) streams are cancelled and opened again as restarted proxies (holding nothing). */
  | { kind: "churn"; fraction: number; seconds: number }
  | { kind: "close" };
export type LoadReport =
  | { kind: "ready" }
  | { kind: "marked" }
  | { kind: "synced"; cpuMs: number }
  | { kind: "updated"; cpuMs: number; lastResponseAt: number; responses: number }
  /** Reconnected streams, and the times (ms) from opening each to its having ACKed all four types. */
  | { kind: "churned"; reconnects: number; resyncMs: number[]; unsynced: number }
  | { kind: "failed"; message: string };

const STREAMS = Number(process.env.BENCH_STREAMS);
const DELTA = process.env.BENCH_MODE === "delta";
const ADDRESS = process.env.BENCH_ADDRESS!;
const PER_CONNECTION = 100;
const CLIENT: ClientKind = process.env.BENCH_CLIENT === "http2" ? "http2" : "raw";
const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;
const PATH = `/envoy.service.discovery.v3.AggregatedDiscoveryService/${DELTA ? "Delta" : "Stream"}AggregatedResources`;

const send = (report: LoadReport): void => void process.send!(report);

/** What the client reads of a response. */
interface Head {
  version: string;
  typeUrl: string;
  nonce: string;
  /** Cluster names: SotW reads Cluster.name inside each Any, delta Resource.name. */
  names: string[] | undefined;
}

function varint(bytes: Uint8Array, at: { i: number }): number {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at.i++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return value;
    shift += 7;
  }
}

/** Calls `field(number, start, end)` for each length-delimited field of a message; skips the others. */
function fields(bytes: Uint8Array, start: number, end: number, field: (n: number, s: number, e: number) => void): void {
  const at = { i: start };
  while (at.i < end) {
    const tag = varint(bytes, at);
    switch (tag & 7) {
      case 0:
        varint(bytes, at);
        break;
      case 1:
        at.i += 8;
        break;
      case 5:
        at.i += 4;
        break;
      case 2: {
        const length = varint(bytes, at);
        field(tag >>> 3, at.i, at.i + length);
        at.i += length;
        break;
      }
      default:
        throw new Error(`unexpected wire type ${tag & 7}`);
    }
  }
}

function scan(bytes: Buffer, wantNames: boolean): Head {
  const head: Head = { version: "", typeUrl: "", nonce: "", names: wantNames ? [] : undefined };
  fields(bytes, 0, bytes.length, (n, s, e) => {
    if (n === 1) head.version = bytes.toString("utf8", s, e);
    else if (n === 4) head.typeUrl = bytes.toString("utf8", s, e);
    else if (n === 5) head.nonce = bytes.toString("utf8", s, e);
    else if (n === 2 && head.names !== undefined) {
      if (DELTA) {
        // Resource: name = 3
        fields(bytes, s, e, (rn, rs, re) => {
          if (rn === 3) head.names!.push(bytes.toString("utf8", rs, re));
        });
      } else {
        // Any: value = 2, holding a Cluster: name = 1
        fields(bytes, s, e, (an, as, ae) => {
          if (an === 2) {
            fields(bytes, as, ae, (cn, cs, ce) => {
              if (cn === 1) head.names!.push(bytes.toString("utf8", cs, ce));
            });
          }
        });
      }
    }
  });
  // A CDS response's typeUrl decides whether names were wanted; callers pass wantNames by stream state.
  return head;
}

function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** Field `field` (wire type 2) holding `value`, encoded: tag, length, bytes. */
function lengthDelimited(field: number, value: string | Buffer): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const head: number[] = [(field << 3) | 2];
  for (let n = bytes.length; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      head.push(n);
      break;
    }
    head.push((n & 127) | 128);
  }
  return Buffer.concat([Buffer.from(head), bytes]);
}

/** Repeated string field `field` holding `names`, encoded once per list and kept by the caller. */
function encodeNames(field: number, names: readonly string[]): Buffer {
  return Buffer.concat(names.map((name) => lengthDelimited(field, name)));
}

// Field numbers: DiscoveryRequest version_info 1, resource_names 3, type_url 4, response_nonce 5;
// DeltaDiscoveryRequest type_url 2, resource_names_subscribe 3, response_nonce 6.
const TYPE_FIELD = new Map<string, Buffer>([CDS, EDS, LDS, RDS].map((t) => [t, lengthDelimited(DELTA ? 2 : 4, t)]));
const STAR = encodeNames(3, ["*"]);
const EMPTY = Buffer.alloc(0);

/**
 * A request after the first (which carries the node and goes through the codec): encoded by
 * hand from bytes kept per type and per name list, so the generator spends its core on the
 * connection rather than on protobuf. `names` is the encoded resource_names (SotW, every request)
 * or resource_names_subscribe (delta, the first request of a type only).
 */
function request(typeUrl: string, names: Buffer, version: string, nonce: string): Buffer {
  const parts = DELTA
    ? [TYPE_FIELD.get(typeUrl)!, nonce === "" ? names : EMPTY, nonce === "" ? EMPTY : lengthDelimited(6, nonce)]
    : [
        version === "" ? EMPTY : lengthDelimited(1, version),
        names,
        TYPE_FIELD.get(typeUrl)!,
        nonce === "" ? EMPTY : lengthDelimited(5, nonce),
      ];
  let length = 0;
  for (const part of parts) length += part.length;
  const out = Buffer.allocUnsafe(5 + length);
  out[0] = 0;
  out.writeUInt32BE(length, 1);
  let at = 5;
  for (const part of parts) at += part.copy(out, at);
  return out;
}

/** The first request of a stream, with the node: through the codec. */
function firstRequest(node: object): Buffer {
  const typeUrl = CDS;
  return frame(
    DELTA
      ? DeltaDiscoveryRequest.encode(DeltaDiscoveryRequest.fromPartial({ node, typeUrl, resourceNamesSubscribe: ["*"] })).finish()
      : DiscoveryRequest.encode(
          DiscoveryRequest.fromPartial({ node, typeUrl, resourceNames: [], versionInfo: "", responseNonce: "" }),
        ).finish(),
  );
}

const ROUTE_NAMES = encodeNames(3, [ROUTE_CONFIG_NAME]);

let synced = 0;
let updated = 0;
let marking = false;
let expected = 0;
let quiet = false;
let lastResponseAt = 0;
let responsesAfterMark = 0;
const BITS: Record<string, number> = { [CDS]: 1, [EDS]: 2, [LDS]: 4, [RDS]: 8 };

function reportUpdated(): void {
  marking = false;
  const cpu = process.cpuUsage(cpuAtMark);
  send({ kind: "updated", cpuMs: (cpu.user + cpu.system) / 1000, lastResponseAt, responses: responsesAfterMark });
}
let closing = false;
let cpuAtMark = process.cpuUsage();

class Stream {
  readonly #call: Call;
  /** A gRPC message split across chunks, and how much of it arrived. */
  #partial: Buffer | undefined;
  #filled = 0;
  /** A length prefix split across chunks. */
  readonly #prefix = Buffer.allocUnsafe(5);
  #prefixFilled = 0;
  /** The encoded resource names of the clusters received (the EDS subscription). */
  #clusters: Buffer = EMPTY;
  #eds = false;
  #lds = false;
  #rds = false;
  #synced = false;
  #cancelled = false;
  /** Types ACKed since the mark (bits of BITS). */
  marked = 0;

  /** `onSynced`: a reconnected stream reports its own sync instead of counting toward the initial one. */
  constructor(
    connections: Transport,
    index: number,
    readonly onSynced?: () => void,
  ) {
    this.#call = connections.open(index, PATH, {
      data: (chunk) => this.#data(chunk),
      failed: (message) => {
        if (!closing && !this.#cancelled) send({ kind: "failed", message });
      },
    });
    this.#call.write(firstRequest({ id: `node-${index}`, cluster: "bench" }));
  }

  /** Whether this stream has ACKed all four types once. */
  get synced(): boolean {
    return this.#synced;
  }

  cancel(): void {
    this.#cancelled = true;
    this.#call.cancel();
  }

  /**
   * Response bytes, split anywhere (a view valid only during the call): whole messages are scanned
   * in place; a message split across chunks is gathered into a buffer of its size, allocated once.
   */
  #data(chunk: Buffer): void {
    const end = chunk.length;
    let at = 0;
    if (this.#prefixFilled > 0) {
      const n = Math.min(5 - this.#prefixFilled, end);
      chunk.copy(this.#prefix, this.#prefixFilled, 0, n);
      this.#prefixFilled += n;
      at = n;
      if (this.#prefixFilled < 5) return;
      this.#prefixFilled = 0;
      this.#partial = Buffer.allocUnsafe(this.#prefix.readUInt32BE(1));
      this.#filled = 0;
    }
    if (this.#partial !== undefined) {
      const partial = this.#partial;
      const n = Math.min(partial.length - this.#filled, end - at);
      chunk.copy(partial, this.#filled, at, at + n);
      this.#filled += n;
      at += n;
      if (this.#filled < partial.length) return;
      this.#partial = undefined;
      this.#message(partial);
    }
    while (end - at >= 5) {
      const length = chunk.readUInt32BE(at + 1);
      if (end - at - 5 < length) {
        this.#partial = Buffer.allocUnsafe(length);
        this.#filled = chunk.copy(this.#partial, 0, at + 5, end);
        return;
      }
      this.#message(chunk.subarray(at + 5, at + 5 + length));
      at += 5 + length;
    }
    if (at < end) {
      chunk.copy(this.#prefix, 0, at, end);
      this.#prefixFilled = end - at;
    }
  }

  #message(bytes: Buffer): void {
    const head = scan(bytes, !this.#eds);
    const ack = (typeUrl: string, names: Buffer): void => {
      this.#call.write(request(typeUrl, names, head.version, head.nonce));
    };
    switch (head.typeUrl) {
      case CDS:
        if (head.names !== undefined && head.names.length > 0) this.#clusters = encodeNames(3, head.names);
        ack(CDS, EMPTY);
        if (!this.#eds) {
          this.#eds = true;
          this.#call.write(request(EDS, this.#clusters, "", ""));
        }
        break;
      case EDS:
        ack(EDS, DELTA ? EMPTY : this.#clusters);
        if (!this.#lds) {
          this.#lds = true;
          this.#call.write(request(LDS, DELTA ? STAR : EMPTY, "", ""));
        }
        break;
      case LDS:
        ack(LDS, EMPTY);
        if (!this.#rds) {
          this.#rds = true;
          this.#call.write(request(RDS, ROUTE_NAMES, "", ""));
        }
        break;
      case RDS:
        ack(RDS, DELTA ? EMPTY : ROUTE_NAMES);
        if (!this.#synced) {
          this.#synced = true;
          if (this.onSynced) this.onSynced();
          else if (++synced === STREAMS) {
            const cpu = process.cpuUsage(cpuAtMark);
            send({ kind: "synced", cpuMs: (cpu.user + cpu.system) / 1000 });
          }
        }
        break;
      default:
        send({ kind: "failed", message: `unexpected type URL "${head.typeUrl}"` });
        return;
    }
    if (marking && this.#synced) {
      lastResponseAt = Date.now();
      responsesAfterMark++;
      const bit = BITS[head.typeUrl]! & expected;
      if (bit !== 0 && (this.marked & bit) === 0) {
        this.marked |= bit;
        if (this.marked === expected && ++updated === STREAMS && !quiet) reportUpdated();
      }
    }
  }
}

let connections: Transport | undefined;
const streams: Stream[] = [];

function open(): void {
  cpuAtMark = process.cpuUsage();
  connections = transport(CLIENT, ADDRESS, Math.ceil(STREAMS / PER_CONNECTION), (message) => {
    if (!closing) send({ kind: "failed", message });
  });
  for (let i = 0; i < STREAMS; i++) streams.push(new Stream(connections, i));
}

/** Reconnects `fraction` of the synced streams each second for `seconds` seconds, then reports their resync times. */
function churn(fraction: number, seconds: number): void {
  const perTick = Math.max(1, Math.round(STREAMS * fraction));
  const resyncMs: number[] = [];
  let reconnects = 0;
  let pending = 0;
  let ticks = 0;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    send({ kind: "churned", reconnects, resyncMs, unsynced: pending });
  };
  const tick = (): void => {
    const chosen = new Set<number>();
    for (let tries = 0; chosen.size < perTick && tries < perTick * 20; tries++) {
      const i = Math.floor(Math.random() * STREAMS);
      if (streams[i]?.synced) chosen.add(i);
    }
    for (const i of chosen) {
      streams[i]?.cancel();
      const openedAt = performance.now();
      pending++;
      reconnects++;
      streams[i] = new Stream(connections!, i, () => {
        resyncMs.push(performance.now() - openedAt);
        if (--pending === 0 && ticks >= seconds) finish();
      });
    }
    if (++ticks < seconds) setTimeout(tick, 1000);
    else if (pending === 0) finish();
    else setTimeout(finish, 30_000); // report what synced, and how many did not
  };
  tick();
}

process.on("message", (command: LoadCommand) => {
  switch (command.kind) {
    case "open":
      open();
      break;
    case "mark":
      for (const stream of streams) stream.marked = 0;
      updated = 0;
      expected = (command.types ?? [EDS]).reduce((mask, t) => mask | BITS[t]!, 0);
      quiet = command.quiet === true;
      responsesAfterMark = 0;
      lastResponseAt = 0;
      if (quiet) {
        const timer = setInterval(() => {
          if (updated === STREAMS && Date.now() - lastResponseAt > 300) {
            clearInterval(timer);
            reportUpdated();
          }
        }, 50);
      }
      marking = true;
      cpuAtMark = process.cpuUsage();
      send({ kind: "marked" });
      break;
    case "churn":
      churn(command.fraction, command.seconds);
      break;
    case "close":
      closing = true;
      connections?.close();
      process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
send({ kind: "ready" });
