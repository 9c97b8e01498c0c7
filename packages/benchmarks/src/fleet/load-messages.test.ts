// The fleet load generator's hand-made protobuf (load-messages.ts) against the
// generated codecs: what it reads of real responses, and requests the codecs
// decode to the intended fields.
import { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse, pack, TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { describe, expect, it } from "vitest";
import { ack, CDS, EDS, encodeNames, firstRequest, LDS, NO_NAMES, newHead, output, RDS, scan, subscribe } from "./load-messages.js";

/** The message of the gRPC frame of `length` bytes just written to output(). */
const unframe = (length: number): Buffer => {
  const frame = Buffer.from(output().subarray(0, length));
  expect(frame[0]).toBe(0);
  expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
  return frame.subarray(5);
};
/** `message` inside a larger buffer, as the read buffer holds it: [buffer, start, end]. */
const embedded = (message: Uint8Array): [Buffer, number, number] => [
  Buffer.concat([Buffer.from("junk-before"), message, Buffer.from("after")]),
  11,
  11 + message.length,
];

const names = ["cluster-0", "cluster-1", "a-much-longer-cluster-name-".repeat(6)];

describe("fleet load generator messages", () => {
  it("reads version, nonce, type and cluster names of a SotW CDS response, and ACKs it with exactly those", () => {
    const response = Buffer.from(
      DiscoveryResponse.encode(
        DiscoveryResponse.fromPartial({
          versionInfo: "v42",
          typeUrl: TypeUrl.Cluster,
          nonce: "n-7",
          resources: names.map((name) => pack(Cluster, Cluster.fromPartial({ name, type: 3, edsClusterConfig: { serviceName: "" } }))),
        }),
      ).finish(),
    );
    const [buffer, start, end] = embedded(response);
    const head = scan(buffer, start, end, false, true, newHead());
    expect(head.type).toBe(CDS);
    expect(buffer.toString("utf8", head.versionStart, head.versionEnd)).toBe("v42");
    expect(buffer.toString("utf8", head.nonceStart, head.nonceEnd)).toBe("n-7");

    // The names come back as the resource_names of the EDS subscription.
    const eds = DiscoveryRequest.decode(unframe(subscribe(false, EDS, head.names!)));
    expect(eds).toMatchObject({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: names, versionInfo: "", responseNonce: "" });

    const ackRequest = DiscoveryRequest.decode(unframe(ack(false, CDS, NO_NAMES, buffer, head)));
    expect(ackRequest).toMatchObject({ typeUrl: TypeUrl.Cluster, versionInfo: "v42", responseNonce: "n-7", resourceNames: [] });

    // Without wantNames, no names are read.
    expect(scan(...embedded(response), false, false, newHead()).names).toBeUndefined();
  });

  it("ACKs a SotW EDS response with the subscription's names", () => {
    const response = Buffer.from(
      DiscoveryResponse.encode(
        DiscoveryResponse.fromPartial({ versionInfo: "3", typeUrl: TypeUrl.ClusterLoadAssignment, nonce: "9" }),
      ).finish(),
    );
    const [buffer, start, end] = embedded(response);
    const head = scan(buffer, start, end, false, false, newHead());
    expect(head.type).toBe(EDS);
    const request = DiscoveryRequest.decode(unframe(ack(false, EDS, encodeNames(names), buffer, head)));
    expect(request).toMatchObject({ typeUrl: TypeUrl.ClusterLoadAssignment, versionInfo: "3", responseNonce: "9", resourceNames: names });
  });

  it("reads a delta response's resource names and ACKs with the type URL and nonce only", () => {
    const response = Buffer.from(
      DeltaDiscoveryResponse.encode(
        DeltaDiscoveryResponse.fromPartial({
          systemVersionInfo: "s1",
          typeUrl: TypeUrl.Cluster,
          nonce: "d-1",
          resources: names.map((name) => ({ name, version: "1", resource: pack(Cluster, Cluster.fromPartial({ name })) })),
          removedResources: ["gone"],
        }),
      ).finish(),
    );
    const [buffer, start, end] = embedded(response);
    const head = scan(buffer, start, end, true, true, newHead());
    expect(head.type).toBe(CDS);
    const eds = DeltaDiscoveryRequest.decode(unframe(subscribe(true, EDS, head.names!)));
    expect(eds).toMatchObject({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: names, responseNonce: "" });
    const ackRequest = DeltaDiscoveryRequest.decode(unframe(ack(true, CDS, head.names!, buffer, head)));
    expect(ackRequest).toMatchObject({ typeUrl: TypeUrl.Cluster, responseNonce: "d-1", resourceNamesSubscribe: [] });
  });

  it("tells the four types apart and reports another type URL as -1 with its bytes", () => {
    for (const [type, typeUrl] of [
      [CDS, TypeUrl.Cluster],
      [EDS, TypeUrl.ClusterLoadAssignment],
      [LDS, TypeUrl.Listener],
      [RDS, TypeUrl.RouteConfiguration],
      [-1, TypeUrl.Secret],
    ] as const) {
      const response = Buffer.from(DiscoveryResponse.encode(DiscoveryResponse.fromPartial({ typeUrl, nonce: "1" })).finish());
      const [buffer, start, end] = embedded(response);
      const head = scan(buffer, start, end, false, false, newHead());
      expect(head.type).toBe(type);
      expect(buffer.toString("utf8", head.typeStart, head.typeEnd)).toBe(typeUrl);
    }
  });

  it("grows its output for a request larger than it", () => {
    const many = Array.from({ length: 5000 }, (_, i) => `cluster-with-a-long-name-${i}`);
    const request = DiscoveryRequest.decode(unframe(subscribe(false, EDS, encodeNames(many))));
    expect(request.resourceNames).toEqual(many);
  });

  it("writes the first request with the node and the CDS wildcard", () => {
    expect(DiscoveryRequest.decode(unframe(firstRequest(false, "node-3", "bench")))).toMatchObject({
      node: { id: "node-3", cluster: "bench" },
      typeUrl: TypeUrl.Cluster,
      resourceNames: [],
      versionInfo: "",
      responseNonce: "",
    });
    expect(DeltaDiscoveryRequest.decode(unframe(firstRequest(true, "node-3", "bench")))).toMatchObject({
      node: { id: "node-3", cluster: "bench" },
      typeUrl: TypeUrl.Cluster,
      resourceNamesSubscribe: ["*"],
      responseNonce: "",
    });
  });
});
