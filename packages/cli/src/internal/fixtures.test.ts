// Config shared by the cli tests.
import { TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";

// Valid for Envoy; gRPC clients NACK lb_policy RANDOM (gRFC A42/A48 allow ROUND_ROBIN, RING_HASH, LEAST_REQUEST).
export const RANDOM_LB = `
group: mesh
clusters:
  - name: web
    connect_timeout: 1s
    lb_policy: RANDOM
    type: EDS
    eds_cluster_config: { eds_config: { ads: {} } }
endpoints:
  - cluster_name: web
    endpoints:
      - locality: { zone: a }
        load_balancing_weight: 1
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: 10.0.0.1, port_value: 8080 } } } }]
`;

/** Config files of two groups: `front` (an EDS cluster and its endpoints) and `back` (a bootstrap's static_resources). */
export const FRONT_AND_BACK = `
group: front
clusters:
  - name: web
    connect_timeout: 1s
    type: EDS
    eds_cluster_config: { eds_config: { ads: {} } }
endpoints:
  - cluster_name: web
    endpoints:
      - lb_endpoints:
          - endpoint: { address: { socket_address: { address: 10.0.0.1, port_value: 8080 } } }
---
group: back
static_resources:
  clusters:
    - name: db
      connect_timeout: 2s
`;

/** An EDS cluster (endpoints over ADS), as admin API JSON. */
export const edsCluster = (name: string) => ({
  "@type": TypeUrl.Cluster,
  name,
  connect_timeout: "1s",
  type: "EDS",
  eds_cluster_config: { eds_config: { ads: {} } },
});

/** A cluster's endpoints on port 8080, as admin API JSON. */
export const endpointsOf = (cluster: string, ...addresses: string[]) => ({
  "@type": TypeUrl.ClusterLoadAssignment,
  cluster_name: cluster,
  endpoints: [{ lb_endpoints: addresses.map((a) => ({ endpoint: { address: { socket_address: { address: a, port_value: 8080 } } } })) }],
});

/** A STATIC cluster with its endpoints inline (no EDS needed). */
export const staticCluster = (name: string) => ({
  "@type": TypeUrl.Cluster,
  name,
  connect_timeout: "1s",
  type: "STATIC",
  load_assignment: {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.3.0.1", port_value: 80 } } } }] }],
  },
});

describe("fixtures", () => {
  it("are valid for Envoy", () => {
    expect(staticCluster("a")).toMatchObject({ "@type": TypeUrl.Cluster, name: "a" });
    expect(RANDOM_LB).toContain("lb_policy: RANDOM");
    expect(edsCluster("api")).toMatchObject({ type: "EDS", name: "api" });
    expect(endpointsOf("api", "10.0.0.1").endpoints[0]?.lb_endpoints).toHaveLength(1);
    expect(FRONT_AND_BACK).toContain("group: back");
  });
});
