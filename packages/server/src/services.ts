// The xDS gRPC services the server can register, derived from the resource
// type descriptors of @xdskit/resources (each names its own service): which
// generated service definition, which type it serves (none for ADS), and the
// service's name (the type's short name).
import { AggregatedDiscoveryServiceService } from "@xdskit/envoy-api/core";
import type { XdsServiceDefinition } from "@xdskit/resources";
import { DEFAULT_SERVED_TYPES } from "./type-descriptors.js";

/**
 * The services {@link XdsServer.register} can add; default all: `ads` and the
 * `shortName` of each built-in type with its own service.
 */
export type XdsServiceName =
  | "ads"
  | "listeners"
  | "routes"
  | "scoped-routes"
  | "virtual-hosts"
  | "clusters"
  | "endpoints"
  | "locality-endpoints"
  | "secrets"
  | "runtime"
  | "extension_configs";

/** One method of an xDS service. */
export interface XdsMethodSpec {
  /** The key in the generated definition, e.g. `streamClusters`. */
  readonly key: string;
  /** The gRPC path, e.g. `/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters`. */
  readonly path: string;
  readonly kind: "sotw" | "delta" | "fetch";
}

/** One xDS service. */
export interface XdsServiceSpec {
  readonly name: XdsServiceName;
  /** The type every request must have; `undefined` for ADS (any served type). */
  readonly typeUrl: string | undefined;
  readonly methods: readonly XdsMethodSpec[];
}

function spec(name: string, typeUrl: string | undefined, definition: XdsServiceDefinition): XdsServiceSpec {
  const methods = Object.entries(definition).map(([key, method]) => {
    const kind = key.startsWith("delta") ? "delta" : key.startsWith("fetch") ? "fetch" : "sotw";
    return Object.freeze({ key, path: method.path, kind }) as XdsMethodSpec;
  });
  return Object.freeze({ name: name as XdsServiceName, typeUrl, methods: Object.freeze(methods) });
}

/** Every xDS service, with the methods Envoy's API defines for it: ADS, then each type's own service in ADS order. */
export const XDS_SERVICES: readonly XdsServiceSpec[] = Object.freeze([
  spec("ads", undefined, AggregatedDiscoveryServiceService),
  ...DEFAULT_SERVED_TYPES.flatMap((t) => (t.service ? [spec(t.shortName, t.typeUrl, t.service)] : [])),
]);
