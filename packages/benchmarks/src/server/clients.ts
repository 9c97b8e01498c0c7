// The client side of the server benchmark (packages/benchmarks/src/server.ts),
// run as a child process of it: BENCH_STREAMS ADS streams from plain grpc-js
// clients (AggregatedDiscoveryServiceClient) spread over BENCH_CONNECTIONS
// HTTP/2 connections, each subscribing to clusters as a wildcard ("*") and
// ACKing every response. Kept cheap so the figures measure the server: it reads
// only version, nonce and the resource count of each response (a top-level
// field scan, resources are not decoded) and writes a small ACK.
//
// The last BENCH_DELTA streams use delta ADS, the others SotW ADS. Commands
// arrive over the IPC channel ("open", "mark", "close"); after "mark" the
// process reports "done" once every stream has a response whose version differs
// from the one it held at the mark.
import { type ClientDuplexStream, credentials } from "@grpc/grpc-js";
import { AggregatedDiscoveryServiceClient, DeltaDiscoveryRequest, DiscoveryRequest, TypeUrl } from "@xdskit/envoy-api";

const STREAMS = Number(process.env.BENCH_STREAMS ?? 2000);
const CONNECTIONS = Math.max(1, Math.min(STREAMS, Number(process.env.BENCH_CONNECTIONS ?? 100)));
const CDS = TypeUrl.Cluster;

/** Parent -> child. */
export type Command = { kind: "open" } | { kind: "mark" } | { kind: "close" };
/** Child -> parent. */
export type Report =
  | { kind: "ready" }
  | { kind: "marked" }
  | { kind: "done"; minResources: number; maxResources: number; cpuMs: number }
  | { kind: "failed"; message: string }
  | { kind: "closed"; cpuMs: number; rss: number };

/** What the client reads of a (Delta)DiscoveryResponse: fields 1 (version), 2 (resources, counted), 5 (nonce). */
interface Head {
  version: string;
  nonce: string;
  resources: number;
}

function scan(bytes: Buffer): Head {
  const head: Head = { version: "", nonce: "", resources: 0 };
  let i = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[i++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
      shift += 7;
    }
  };
  while (i < bytes.length) {
    const tag = varint();
    const field = tag >>> 3;
    switch (tag & 7) {
      case 0:
        varint();
        break;
      case 1:
        i += 8;
        break;
      case 5:
        i += 4;
        break;
      case 2: {
        const length = varint();
        if (field === 1) head.version = bytes.toString("utf8", i, i + length);
        else if (field === 5) head.nonce = bytes.toString("utf8", i, i + length);
        else if (field === 2) head.resources++;
        i += length;
        break;
      }
      default:
        throw new Error(`unexpected wire type ${tag & 7} in a discovery response`);
    }
  }
  return head;
}

function clients(): void {
  const send = (report: Report): void => void process.send!(report);
  process.on("disconnect", () => process.exit(0));
  const address = process.env.BENCH_ADDRESS!;
  const deltaStreams = Number(process.env.BENCH_DELTA ?? 0);
  const options = {
    "grpc.use_local_subchannel_pool": 1, // one HTTP/2 connection per client object
    "grpc-node.flow_control_window": 16 * 1024 * 1024,
    "grpc.max_receive_message_length": -1,
  };
  const channels = Array.from(
    { length: CONNECTIONS },
    () => new AggregatedDiscoveryServiceClient(address, credentials.createInsecure(), options),
  );
  const identity = (b: Buffer): Buffer => b;
  const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  const calls: ClientDuplexStream<Buffer, Head>[] = [];
  const versions: string[] = new Array(STREAMS).fill("");
  const marks: string[] = new Array(STREAMS).fill("");
  const counted: boolean[] = new Array(STREAMS).fill(true);
  let waiting = false;
  let done = 0;
  let minResources = Number.POSITIVE_INFINITY;
  let maxResources = 0;
  let cpuAtMark = process.cpuUsage();

  const open = (): void => {
    for (let i = 0; i < STREAMS; i++) {
      const delta = i >= STREAMS - deltaStreams;
      const client = channels[i % CONNECTIONS]!;
      const method = `/envoy.service.discovery.v3.AggregatedDiscoveryService/${delta ? "Delta" : "Stream"}AggregatedResources`;
      const call = client.makeBidiStreamRequest<Buffer, Head>(method, identity, scan);
      const node = { id: `node-${i}`, cluster: "bench" };
      call.on("data", (head: Head) => {
        versions[i] = head.version;
        const ack = delta
          ? DeltaDiscoveryRequest.encode(DeltaDiscoveryRequest.fromPartial({ typeUrl: CDS, responseNonce: head.nonce })).finish()
          : DiscoveryRequest.encode(
              DiscoveryRequest.fromPartial({ typeUrl: CDS, resourceNames: ["*"], versionInfo: head.version, responseNonce: head.nonce }),
            ).finish();
        call.write(toBuffer(ack));
        if (waiting && !counted[i] && head.version !== marks[i]) {
          counted[i] = true;
          if (head.resources < minResources) minResources = head.resources;
          if (head.resources > maxResources) maxResources = head.resources;
          if (++done === STREAMS) {
            waiting = false;
            const cpu = process.cpuUsage(cpuAtMark);
            send({ kind: "done", minResources, maxResources, cpuMs: (cpu.user + cpu.system) / 1000 });
          }
        }
      });
      call.on("error", (error: Error & { code?: number }) => {
        if (error.code !== 1 /* CANCELLED: our own close */) send({ kind: "failed", message: `stream ${i}: ${error.message}` });
      });
      const first = delta
        ? DeltaDiscoveryRequest.encode(DeltaDiscoveryRequest.fromPartial({ node, typeUrl: CDS, resourceNamesSubscribe: ["*"] })).finish()
        : DiscoveryRequest.encode(DiscoveryRequest.fromPartial({ node, typeUrl: CDS, resourceNames: ["*"] })).finish();
      call.write(toBuffer(first));
      calls.push(call);
    }
  };

  process.on("message", (command: Command) => {
    switch (command.kind) {
      case "open":
        open();
        break;
      case "mark":
        for (let i = 0; i < STREAMS; i++) {
          marks[i] = versions[i]!;
          counted[i] = false;
        }
        done = 0;
        minResources = Number.POSITIVE_INFINITY;
        maxResources = 0;
        waiting = true;
        cpuAtMark = process.cpuUsage();
        send({ kind: "marked" });
        break;
      case "close": {
        for (const call of calls) call.cancel();
        for (const channel of channels) channel.close();
        const cpu = process.cpuUsage();
        send({ kind: "closed", cpuMs: (cpu.user + cpu.system) / 1000, rss: process.memoryUsage().rss });
        break;
      }
    }
  });
  send({ kind: "ready" });
}

if (process.send !== undefined) clients();
