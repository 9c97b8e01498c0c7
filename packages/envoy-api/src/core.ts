// @xdskit/envoy-api/core: the part of the root entry that serving xDS needs,
// and what @xdskit/server, @xdskit/cache and @xdskit/resources import: errors,
// type URLs, the codec registry and schema lookups, the discovery messages and
// the xDS service definitions. It leaves out what only some servers use, so
// that importing @xdskit/server does not load it: the CSDS messages and
// service, the load reporting service (LRS) and its messages, and canonical
// JSON and YAML (the root entry has all of them; @xdskit/server loads them the
// first time it answers CSDS or REST-JSON). Every export here is the very
// same binding the root entry exports. Why: docs/benchmarks.md, "Import time".

export type { ErrorCodeValue, ErrorFault, XdskitErrorContext } from "./errors.js";
export { ErrorCode, faultOf, optionError, XdskitError } from "./errors.js";
export { Node } from "./gen/envoy/config/core/v3/base.js";
export { ClusterDiscoveryServiceClient, ClusterDiscoveryServiceService } from "./gen/envoy/service/cluster/v3/cds.js";
export { AggregatedDiscoveryServiceClient, AggregatedDiscoveryServiceService } from "./gen/envoy/service/discovery/v3/ads.js";
export {
  DeltaDiscoveryRequest,
  DeltaDiscoveryRequest_InitialResourceVersionsEntry,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
  Resource,
  ResourceLocator,
} from "./gen/envoy/service/discovery/v3/discovery.js";
export { EndpointDiscoveryServiceClient, EndpointDiscoveryServiceService } from "./gen/envoy/service/endpoint/v3/eds.js";
export {
  LocalityEndpointDiscoveryServiceClient,
  LocalityEndpointDiscoveryServiceService,
} from "./gen/envoy/service/endpoint/v3/leds.js";
export {
  ExtensionConfigDiscoveryServiceClient,
  ExtensionConfigDiscoveryServiceService,
} from "./gen/envoy/service/extension/v3/config_discovery.js";
export { ListenerDiscoveryServiceClient, ListenerDiscoveryServiceService } from "./gen/envoy/service/listener/v3/lds.js";
export {
  RouteDiscoveryServiceClient,
  RouteDiscoveryServiceService,
  VirtualHostDiscoveryServiceClient,
  VirtualHostDiscoveryServiceService,
} from "./gen/envoy/service/route/v3/rds.js";
export { ScopedRoutesDiscoveryServiceClient, ScopedRoutesDiscoveryServiceService } from "./gen/envoy/service/route/v3/srds.js";
export { RuntimeDiscoveryServiceClient, RuntimeDiscoveryServiceService } from "./gen/envoy/service/runtime/v3/rtds.js";
export { SecretDiscoveryServiceClient, SecretDiscoveryServiceService } from "./gen/envoy/service/secret/v3/sds.js";
export { Any } from "./gen/google/protobuf/any.js";
export { Duration } from "./gen/google/protobuf/duration.js";
export { Timestamp } from "./gen/google/protobuf/timestamp.js";
export { Status } from "./gen/google/rpc/status.js";
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
export type { XdsTypeUrl } from "./type-urls.js";
export { TypeUrl } from "./type-urls.js";
