import { typeUrlOf } from "@xdskit/envoy-api/core";
import { FileAccessLog } from "@xdskit/envoy-api/envoy/extensions/access_loggers/file/v3/file";
import { StderrAccessLog, StdoutAccessLog } from "@xdskit/envoy-api/envoy/extensions/access_loggers/stream/v3/stream";
import { ClusterConfig } from "@xdskit/envoy-api/envoy/extensions/clusters/aggregate/v3/cluster";
import { Cors } from "@xdskit/envoy-api/envoy/extensions/filters/http/cors/v3/cors";
import { ExtAuthz, ExtAuthzPerRoute } from "@xdskit/envoy-api/envoy/extensions/filters/http/ext_authz/v3/ext_authz";
import { HTTPFault } from "@xdskit/envoy-api/envoy/extensions/filters/http/fault/v3/fault";
import { HealthCheck } from "@xdskit/envoy-api/envoy/extensions/filters/http/health_check/v3/health_check";
import { JwtAuthentication, PerRouteConfig } from "@xdskit/envoy-api/envoy/extensions/filters/http/jwt_authn/v3/config";
import { LocalRateLimit } from "@xdskit/envoy-api/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit";
import { RBAC, RBACPerRoute } from "@xdskit/envoy-api/envoy/extensions/filters/http/rbac/v3/rbac";
import { Router } from "@xdskit/envoy-api/envoy/extensions/filters/http/router/v3/router";
import { TlsInspector } from "@xdskit/envoy-api/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector";
import { HttpConnectionManager } from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { TcpProxy } from "@xdskit/envoy-api/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy";
import { DownstreamTlsContext, UpstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import { SPIFFECertValidatorConfig } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config";
import { HttpProtocolOptions } from "@xdskit/envoy-api/envoy/extensions/upstreams/http/v3/http_protocol_options";

/**
 * Envoy's canonical names of the filters and extensions the builders use
 * (the `name` of an HttpFilter, Filter, ListenerFilter, TransportSocket,
 * AccessLog, or a key of `typed_extension_protocol_options`).
 *
 * @example httpFilter(WellKnownName.Router, Router, {}) // { name: "envoy.filters.http.router", typedConfig: ... }
 */
export const WellKnownName = Object.freeze({
  // HTTP filters
  Router: "envoy.filters.http.router",
  Fault: "envoy.filters.http.fault",
  Cors: "envoy.filters.http.cors",
  LocalRateLimit: "envoy.filters.http.local_ratelimit",
  Rbac: "envoy.filters.http.rbac",
  JwtAuthn: "envoy.filters.http.jwt_authn",
  ExtAuthz: "envoy.filters.http.ext_authz",
  HealthCheck: "envoy.filters.http.health_check",
  // Network filters
  HttpConnectionManager: "envoy.filters.network.http_connection_manager",
  TcpProxy: "envoy.filters.network.tcp_proxy",
  // Listener filters
  TlsInspector: "envoy.filters.listener.tls_inspector",
  // Transport sockets
  Tls: "envoy.transport_sockets.tls",
  RawBuffer: "envoy.transport_sockets.raw_buffer",
  // Access loggers
  FileAccessLog: "envoy.access_loggers.file",
  StdoutAccessLog: "envoy.access_loggers.stdout",
  StderrAccessLog: "envoy.access_loggers.stderr",
  // Cluster extensions
  UpstreamHttpProtocolOptions: "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
  AggregateCluster: "envoy.clusters.aggregate",
  // Certificate validators
  SpiffeCertValidator: "envoy.tls.cert_validator.spiffe",
});

/** The type URLs of the extension configs the builders pack into `typed_config`. */
export const ExtensionTypeUrl = Object.freeze({
  Router: typeUrlOf(Router),
  HttpFault: typeUrlOf(HTTPFault),
  Cors: typeUrlOf(Cors),
  LocalRateLimit: typeUrlOf(LocalRateLimit),
  Rbac: typeUrlOf(RBAC),
  RbacPerRoute: typeUrlOf(RBACPerRoute),
  JwtAuthentication: typeUrlOf(JwtAuthentication),
  JwtAuthnPerRoute: typeUrlOf(PerRouteConfig),
  ExtAuthz: typeUrlOf(ExtAuthz),
  ExtAuthzPerRoute: typeUrlOf(ExtAuthzPerRoute),
  HealthCheck: typeUrlOf(HealthCheck),
  HttpConnectionManager: typeUrlOf(HttpConnectionManager),
  TcpProxy: typeUrlOf(TcpProxy),
  TlsInspector: typeUrlOf(TlsInspector),
  UpstreamTlsContext: typeUrlOf(UpstreamTlsContext),
  DownstreamTlsContext: typeUrlOf(DownstreamTlsContext),
  FileAccessLog: typeUrlOf(FileAccessLog),
  StdoutAccessLog: typeUrlOf(StdoutAccessLog),
  StderrAccessLog: typeUrlOf(StderrAccessLog),
  UpstreamHttpProtocolOptions: typeUrlOf(HttpProtocolOptions),
  AggregateClusterConfig: typeUrlOf(ClusterConfig),
  SpiffeCertValidatorConfig: typeUrlOf(SPIFFECertValidatorConfig),
});
