import { describe, expect, it } from "vitest";
import * as core from "./core.js";
import { ClientResourceStatus } from "./gen/envoy/admin/v3/config_dump_shared.js";
import { Node } from "./gen/envoy/config/core/v3/base.js";
import { DeltaDiscoveryRequest_InitialResourceVersionsEntry, ResourceLocator } from "./gen/envoy/service/discovery/v3/discovery.js";
import * as csds from "./gen/envoy/service/status/v3/csds.js";
import { Duration } from "./gen/google/protobuf/duration.js";
import { Timestamp } from "./gen/google/protobuf/timestamp.js";
import { Status } from "./gen/google/rpc/status.js";
import * as root from "./index.js";

describe("the protocol messages of the root entry", () => {
  it("are the subpath modules' own codecs, not copies", () => {
    expect(root.Node).toBe(Node);
    expect(root.ResourceLocator).toBe(ResourceLocator);
    expect(root.DeltaDiscoveryRequest_InitialResourceVersionsEntry).toBe(DeltaDiscoveryRequest_InitialResourceVersionsEntry);
    expect(root.Status).toBe(Status);
    expect(root.Duration).toBe(Duration);
    expect(root.Timestamp).toBe(Timestamp);
    expect(root.ClientResourceStatus).toBe(ClientResourceStatus);
    expect(root.ClientConfig).toBe(csds.ClientConfig);
    expect(root.ClientConfigStatus).toBe(csds.ClientConfigStatus);
    expect(root.ClientStatusRequest).toBe(csds.ClientStatusRequest);
    expect(root.ClientStatusResponse).toBe(csds.ClientStatusResponse);
    expect(root.ConfigStatus).toBe(csds.ConfigStatus);
    expect(root.fullNameOf(root.Node)).toBe("envoy.config.core.v3.Node");
  });
});

describe("@xdskit/envoy-api/core", () => {
  it("exports the root entry's own bindings, without CSDS, LRS, Long, JSON and YAML", () => {
    for (const [name, value] of Object.entries(core)) expect(value, name).toBe((root as Record<string, unknown>)[name]);
    const left = Object.keys(root).filter((name) => !(name in core));
    expect(left.sort()).toEqual(
      [
        "ClientConfig",
        "ClientConfigStatus",
        "ClientResourceStatus",
        "ClientStatusDiscoveryServiceClient",
        "ClientStatusDiscoveryServiceService",
        "ClientStatusRequest",
        "ClientStatusResponse",
        "ConfigStatus",
        "JSON_DEFAULTS",
        "LoadReportingServiceClient",
        "LoadReportingServiceService",
        "Long",
        "fromJson",
        "fromJsonString",
        "fromYaml",
        "toJson",
        "toJsonString",
        "toYaml",
      ].sort(),
    );
  });
});
