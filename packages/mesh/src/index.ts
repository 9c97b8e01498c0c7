// @xdskit/mesh: a declarative service-mesh model (Gateway API routes used
// GAMMA-style, plus traffic, fault, rate-limit, mTLS and authorization
// policies) and its validation. See docs/mesh.md.

export type { MeshCompilerOptions, MeshResources, ResourceExplanation, WorkloadIdentity } from "./compiler.js";
export { grpcGroup, MESH_COMPILER_DEFAULTS, MeshCompiler, sidecarGroup } from "./compiler.js";
export type { GroupDiff, MeshDiff, NamesByType } from "./diff.js";
export { diffMeshModels, diffResources } from "./diff.js";
export type { FileServiceRegistryOptions } from "./file-registry.js";
export { FILE_REGISTRY_DEFAULTS, FileServiceRegistry } from "./file-registry.js";
export { GRPC_SERVER_LISTENER_TEMPLATE } from "./internal/proxyless.js";
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
export type { PollingServiceRegistryOptions } from "./polling-registry.js";
export { POLLING_REGISTRY_DEFAULTS, PollingServiceRegistry } from "./polling-registry.js";
export type { Locality, ServiceInstance, ServiceKey, ServiceRegistry } from "./registry.js";
export { parseRegistryYaml, StaticServiceRegistry, serviceKeyString, validateInstances } from "./registry.js";
export { validateMeshModel } from "./validate-model.js";
