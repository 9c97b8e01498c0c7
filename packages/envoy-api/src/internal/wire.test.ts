import { BinaryReader as PublicReader, BinaryWriter as PublicWriter, sizeDelimitedEncode } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { DiscoveryRequest } from "../gen/envoy/service/discovery/v3/discovery.js";
import { BinaryReader, BinaryWriter } from "./wire.js";

describe("the wire classes of the generated codecs", () => {
  it("are @bufbuild/protobuf's own, so a reader or writer made by the caller works as before", () => {
    expect(BinaryReader).toBe(PublicReader);
    expect(BinaryWriter).toBe(PublicWriter);
    const bytes = DiscoveryRequest.encode(
      DiscoveryRequest.fromPartial({ typeUrl: "t", resourceNames: ["a"] }),
      new PublicWriter(),
    ).finish();
    const decoded = DiscoveryRequest.decode(new PublicReader(bytes));
    expect(decoded).toMatchObject({ typeUrl: "t", resourceNames: ["a"] });
    // The rest of the public entry point is still there for callers who import it.
    expect(typeof sizeDelimitedEncode).toBe("function");
  });
});
