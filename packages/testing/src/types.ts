import type { DeltaDiscoveryResponse, DiscoveryResponse } from "@xdskit/envoy-api";
import type { Any } from "@xdskit/envoy-api/google/protobuf/any";

/** Which variant of the xDS protocol a FakeEnvoy speaks. */
export type FakeEnvoyProtocol = "sotw" | "delta";

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
