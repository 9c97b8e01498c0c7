// @xdskit/envoy-api: the Envoy v3 API as TypeScript.
// Messages live under subpaths that mirror the proto files, e.g.
//   import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
// This entry point holds the runtime around them.

/**
 * `Long`: the type of every 64-bit integer field (int64, uint64, and the
 * `seconds` of a Duration or Timestamp). Re-exported from the `long` package
 * so that you can set such fields without depending on `long` yourself.
 * `fromPartial` also takes a number or a decimal string.
 * @example
 * import { Long } from "@xdskit/envoy-api";
 * import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
 * Cluster.fromPartial({ name: "web", connectTimeout: { seconds: Long.fromNumber(5), nanos: 0 } });
 */
export { default as Long } from "long";
export type { ErrorCodeValue, ErrorFault, XdskitErrorContext } from "./errors.js";
export { ErrorCode, faultOf, optionError, XdskitError } from "./errors.js";
// The messages of the xDS protocol itself (discovery, node identity, status
// codes, CSDS): the generated modules that the root entry loads anyway (for
// the service definitions below), exported here too so that @xdskit/server's
// import needs no subpath of its own (docs/api.md, "Discovery messages").
export { ClientResourceStatus } from "./gen/envoy/admin/v3/config_dump_shared.js";
export { Node } from "./gen/envoy/config/core/v3/base.js";
export {
  DeltaDiscoveryRequest,
  DeltaDiscoveryRequest_InitialResourceVersionsEntry,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
  Resource,
  ResourceLocator,
} from "./gen/envoy/service/discovery/v3/discovery.js";
export {
  ClientConfig,
  ClientConfigStatus,
  ClientStatusRequest,
  ClientStatusResponse,
  ConfigStatus,
} from "./gen/envoy/service/status/v3/csds.js";
export { Any } from "./gen/google/protobuf/any.js";
export { Duration } from "./gen/google/protobuf/duration.js";
export { Timestamp } from "./gen/google/protobuf/timestamp.js";
export { Status } from "./gen/google/rpc/status.js";
export type { FromJsonOptions, JsonValue, ToJsonOptions, ToJsonStringOptions } from "./json.js";
export { fromJson, fromJsonString, JSON_DEFAULTS, toJson, toJsonString } from "./json.js";
export type { DeepPartial, MessageType } from "./registry.js";
export {
  decode,
  encode,
  fullNameOf,
  hasMessageType,
  messageTypeOf,
  pack,
  registerMessageType,
  TYPE_URL_PREFIX,
  typeNameOf,
  typeUrlOf,
  unpack,
} from "./registry.js";
export type { EnumSchema, FieldKind, FieldSchema, MessageSchema, Schema } from "./schema.js";
export { enumSchema, messageSchema, schema } from "./schema.js";
export * from "./services.js";
export type { XdsTypeUrl } from "./type-urls.js";
export { TypeUrl } from "./type-urls.js";
export { fromYaml, toYaml } from "./yaml.js";
