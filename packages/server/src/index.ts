// @xdskit/server: xDS gRPC services (ADS and per-type; SotW, delta, fetch) and
// Envoy's REST-JSON API on top of any @xdskit/cache ConfigWatcher.
// See docs/server.md.

export type { CsdsOptions } from "./csds.js";
export { addCsdsService, clientStatus } from "./csds.js";
export { ServerChannels } from "./diagnostics.js";
export type {
  PeerIdentity,
  XdsContext,
  XdsServerCallbacks,
  XdsServerEvent,
  XdsServerEventOf,
  XdsStatus,
  XdsTransportKind,
} from "./events.js";
export { logServerEvents } from "./logging.js";
export type { RequireNodeIdentityOptions } from "./node-identity.js";
export { nodeIdNamedByCertificate, requireNodeIdentity } from "./node-identity.js";
export type { ResolvedXdsServerOptions, XdsServerOptions } from "./options.js";
export { DEFAULT_SERVER_OPTIONS } from "./options.js";
export type { RestListener } from "./rest.js";
export type { RestServerOptions } from "./rest-server.js";
export { DEFAULT_REST_SERVER_OPTIONS } from "./rest-server.js";
export type { RolloutNack, RolloutProgress, RolloutResult, RolloutTarget, WaitForAckOptions } from "./rollout.js";
export { ROLLOUT_DEFAULTS } from "./rollout.js";
export type { XdsMethodSpec, XdsServiceName, XdsServiceSpec } from "./services.js";
export { XDS_SERVICES } from "./services.js";
export type { LegacyWildcardMode } from "./type-descriptors.js";
export { DEFAULT_SERVED_TYPES } from "./type-descriptors.js";
export type { RegisterOptions, ServeHttp2Options, ShutdownOptions, XdsServerStats } from "./xds-server.js";
export { XdsServer } from "./xds-server.js";
