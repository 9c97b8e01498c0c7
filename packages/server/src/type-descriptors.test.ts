import { TypeUrl } from "@xdskit/envoy-api";
import { defineResourceType, ResourceTypes } from "@xdskit/resources";
import { describe, expect, it } from "vitest";
import { resolveServerOptions } from "./options.js";
import { XDS_SERVICES } from "./services.js";
import { DEFAULT_SERVED_TYPES } from "./type-descriptors.js";

describe("the server's per-type facts", () => {
  it("come from the resource-type descriptors, so the SDK states them once", () => {
    const options = resolveServerOptions({ cache: { watchSotw() {}, watchDelta() {}, fetch() {} } as never });
    for (const t of Object.values(ResourceTypes)) {
      const view = options.types.get(t.typeUrl)!;
      expect(view).toEqual({
        typeUrl: t.typeUrl,
        name: t.shortName,
        order: t.order,
        fullState: t.fullState,
        legacyWildcard: t.legacyWildcard,
        forces: t.warmingDependents,
      });
    }
    expect(DEFAULT_SERVED_TYPES.map((t) => t.shortName)).toEqual([
      "secrets",
      "runtime",
      "clusters",
      "endpoints",
      "locality-endpoints",
      "listeners",
      "extension_configs",
      "routes",
      "scoped-routes",
      "virtual-hosts",
    ]);
    expect(XDS_SERVICES.map((s) => s.name)).toEqual(["ads", ...DEFAULT_SERVED_TYPES.map((t) => t.shortName)]);
  });

  it("take a changed descriptor from the types option, and own types with the defaults filled in", () => {
    const widget = defineResourceType({ typeUrl: "type.googleapis.com/acme.Widget", messageType: ResourceTypes.Secret.messageType });
    const options = resolveServerOptions({
      cache: { watchSotw() {}, watchDelta() {}, fetch() {} } as never,
      types: [defineResourceType({ ...ResourceTypes.Cluster, legacyWildcard: "never" }), widget],
    });
    expect(options.types.get(TypeUrl.Cluster)?.legacyWildcard).toBe("never");
    expect(options.types.get(widget.typeUrl)).toMatchObject({ name: "widget", order: 100, fullState: false, legacyWildcard: "never" });
    expect(() =>
      resolveServerOptions({ cache: { watchSotw() {}, watchDelta() {}, fetch() {} } as never, types: [{ typeUrl: "a/b" } as never] }),
    ).toThrow(/types\[0\]/);
  });
});
