import { DeltaDiscoveryRequest, DiscoveryRequest, TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { decodeDeltaDiscoveryRequest, decodeDiscoveryRequest, serveTypeUrls } from "./request-decoding.js";

type RequestInput = Parameters<typeof DiscoveryRequest.fromPartial>[0];
const encode = (request: RequestInput): Buffer => Buffer.from(DiscoveryRequest.encode(DiscoveryRequest.fromPartial(request)).finish());
const clusters = Array.from({ length: 40 }, (_, i) => `cluster-${i}`);

describe("decodeDiscoveryRequest", () => {
  it("decodes what the generated codec decodes, field for field", () => {
    const requests: RequestInput[] = [
      {},
      { typeUrl: TypeUrl.Cluster, node: { id: "envoy-1", cluster: "front", metadata: { fields: { a: { stringValue: "b" } } } } },
      { typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: clusters, versionInfo: "v3", responseNonce: "17" },
      { typeUrl: TypeUrl.Listener, versionInfo: "v2", responseNonce: "4", errorDetail: { code: 3, message: "bad listener ü" } },
      { typeUrl: TypeUrl.RouteConfiguration, resourceNames: ["routes", "ümlaut", ""], resourceLocators: [{ name: "xdstp://a/b" }] },
    ];
    for (const request of requests) {
      const bytes = encode(request);
      expect(decodeDiscoveryRequest(bytes)).toEqual(DiscoveryRequest.decode(bytes));
    }
    // A request without names or locators allocates no lists: it shares frozen empty ones.
    const ack = decodeDiscoveryRequest(encode({ typeUrl: TypeUrl.Cluster, versionInfo: "v1", responseNonce: "1" }));
    expect(Object.isFrozen(ack.resourceNames) && Object.isFrozen(ack.resourceLocators)).toBe(true);
  });

  it("reads type URLs, versions and nonces right whether or not they were read before (found again by their bytes)", () => {
    const versions = [
      "v1~0123456789abcdef",
      "v1~0123456789abcdeg",
      "v2~0123456789abcdef",
      "vé~0123456789abcdef",
      "vè~0123456789abcdef",
      "\uFFFD",
    ];
    const nonces = ["1", "9", "10", "123456789012345", "0", "01", "1a", "abc", "9999999999999999"];
    for (let round = 0; round < 2; round++) {
      for (const versionInfo of versions) {
        for (const responseNonce of nonces) {
          const bytes = encode({ typeUrl: TypeUrl.ClusterLoadAssignment, versionInfo, responseNonce });
          expect(decodeDiscoveryRequest(bytes)).toEqual(DiscoveryRequest.decode(bytes));
        }
      }
    }
    // An invalid UTF-8 byte reads as the replacement character every time, never as a string read before.
    const bad = Buffer.concat([encode({ typeUrl: TypeUrl.Cluster }), Buffer.from([0x0a, 0x01, 0xff])]);
    expect(decodeDiscoveryRequest(bad).versionInfo).toBe(DiscoveryRequest.decode(bad).versionInfo);
    expect(decodeDiscoveryRequest(bad).versionInfo).toBe("\uFFFD");
    // Served type URLs are read as the served strings; another of the same length is read as itself.
    serveTypeUrls([TypeUrl.Cluster, "type.googleapis.com/x", ""]);
    const sameLength = `${TypeUrl.Cluster.slice(0, -1)}X`;
    for (const typeUrl of [TypeUrl.Cluster, sameLength, "type.googleapis.com/x", "type.googleapis.com/y"]) {
      expect(decodeDiscoveryRequest(encode({ typeUrl })).typeUrl).toBe(typeUrl);
    }
    // The same bytes give the same string, which Maps keyed by it have hashed already.
    const a = decodeDiscoveryRequest(encode({ typeUrl: TypeUrl.Listener, versionInfo: "v7~abc" }));
    const b = decodeDeltaDiscoveryRequest(
      Buffer.from(DeltaDiscoveryRequest.encode(DeltaDiscoveryRequest.fromPartial({ typeUrl: TypeUrl.Listener })).finish()),
    );
    expect(a.typeUrl).toBe(TypeUrl.Listener);
    expect(b.typeUrl).toBe(TypeUrl.Listener);
  });

  it("shares the names of a run of bytes seen before, and only then", () => {
    const first = decodeDiscoveryRequest(encode({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: clusters, responseNonce: "1" }));
    const again = decodeDiscoveryRequest(
      encode({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: clusters, versionInfo: "v9", responseNonce: "2" }),
    );
    expect(again.resourceNames).toBe(first.resourceNames);
    expect(Object.isFrozen(again.resourceNames)).toBe(true);
    // Same length, other bytes: decoded afresh.
    const other = clusters.map((n) => n.replace("cluster", "CLUSTER"));
    const changed = decodeDiscoveryRequest(encode({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: other }));
    expect(changed.resourceNames).toEqual(other);
    expect(changed.resourceNames).not.toBe(first.resourceNames);
  });

  it("never remembers a run over 256 KiB (a client cannot grow what the server keeps)", () => {
    const many = Array.from({ length: 12_000 }, (_, i) => `a-long-resource-name-${i}`);
    const bytes = encode({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: many });
    const first = decodeDiscoveryRequest(bytes);
    const again = decodeDiscoveryRequest(bytes);
    expect(again.resourceNames).toEqual(many);
    expect(again.resourceNames).not.toBe(first.resourceNames);
  });

  it("keeps names split by other fields in their order", () => {
    // resource_names (3), type_url (4), resource_names (3): legal protobuf, unusual order.
    const a = encode({ resourceNames: clusters.slice(0, 20) });
    const b = encode({ typeUrl: TypeUrl.ClusterLoadAssignment });
    const c = encode({ resourceNames: clusters.slice(20) });
    const decoded = decodeDiscoveryRequest(Buffer.concat([a, b, c]));
    expect(decoded.resourceNames).toEqual(clusters);
    expect(decoded.typeUrl).toBe(TypeUrl.ClusterLoadAssignment);
  });

  it("skips unknown fields and refuses truncated or malformed messages", () => {
    const unknown = Buffer.concat([Buffer.from([0x40, 0x05, 0x4d, 1, 2, 3, 4]), encode({ typeUrl: TypeUrl.Cluster })]);
    expect(decodeDiscoveryRequest(unknown).typeUrl).toBe(TypeUrl.Cluster);
    const whole = encode({ typeUrl: TypeUrl.Cluster, resourceNames: clusters });
    expect(() => decodeDiscoveryRequest(whole.subarray(0, whole.length - 3))).toThrow(/truncated/);
    expect(() => decodeDiscoveryRequest(Buffer.from([0x0b]))).toThrow(/wire type 3/);
    expect(() => decodeDiscoveryRequest(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]))).toThrow(/varint/);
  });

  it("decodes a DeltaDiscoveryRequest as the generated codec does, and shares its subscribe list like SotW names", () => {
    type DeltaInput = Parameters<typeof DeltaDiscoveryRequest.fromPartial>[0];
    const encodeDelta = (r: DeltaInput): Buffer => Buffer.from(DeltaDiscoveryRequest.encode(DeltaDiscoveryRequest.fromPartial(r)).finish());
    const requests: DeltaInput[] = [
      {},
      { typeUrl: TypeUrl.Cluster, node: { id: "envoy-1", cluster: "front" }, resourceNamesSubscribe: ["*"] },
      { typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: clusters, resourceNamesUnsubscribe: ["old", "older"] },
      {
        typeUrl: TypeUrl.ClusterLoadAssignment,
        initialResourceVersions: { a: "1", ü: "2" },
        responseNonce: "9",
        errorDetail: { code: 3, message: "bad" },
        resourceLocatorsSubscribe: [{ name: "xdstp://a/b" }],
        resourceLocatorsUnsubscribe: [{ name: "xdstp://a/c" }],
      },
    ];
    for (const request of requests) {
      const bytes = encodeDelta(request);
      expect(decodeDeltaDiscoveryRequest(bytes)).toEqual(DeltaDiscoveryRequest.decode(bytes));
    }
    const first = decodeDeltaDiscoveryRequest(encodeDelta({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: clusters }));
    const again = decodeDeltaDiscoveryRequest(
      encodeDelta({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNamesSubscribe: clusters, responseNonce: "3" }),
    );
    expect(again.resourceNamesSubscribe).toBe(first.resourceNamesSubscribe);
    expect(Object.isFrozen(again.initialResourceVersions)).toBe(true);
    const whole = encodeDelta({ typeUrl: TypeUrl.Cluster, resourceNamesSubscribe: clusters });
    expect(() => decodeDeltaDiscoveryRequest(whole.subarray(0, whole.length - 3))).toThrow(/truncated/);
  });
});
