// @xdskit/mesh: a declarative service-mesh model (Gateway API routes used
// GAMMA-style, plus traffic, fault, rate-limit, mTLS and authorization
// policies) and its validation. See docs/mesh.md.
export type { LoadMeshModelOptions } from "./load.js";
export { loadMeshModel } from "./load.js";
export { MeshModelError, MeshModelErrors } from "./mesh-error.js";
export type {
  AuthorizationPolicy,
  AuthorizationSource,
  AuthorizationTarget,
  BackendRef,
  FaultInjection,
  GRPCRoute,
  GRPCRouteMatch,
  GRPCRouteRule,
  HeaderMatch,
  HeaderModifier,
  HeaderValue,
  HTTPRoute,
  HTTPRouteMatch,
  HTTPRouteRule,
  LocalRateLimit,
  MeshKind,
  MeshModel,
  MeshObject,
  MTLSPolicy,
  ObjectMeta,
  ObjectRef,
  PathModifier,
  RouteFilter,
  RouteRetry,
  RouteTimeouts,
  Service,
  ServicePort,
  ServiceVersion,
  TrafficPolicy,
} from "./model.js";
export { MESH_KINDS, objectKey } from "./model.js";
export { validateMeshModel } from "./validate-model.js";
