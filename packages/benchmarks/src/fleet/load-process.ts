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
// IPC (parent -> child): {kind:"open"}, {kind:"mark"}, {kind:"churn"}, {kind:"disconnectAll"},
// {kind:"reopenAll"}, {kind:"close"}.
// Child -> parent: "ready"; "synced" when every stream has ACKed all four
// types; after "mark", "updated" when every stream has ACKed a response of
// each marked type received after the mark; after "churn", "churned" with the
// resync times of the reconnected streams; after "disconnectAll", "disconnected"
// once every stream and connection is closed; after "reopenAll", "resynced" once
// every stream, opened again on new connections, has ACKed all four types;
// "failed" on any stream error.
import http2 from "node:http2";
import { copyBytes } from "./bytes.js";
import { ROUTE_CONFIG_NAME } from "./fixture.js";
import {
  ack,
  CDS,
  EDS,
  encodeNames,
  firstRequest,
  LDS,
  NO_NAMES,
  newHead,
  output,
  RDS,
  STAR,
  sampleResponse,
  scan,
  subscribe,
  TYPE_URLS,
} from "./load-messages.js";
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
  /**
   * "disconnectAll" cancels every stream and closes its connection; "reopenAll" then opens every
   * stream again on new connections (proxies holding nothing), as when a load balancer in front of
   * a running control plane has dropped its connections.
   */
  | { kind: "disconnectAll" }
  | { kind: "reopenAll" }
  | { kind: "close" };
export type LoadReport =
  | { kind: "ready" }
  | { kind: "marked" }
  | { kind: "synced"; cpuMs: number }
  | { kind: "updated"; cpuMs: number; lastResponseAt: number; responses: number }
  /** Reconnected streams, and the times (ms) from opening each to its having ACKed all four types. */
  | { kind: "churned"; reconnects: number; resyncMs: number[]; unsynced: number }
  /** A second after "disconnectAll" closed every stream. */
  | { kind: "disconnected" }
  /** Every stream reopened by "reopenAll" has ACKed all four types: the time from reopening, and this process's CPU. */
  | { kind: "resynced"; ms: number; cpuMs: number }
  | { kind: "failed"; message: string };

const STREAMS = Number(process.env.BENCH_STREAMS);
const DELTA = process.env.BENCH_MODE === "delta";
const ADDRESS = process.env.BENCH_ADDRESS!;
const PER_CONNECTION = 100;
const CLIENT: ClientKind = process.env.BENCH_CLIENT === "http2" ? "http2" : "raw";
const PATH = `/envoy.service.discovery.v3.AggregatedDiscoveryService/${DELTA ? "Delta" : "Stream"}AggregatedResources`;

const send = (report: LoadReport): void => void process.send!(report);

const ROUTE_NAMES = encodeNames([ROUTE_CONFIG_NAME]);
/** The head of the response being handled (one at a time: handling is synchronous). */
const head = newHead();

let synced = 0;
let updated = 0;
let marking = false;
let expected = 0;
let quiet = false;
let lastResponseAt = 0;
let responsesAfterMark = 0;
/** The bit of each type (by its index in TYPE_URLS) in masks of types. */
const bit = (type: number): number => 1 << type;

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
  #clusters: Buffer = NO_NAMES;
  #eds = false;
  #lds = false;
  #rds = false;
  #synced = false;
  #cancelled = false;
  /** Types ACKed since the mark (a mask of `bit(type)`). */
  marked = 0;

  /** `onSynced`: a reconnected stream reports its own sync instead of counting toward the initial one. */
  constructor(
    connections: Transport,
    index: number,
    readonly onSynced?: () => void,
  ) {
    this.#call = connections.open(index, PATH, {
      data: (buffer, start, end) => this.#data(buffer, start, end),
      failed: (message) => {
        if (!closing && !this.#cancelled) send({ kind: "failed", message });
      },
    });
    this.#send(firstRequest(DELTA, `node-${index}`, "bench"));
  }

  /** Sends the request just written to `output()` (read after the writer ran: it may have grown the buffer). */
  #send(length: number): void {
    this.#call.write(output(), length);
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
   * Response bytes `chunk[start, end)`, split anywhere (valid only during the call): whole messages
   * are scanned in place; a message split across chunks is gathered into a buffer of its size,
   * allocated once.
   */
  #data(chunk: Buffer, start: number, end: number): void {
    let at = start;
    if (this.#prefixFilled > 0) {
      const n = Math.min(5 - this.#prefixFilled, end - at);
      copyBytes(chunk, at, at + n, this.#prefix, this.#prefixFilled);
      this.#prefixFilled += n;
      at += n;
      if (this.#prefixFilled < 5) return;
      this.#prefixFilled = 0;
      this.#partial = Buffer.allocUnsafe(this.#prefix.readUInt32BE(1));
      this.#filled = 0;
    }
    if (this.#partial !== undefined) {
      const partial = this.#partial;
      const n = Math.min(partial.length - this.#filled, end - at);
      this.#filled += copyBytes(chunk, at, at + n, partial, this.#filled);
      at += n;
      if (this.#filled < partial.length) return;
      this.#partial = undefined;
      this.#message(partial, 0, partial.length);
    }
    while (end - at >= 5) {
      const length = chunk.readUInt32BE(at + 1);
      if (end - at - 5 < length) {
        this.#partial = Buffer.allocUnsafe(length);
        this.#filled = copyBytes(chunk, at + 5, end, this.#partial, 0);
        return;
      }
      this.#message(chunk, at + 5, at + 5 + length);
      at += 5 + length;
    }
    if (at < end) this.#prefixFilled = copyBytes(chunk, at, end, this.#prefix, 0);
  }

  /** The response in `bytes[start, end)`. */
  #message(bytes: Buffer, start: number, end: number): void {
    const type = scan(bytes, start, end, DELTA, !this.#eds, head).type;
    switch (type) {
      case CDS:
        if (head.names !== undefined && head.names.length > 0) this.#clusters = head.names;
        this.#send(ack(DELTA, CDS, NO_NAMES, bytes, head));
        if (!this.#eds) {
          this.#eds = true;
          this.#send(subscribe(DELTA, EDS, this.#clusters));
        }
        break;
      case EDS:
        this.#send(ack(DELTA, EDS, this.#clusters, bytes, head));
        if (!this.#lds) {
          this.#lds = true;
          this.#send(subscribe(DELTA, LDS, DELTA ? STAR : NO_NAMES));
        }
        break;
      case LDS:
        this.#send(ack(DELTA, LDS, NO_NAMES, bytes, head));
        if (!this.#rds) {
          this.#rds = true;
          this.#send(subscribe(DELTA, RDS, ROUTE_NAMES));
        }
        break;
      case RDS:
        this.#send(ack(DELTA, RDS, ROUTE_NAMES, bytes, head));
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
        send({ kind: "failed", message: `unexpected type URL "${bytes.toString("utf8", head.typeStart, head.typeEnd)}"` });
        return;
    }
    if (marking && this.#synced) {
      lastResponseAt = Date.now();
      responsesAfterMark++;
      const b = bit(type) & expected;
      if (b !== 0 && (this.marked & b) === 0) {
        this.marked |= b;
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

/** Cancels every stream and closes its connection; reports "disconnected" a second later. */
function disconnectAll(): void {
  for (const stream of streams) stream.cancel();
  connections!.close();
  setTimeout(() => send({ kind: "disconnected" }), 1000);
}

/** Opens every stream again on new connections; reports "resynced" once all have ACKed all four types. */
function reopenAll(): void {
  const cpuAt = process.cpuUsage();
  const openedAt = performance.now();
  let resynced = 0;
  const reopened = transport(CLIENT, ADDRESS, Math.ceil(STREAMS / PER_CONNECTION), (message) => {
    if (!closing) send({ kind: "failed", message });
  });
  connections = reopened;
  for (let i = 0; i < STREAMS; i++) {
    streams[i] = new Stream(reopened, i, () => {
      if (++resynced < STREAMS) return;
      const cpu = process.cpuUsage(cpuAt);
      send({ kind: "resynced", ms: performance.now() - openedAt, cpuMs: (cpu.user + cpu.system) / 1000 });
    });
  }
}

process.on("message", (command: LoadCommand) => {
  switch (command.kind) {
    case "open":
      open();
      break;
    case "mark":
      for (const stream of streams) stream.marked = 0;
      updated = 0;
      expected = (command.types ?? [TYPE_URLS[EDS]]).reduce((mask, t) => mask | bit(TYPE_URLS.indexOf(t as (typeof TYPE_URLS)[number])), 0);
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
    case "disconnectAll":
      disconnectAll();
      break;
    case "reopenAll":
      reopenAll();
      break;
    case "close":
      closing = true;
      connections?.close();
      process.exit(0);
  }
});
/**
 * Runs `count` streams to completion against a node:http2 server in this process that answers each
 * stream with sample responses of the four types, with the client under test, before "ready": the
 * JIT then compiles the client and the stream logic before the initial sync rather than during
 * it, where its CPU (about half of the generator's at 1,000 streams) would count as the
 * generator's and could hold the sync back on this core.
 */
async function warmUp(count: number): Promise<void> {
  const samples = Buffer.concat([CDS, EDS, LDS, RDS].map((type) => sampleResponse(DELTA, type, 100, "1")));
  const server = http2.createServer();
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    stream.respond({ ":status": 200, "content-type": "application/grpc" });
    stream.write(samples);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  let done = 0;
  let fail: string | undefined;
  const warm = transport(CLIENT, `127.0.0.1:${port}`, Math.ceil(count / PER_CONNECTION), (message) => {
    fail = message;
  });
  await new Promise<void>((resolve) => {
    for (let i = 0; i < count; i++) new Stream(warm, i, () => ++done === count && resolve());
    const check = setInterval(() => {
      if (fail !== undefined || done === count) {
        clearInterval(check);
        resolve();
      }
    }, 50);
  });
  warm.close();
  server.close();
  if (fail !== undefined) throw new Error(`warm-up: ${fail}`);
}

process.on("disconnect", () => process.exit(0));
if (process.env.BENCH_LOAD_WARMUP !== "0") await warmUp(1000);
send({ kind: "ready" });
