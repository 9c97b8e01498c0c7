import { TypeUrl } from "@xdskit/envoy-api";
import { ResourceTypes } from "@xdskit/resources";
import { describe, expect, it } from "vitest";
import { DEFAULT_TYPE_DESCRIPTORS, resolveTypeDescriptor } from "./type-descriptors.js";

describe("type descriptors", () => {
  it("take full-state from the resource-type descriptors, so the SDK states it once", () => {
    for (const d of DEFAULT_TYPE_DESCRIPTORS) {
      const known = Object.values(ResourceTypes).find((t) => t.typeUrl === d.typeUrl);
      expect([d.typeUrl, d.fullState]).toEqual([d.typeUrl, known?.fullState ?? false]);
    }
    expect(DEFAULT_TYPE_DESCRIPTORS.find((d) => d.typeUrl === TypeUrl.ScopedRouteConfiguration)?.fullState).toBe(true);
  });

  it("lets a descriptor override full-state, and treats unknown types as partial", () => {
    expect(resolveTypeDescriptor({ typeUrl: TypeUrl.Cluster, name: "clusters", fullState: false }).fullState).toBe(false);
    expect(resolveTypeDescriptor({ typeUrl: "type.googleapis.com/acme.Widget", name: "widgets" }).fullState).toBe(false);
  });
});
