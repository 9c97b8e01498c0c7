import { TypeUrl } from "@xdskit/envoy-api/core";
import { checkCluster, checkEndpoints } from "./cluster-rules.js";
import type { GrpcProblem } from "./common.js";
import { checkListener, checkRoutes } from "./listener-rules.js";

/**
 * The proxyless gRPC rules for one resource (paths inside the resource).
 * Other types (secrets, runtime, scoped routes, VHDS, ECDS, LEDS, your own)
 * have no gRPC rules: gRPC clients never request them.
 */
export function grpcProfileViolations(typeUrl: string, resource: any): GrpcProblem[] {
  const out: GrpcProblem[] = [];
  switch (typeUrl) {
    case TypeUrl.Listener:
      checkListener(out, resource);
      break;
    case TypeUrl.RouteConfiguration:
      checkRoutes(out, resource);
      break;
    case TypeUrl.Cluster:
      checkCluster(out, resource);
      break;
    case TypeUrl.ClusterLoadAssignment:
      checkEndpoints(out, resource);
      break;
  }
  return out;
}
