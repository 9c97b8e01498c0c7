import type { ProtocolEvent } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { NAMES_WINDOW, WireDecoder, WireEncoder } from "./wire-events.js";

const node = { id: "front-1", cluster: "c" } as never;
const response = (streamId: number, resourceNames: readonly string[]): ProtocolEvent => ({
  kind: "response",
  streamId,
  node,
  typeUrl: TypeUrl.Cluster,
  version: "v1",
  nonce: "1",
  resourceNames,
  at: 1,
});

/** Sends batches through structured clone, as the cluster channel does, and collects what the primary files. */
function roundTrip(batches: ProtocolEvent[][]): ProtocolEvent[] {
  const encoder = new WireEncoder();
  const decoder = new WireDecoder();
  const out: ProtocolEvent[] = [];
  for (const events of batches) {
    for (const e of events) encoder.add(e);
    decoder.decode(
      structuredClone(encoder.take()),
      (id) => id * 10 + 1,
      (e) => out.push(e),
    );
  }
  return out;
}

describe("worker protocol events on the wire", () => {
  it("restores every event with its node and a worker-unique stream id; a name list crosses once and arrives frozen", () => {
    const shared = Object.freeze(["a", "b"]);
    const opened: ProtocolEvent = { kind: "stream-opened", streamId: 3, node, protocol: "sotw", ads: true, at: 1 };
    const out = roundTrip([
      [opened, response(3, shared), { kind: "ack", streamId: 3, node, typeUrl: TypeUrl.Cluster, version: "v1", nonce: "1", at: 2 }],
      [response(3, shared), { kind: "stream-closed", streamId: 3, node, at: 3 }],
    ]);
    expect(out.map((e) => [e.kind, e.streamId, e.node.id])).toEqual([
      ["stream-opened", 31, "front-1"],
      ["response", 31, "front-1"],
      ["ack", 31, "front-1"],
      ["response", 31, "front-1"],
      ["stream-closed", 31, "front-1"],
    ]);
    const lists = out.filter((e) => e.kind === "response").map((e) => (e as { resourceNames: readonly string[] }).resourceNames);
    expect(lists[0]).toEqual(["a", "b"]);
    expect(lists[0]).toBe(lists[1]); // one list, shared, as the tracker keeps it
    expect(Object.isFrozen(lists[0])).toBe(true);
  });

  it("a list used again after more than NAMES_WINDOW others is sent again, even within one batch", () => {
    const first = ["first"];
    const others = Array.from({ length: NAMES_WINDOW + 5 }, (_, i) => [`n${i}`]);
    const opened: ProtocolEvent = { kind: "stream-opened", streamId: 1, node, protocol: "sotw", ads: true, at: 1 };
    const out = roundTrip([[opened, response(1, first), ...others.map((names) => response(1, names)), response(1, first)]]);
    const names = out.filter((e) => e.kind === "response").map((e) => (e as { resourceNames: readonly string[] }).resourceNames);
    expect(names[0]).toEqual(["first"]);
    expect(names.at(-1)).toEqual(["first"]);
    expect(names.slice(1, -1)).toEqual(others);
  });

  it("skips events of a stream it never saw open (the worker was restarted in between)", () => {
    expect(roundTrip([[response(9, ["x"])]])).toEqual([]);
  });
});
