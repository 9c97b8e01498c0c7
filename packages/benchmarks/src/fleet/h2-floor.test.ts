// The JavaScript HTTP/2 floor (h2-floor.ts) against the load generator's raw
// client (h2-raw.ts) on a loopback socket: a first request of a type is
// answered with its bytes, in frames no larger than the client allows; an ACK
// is not; the :path picks the SotW or the delta side.
import { afterEach, describe, expect, it } from "vitest";
import { pathOf, serveH2Floor } from "./h2-floor.js";
import { encodeHeaderBlock, H2Connection } from "./h2-raw.js";

const ADS = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";
const DELTA = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";
const block = (path: string) =>
  encodeHeaderBlock([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "localhost"],
    ["content-type", "application/grpc"],
  ]);
const grpcFrame = (body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup.splice(0)) step();
});

describe("h2js transport floor", () => {
  it("reads :path from a header block, past indexed and incrementally indexed fields", () => {
    expect(pathOf(block(ADS))).toBe(ADS);
    // :method GET (indexed 2), then "x-a: b" with incremental indexing and a literal name, then :path.
    const mixed = Buffer.concat([Buffer.from([0x82, 0x40, 3]), Buffer.from("x-a"), Buffer.from([1]), Buffer.from("b"), block(DELTA)]);
    expect(pathOf(mixed)).toBe(DELTA);
    expect(() => pathOf(Buffer.from([0x04, 0x81, 0xff]))).toThrow(/Huffman/);
  });

  it("answers a first request with its bytes, split to the client's frame size, and an ACK with nothing", async () => {
    const big = grpcFrame(Buffer.alloc(40_000, 7));
    const { port, close } = await serveH2Floor({
      sotw: { answers: new Map([["sotw", big]]), decode: (b) => ({ typeUrl: "sotw", responseNonce: b[0] === 1 ? "" : "1" }) },
      delta: { answers: new Map([["delta", grpcFrame(Buffer.from("d"))]]), decode: () => ({ typeUrl: "delta", responseNonce: "" }) },
    });
    cleanup.push(close);
    const errors: string[] = [];
    const connection = new H2Connection({ host: "127.0.0.1", port, onError: (m) => errors.push(m), maxFrameSize: 16_384 });
    cleanup.push(() => connection.destroy());
    const received = (path: string) => {
      const chunks: Buffer[] = [];
      const stream = connection.request(block(path), {
        data: (buffer, start, end) => chunks.push(Buffer.from(buffer.subarray(start, end))),
        ended: () => {},
      });
      return { stream, bytes: () => Buffer.concat(chunks), frames: () => chunks.length };
    };
    const sotw = received(ADS);
    sotw.stream.write(grpcFrame(Buffer.from([1])));
    await expect.poll(() => sotw.bytes().length).toBe(big.length);
    expect(sotw.bytes().equals(big)).toBe(true);
    expect(sotw.frames()).toBe(Math.ceil(big.length / 16_384));
    sotw.stream.write(grpcFrame(Buffer.from([2]))); // an ACK: no answer
    const delta = received(DELTA);
    delta.stream.write(grpcFrame(Buffer.from([0])));
    await expect.poll(() => delta.bytes().toString("latin1")).toBe(grpcFrame(Buffer.from("d")).toString("latin1"));
    expect(sotw.bytes().length).toBe(big.length);
    expect(errors).toEqual([]);
  });
});
