// How the fleet load generator (load-process.ts) carries its ADS streams:
// `raw` (default) speaks HTTP/2 frames itself over node:net sockets (h2-raw.ts),
// `http2` uses node:http2's client (an Http2Stream per stream). Both put the
// streams on `connections` connections, stream i on connection i % connections,
// and frame gRPC messages by hand; the generator only sees `Call`s.
import http2 from "node:http2";
import { encodeHeaderBlock, H2Connection } from "./h2-raw.js";

/** One ADS stream, as the generator drives it. */
export interface Call {
  /** Sends gRPC-framed bytes, `bytes[0, length)`; they are copied before the call returns (a scratch buffer may be reused). */
  write(bytes: Buffer, length: number): void;
  /** Cancels the stream (RST_STREAM CANCEL); nothing is reported for it afterwards. */
  cancel(): void;
}

export interface CallEvents {
  /** Response bytes `buffer[start, end)` (gRPC framing included, split anywhere); valid only during the call: copy what you keep. */
  data(buffer: Buffer, start: number, end: number): void;
  /** The stream failed or the server ended it (trailers, reset); not called after `cancel`. */
  failed(message: string): void;
}

export interface Transport {
  /** Opens stream `index` (0-based) on `path`. */
  open(index: number, path: string, events: CallEvents): Call;
  /** Closes every connection; nothing is reported afterwards. */
  close(): void;
}

export type ClientKind = "raw" | "http2";

/** `connections` connections to `address` (host:port); `onError` once per failed connection. */
export function transport(kind: ClientKind, address: string, connections: number, onError: (message: string) => void): Transport {
  return kind === "http2" ? http2Transport(address, connections, onError) : rawTransport(address, connections, onError);
}

function rawTransport(address: string, count: number, onError: (message: string) => void): Transport {
  const [host, port] = splitAddress(address);
  let closing = false;
  const connections = Array.from(
    { length: count },
    (_, c) => new H2Connection({ host, port, onError: (message) => closing || onError(`connection ${c}: ${message}`) }),
  );
  const blocks = new Map<string, Buffer>();
  const headerBlock = (path: string): Buffer => {
    let block = blocks.get(path);
    if (block === undefined) {
      block = encodeHeaderBlock([
        [":method", "POST"],
        [":scheme", "http"],
        [":path", path],
        [":authority", address],
        ["content-type", "application/grpc"],
        ["te", "trailers"],
      ]);
      blocks.set(path, block);
    }
    return block;
  };
  return {
    open(index, path, events) {
      const stream = connections[index % count]!.request(headerBlock(path), {
        data: events.data,
        ended: (reason) => events.failed(`stream ${index} ended by the server: ${reason}`),
      });
      return { write: (bytes, length) => stream.write(bytes, 0, length), cancel: () => stream.cancel() };
    },
    close() {
      closing = true;
      for (const connection of connections) connection.close();
    },
  };
}

function http2Transport(address: string, count: number, onError: (message: string) => void): Transport {
  let closing = false;
  const sessions = Array.from({ length: count }, (_, c) => {
    const session = http2.connect(`http://${address}`, {
      settings: { initialWindowSize: 16 * 1024 * 1024, enablePush: false },
      maxSessionMemory: 1024,
    });
    session.on("connect", () => session.setLocalWindowSize(64 * 1024 * 1024));
    session.on("error", (error) => closing || onError(`connection ${c}: ${error.message}`));
    return session;
  });
  return {
    open(index, path, events) {
      const call = sessions[index % count]!.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
      });
      let cancelled = false;
      call.on("data", (chunk: Buffer) => events.data(chunk, 0, chunk.length));
      call.on("error", (error) => {
        if (!closing && !cancelled) events.failed(`stream ${index}: ${error.message}`);
      });
      call.on("trailers", (trailers) => {
        if (!closing && !cancelled)
          events.failed(`stream ${index} ended: grpc-status ${trailers["grpc-status"]} ${trailers["grpc-message"] ?? ""}`);
      });
      return {
        write: (bytes, length) => void call.write(Buffer.from(bytes.subarray(0, length))), // node:http2 keeps what it is given
        cancel: () => {
          cancelled = true;
          call.close(http2.constants.NGHTTP2_CANCEL);
        },
      };
    },
    close() {
      closing = true;
      for (const session of sessions) session.close();
    },
  };
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}
