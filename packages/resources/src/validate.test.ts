import { pack, TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { describe, expect, it } from "vitest";
import { assertValid, formatViolation, ResourceTypes, ValidationError, validate } from "./index.js";

const lines = (vs: ReturnType<typeof validate>) => vs.map(formatViolation);

describe("validate (envoy profile)", () => {
  it("reports a port above 65535 with the full path", () => {
    const cluster = Cluster.fromPartial({
      name: "web",
      type: 0,
      connectTimeout: { seconds: 1 },
      loadAssignment: {
        clusterName: "web",
        endpoints: [
          {
            lbEndpoints: [
              { endpoint: { address: { socketAddress: { address: "10.0.0.1", portValue: 80 } } } },
              { endpoint: { address: { socketAddress: { address: "10.0.0.2", portValue: 70000 } } } },
            ],
          },
        ],
      },
    });
    expect(lines(validate(ResourceTypes.Cluster, cluster))).toEqual([
      "clusters[web].load_assignment.endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value: must be <= 65535",
    ]);
  });

  it("accepts a type URL and reports required oneofs, min_len and durations", () => {
    const cluster = Cluster.fromPartial({
      name: "",
      connectTimeout: { seconds: 0 },
      loadAssignment: { clusterName: "x", endpoints: [{ lbEndpoints: [{ endpoint: { address: {} } }] }] },
    });
    const vs = validate(TypeUrl.Cluster, cluster);
    expect(vs.map((v) => [v.path, v.rule])).toEqual([
      ["name", "string.min_len"],
      ["connect_timeout", "duration.gt"],
      ["load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.address", "oneof.required"],
    ]);
    expect(vs[0]?.location).toBe("clusters.name");
  });

  it("validates inside Any-packed configs", () => {
    const listener = Listener.fromPartial({
      name: "l",
      address: { socketAddress: { address: "0.0.0.0", portValue: 8080 } },
      filterChains: [{ filters: [{ name: "hcm", typedConfig: pack(HttpConnectionManager, { statPrefix: "" }) }] }],
    });
    const vs = validate(ResourceTypes.Listener, listener);
    expect(lines(vs)).toContain("listeners[l].filter_chains[0].filters[0].typed_config.stat_prefix: must be at least 1 character long");
    expect(lines(vs)).toContain(
      "listeners[l].filter_chains[0].filters[0].typed_config.route_specifier: exactly one of rds, route_config, scoped_routes must be set",
    );
  });

  it("assertValid throws a ValidationError carrying every violation", () => {
    const rc = RouteConfiguration.fromPartial({ name: "r", virtualHosts: [{ name: "", domains: [] }] });
    try {
      assertValid(ResourceTypes.RouteConfiguration, rc);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).code).toBe("XDSKIT_INVALID_RESOURCE");
      expect((e as ValidationError).violations.map((v) => v.path)).toEqual(["virtual_hosts[0].name", "virtual_hosts[0].domains"]);
    }
  });

  it("never throws on junk input", () => {
    expect(lines(validate(ResourceTypes.Cluster, null as never))).toEqual([
      "clusters: must be a envoy.config.cluster.v3.Cluster message; got null",
    ]);
    expect(() => validate(ResourceTypes.Cluster, { name: 5, transportSocketMatches: "x" } as never)).not.toThrow();
  });
});
