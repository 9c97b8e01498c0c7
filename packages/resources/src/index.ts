// @xdskit/resources: resource-type descriptors, typed builders for Envoy
// resources, and validation (protoc-gen-validate rules, gRPC profile,
// snapshot cross-references).

// Builders
export type { AccessLogOptions } from "./builders/access-log.js";
export { fileAccessLog, stdoutAccessLog } from "./builders/access-log.js";
export type {
  ExtAuthzOptions,
  JwtAuthnOptions,
  JwtProviderOptions,
  JwtRuleOptions,
  PermissionInput,
  PrincipalInput,
  RbacOptions,
} from "./builders/auth-filters.js";
export { extAuthzFilter, jwtAuthnFilter, rbacFilter } from "./builders/auth-filters.js";
export type {
  AggregateClusterOptions,
  CircuitBreakerOptions,
  ClusterOptions,
  HealthCheckOptions,
  LbPolicyName,
  OutlierDetectionOptions,
} from "./builders/cluster.js";
export { aggregateCluster, circuitBreakers, cluster, healthCheck, outlierDetection } from "./builders/cluster.js";
export type { ConfigSourceInput, DurationInput, HeaderMatch, QueryParameterMatch, StringMatch } from "./builders/common.js";
export {
  configSource,
  duration,
  headerMatcher,
  percent,
  queryParameterMatcher,
  socketAddress,
  stringMatcher,
  typedExtension,
} from "./builders/common.js";
export type { EndpointInput, HealthStatusName, LoadAssignmentOptions, LocalityOptions } from "./builders/endpoint.js";
export { lbEndpoint, loadAssignment, localityEndpoints } from "./builders/endpoint.js";
export type {
  CorsOptions,
  FaultOptions,
  HealthCheckFilterOptions,
  LocalRateLimitOptions,
  RouterFilterOptions,
} from "./builders/http-filters.js";
export {
  corsFilter,
  corsPolicy,
  faultConfig,
  faultFilter,
  healthCheckFilter,
  httpFilter,
  localRateLimitConfig,
  localRateLimitFilter,
  routerFilter,
} from "./builders/http-filters.js";
export type {
  ApiListenerOptions,
  FilterChainOptions,
  HttpConnectionManagerOptions,
  HttpListenerOptions,
  ListenerOptions,
  TcpListenerOptions,
  TcpProxyOptions,
} from "./builders/listener.js";
export {
  apiListener,
  filterChain,
  httpConnectionManager,
  httpConnectionManagerFilter,
  httpListener,
  listener,
  tcpListener,
  tcpProxyFilter,
  tlsInspector,
} from "./builders/listener.js";
export type {
  MatchOptions,
  RateLimitActionInput,
  RedirectOptions,
  RetryOptions,
  RouteConfigurationOptions,
  RouteOptions,
  RouteTarget,
  VirtualHostOptions,
} from "./builders/route.js";
export { retryPolicy, route, routeConfiguration, virtualHost } from "./builders/route.js";
export type {
  DataSourceInput,
  RuntimeValue,
  SpiffeValidationOptions,
  TlsCertificateSecretOptions,
  ValidationContextSecretOptions,
} from "./builders/secret.js";
export {
  dataSource,
  runtimeLayer,
  spiffeValidationContextSecret,
  tlsCertificateSecret,
  validationContextSecret,
} from "./builders/secret.js";
export type { DownstreamTlsOptions, SanMatch, TlsCommonOptions, TlsVersion, UpstreamTlsOptions } from "./builders/tls.js";
export { downstreamTls, upstreamTls } from "./builders/tls.js";
export { ExtensionTypeUrl, WellKnownName } from "./builders/well-known.js";
export type {
  LegacyWildcardMode,
  ResourceReference,
  ResourceType,
  ResourceTypeDefinition,
  XdsServiceDefinition,
} from "./resource-type.js";
export { defineResourceType } from "./resource-type.js";
export type { ResourceTypeLookup } from "./resource-type-registry.js";
export { registerResourceType, resourceTypeOf } from "./resource-type-registry.js";
export { ResourceTypes } from "./resource-types.js";
export type {
  ResourceCollection,
  SnapshotResource,
  SnapshotResources,
  SnapshotValidator,
  SnapshotValidatorOptions,
  SnapshotViolation,
} from "./snapshot-validator.js";
export { createSnapshotValidator, SNAPSHOT_VALIDATOR_DEFAULTS, validateSnapshot } from "./snapshot-validator.js";
export type { ValidateOptions, ValidationProfile } from "./validate.js";
export { assertValid, VALIDATE_DEFAULTS, validate } from "./validate.js";
export type { Violation, ViolationSource } from "./violation.js";
export { collectionNameOf, formatViolation, ValidationError } from "./violation.js";
