import { type DeltaDiscoveryResponse, type DiscoveryResponse, TypeUrl } from "@xdskit/envoy-api";
import type { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import type { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import type { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import type { Secret } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/secret";
import type { Any } from "@xdskit/envoy-api/google/protobuf/any";

/** Which variant of the xDS protocol a FakeEnvoy speaks. */
export type FakeEnvoyProtocol = "sotw" | "delta";

/**
 * Which client a FakeEnvoy plays. `"envoy"`: a proxy (CDS and LDS wildcards,
 * then what they name). `"grpc"`: a proxyless gRPC client (LDS for its
 * targets only, then RDS, the clusters the routes name, then EDS), SotW over
 * ADS as gRPC speaks it.
 */
export type FakeEnvoyClient = "envoy" | "grpc";

/**
 * One resource a FakeEnvoy is running: accepted from the control plane and
 * not removed since.
 */
export interface RunningResource<T = unknown> {
  /** The resource name. */
  readonly name: string;
  /**
   * The resource's version: for delta the `Resource.version` the server sent;
   * for SotW the `version_info` of the response that last carried it.
   */
  readonly version: string;
  /** The decoded message (e.g. a `Cluster`). */
  readonly message: T;
  /** The resource as it arrived (type URL and bytes). */
  readonly any: Any;
}

/** One problem found in a response; a response with problems is NACKed. */
export interface ResourceProblem {
  /** The resource the problem is about, when it is about one. */
  readonly resourceName?: string;
  /** What is wrong, e.g. `connect_timeout: value must be greater than 0s`. */
  readonly message: string;
}

/**
 * Checks one decoded resource the way Envoy's protoc-gen-validate rules do.
 * Returns the problems found (empty when the resource is valid). Plug your own
 * via `FakeEnvoyOptions.validator`; the default uses `validate` from
 * `@xdskit/resources`.
 */
export type ResourceValidator = (typeUrl: string, message: unknown, resourceName: string) => readonly ResourceProblem[];

/** What FakeEnvoy did with one response. */
export type ResponseDecision = "ack" | "nack";

/** One response received, with what FakeEnvoy made of it. */
export interface ResponseRecord {
  /** Position in the history, from 1; a later record has a larger `seq`. */
  readonly seq: number;
  /** `Date.now()` when it arrived. */
  readonly at: number;
  readonly protocol: FakeEnvoyProtocol;
  readonly typeUrl: string;
  /** SotW: `version_info`; delta: `system_version_info`. */
  readonly version: string;
  readonly nonce: string;
  /** Names of the resources in the response, in order. */
  readonly resourceNames: readonly string[];
  /** Delta only: `removed_resources`. */
  readonly removedNames: readonly string[];
  readonly decision: ResponseDecision;
  /** For a NACK: the problems found and the `error_detail` sent. */
  readonly problems: readonly ResourceProblem[];
  readonly errorDetail?: { readonly code: number; readonly message: string };
  /** The response as decoded from the wire. */
  readonly raw: DiscoveryResponse | DeltaDiscoveryResponse;
}

/**
 * A rule that makes FakeEnvoy NACK matching resources whatever their content,
 * e.g. to test how a control plane handles a rejection.
 */
export interface NackRule {
  /** Only resources of this type (any type when unset). */
  readonly typeUrl?: string;
  /** Only the resource with this name (any name when unset). */
  readonly name?: string;
  /** Only resources for which this returns true (receives the decoded message). */
  readonly predicate?: (message: unknown, resourceName: string, typeUrl: string) => boolean;
  /** The problem reported in `error_detail`. Default: `rejected by a NackRule`. */
  readonly message?: string;
  /** How many responses to reject before the rule expires. Default: unlimited. */
  readonly times?: number;
}

/** Options of every `waitFor...` method. */
export interface WaitOptions {
  /** Milliseconds before the wait fails with `XDSKIT_WAIT_TIMEOUT`. Default: the FakeEnvoy's `timeoutMs`. */
  readonly timeoutMs?: number;
}

/** How a stream of a FakeEnvoy ended. */
export interface StreamEnd {
  /** Position in the FakeEnvoy's record (shared with `ResponseRecord.seq`). */
  readonly seq: number;
  /** The type URL of a per-type stream; undefined for ADS. */
  readonly typeUrl?: string;
  /** The gRPC status code (0 OK, 1 CANCELLED, ...). */
  readonly code: number;
  readonly details: string;
  readonly at: number;
}

/**
 * The decoded message of each xDS resource type FakeEnvoy follows, by type
 * URL: what the typed waits and accessors resolve with.
 */
export interface ResourceMessages {
  readonly [TypeUrl.Listener]: Listener;
  readonly [TypeUrl.RouteConfiguration]: RouteConfiguration;
  readonly [TypeUrl.Cluster]: Cluster;
  readonly [TypeUrl.ClusterLoadAssignment]: ClusterLoadAssignment;
  readonly [TypeUrl.Secret]: Secret;
}

/**
 * The message type of a type URL: `MessageOf<typeof TypeUrl.Cluster>` is
 * `Cluster`; a type URL FakeEnvoy does not know gives `unknown`.
 */
export type MessageOf<U extends string> = U extends keyof ResourceMessages ? ResourceMessages[U] : unknown;

/**
 * What {@link FakeEnvoy.waitForStatusAck} reads: anything with a
 * `nodeStatus(nodeId)` method, such as `xds.status` (a `NodeStatusTracker`
 * from @xdskit/cache). Structural, so @xdskit/testing does not depend on a cache.
 */
export interface NodeStatusSource {
  nodeStatus(
    nodeId: string,
  ): { readonly types: Readonly<Record<string, { readonly lastAck?: { readonly version: string; readonly nonce: string } }>> } | undefined;
}
