import type { AccessLog } from "@xdskit/envoy-api/envoy/config/accesslog/v3/accesslog";
import { Listener, type Listener as ListenerMessage } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { Filter, FilterChain, ListenerFilter } from "@xdskit/envoy-api/envoy/config/listener/v3/listener_components";
import type { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { TlsInspector } from "@xdskit/envoy-api/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector";
import {
  HttpConnectionManager,
  type HttpFilter,
} from "@xdskit/envoy-api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager";
import { TcpProxy } from "@xdskit/envoy-api/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy";
import {
  builderError,
  type ConfigSourceInput,
  configSource,
  type DurationInput,
  duration,
  socketAddress,
  typedExtension,
} from "./common.js";
import { routerFilter } from "./http-filters.js";
import { type DownstreamTlsOptions, downstreamTls } from "./tls.js";
import { ExtensionTypeUrl, WellKnownName } from "./well-known.js";

/** Options of {@link httpConnectionManager}. Exactly one of `rds` and `routeConfig`. */
export interface HttpConnectionManagerOptions {
  /** Stats prefix. Default `"ingress_http"`. */
  readonly statPrefix?: string;
  /** Fetch routes by RDS: the route configuration's name, and where from (default `"ads"`). */
  readonly rds?: { readonly routeConfigName: string; readonly configSource?: ConfigSourceInput };
  /** Inline routes. */
  readonly routeConfig?: RouteConfiguration;
  /** HTTP filters in order. The router is appended when the last one is not the router. Default: just the router. */
  readonly httpFilters?: readonly HttpFilter[];
  /** Access logs (see {@link fileAccessLog}, {@link stdoutAccessLog}). Default none. */
  readonly accessLogs?: readonly AccessLog[];
  /** Codec. Default `"AUTO"` (Envoy's default). */
  readonly codec?: "AUTO" | "HTTP1" | "HTTP2";
  /** Trust the connection's address as the client's (edge proxies). Default false (Envoy's default). */
  readonly useRemoteAddress?: boolean;
  /** Idle timeout of a stream. Default Envoy's 5 minutes. */
  readonly streamIdleTimeout?: DurationInput;
  /** Timeout for the whole request to arrive. Default: none (Envoy's default). */
  readonly requestTimeout?: DurationInput;
  /** Normalize paths per RFC 3986 before routing. Default: Envoy's runtime default. */
  readonly normalizePath?: boolean;
  /** Merge adjacent slashes in paths. Default false. */
  readonly mergeSlashes?: boolean;
  /** Allow WebSocket upgrades. Default false. */
  readonly websockets?: boolean;
}

/**
 * The HTTP connection manager config, routes by RDS or inline, filters ending in the router.
 * @example httpConnectionManager({ rds: { routeConfigName: "web" }, httpFilters: [corsFilter()] })
 */
export function httpConnectionManager(options: HttpConnectionManagerOptions): HttpConnectionManager {
  if ((options.rds === undefined) === (options.routeConfig === undefined)) {
    throw builderError("httpConnectionManager", "rds/routeConfig", "exactly one of rds or routeConfig", options.rds ?? options.routeConfig);
  }
  const filters = [...(options.httpFilters ?? [])];
  if (filters.at(-1)?.typedConfig?.typeUrl !== ExtensionTypeUrl.Router) filters.push(routerFilter());
  const codec = { AUTO: 0, HTTP1: 1, HTTP2: 2 }[options.codec ?? "AUTO"];
  if (codec === undefined) throw builderError("httpConnectionManager", "codec", '"AUTO", "HTTP1" or "HTTP2"', options.codec);
  return HttpConnectionManager.fromPartial({
    statPrefix: options.statPrefix ?? "ingress_http",
    codecType: codec,
    ...(options.rds
      ? { rds: { routeConfigName: options.rds.routeConfigName, configSource: configSource(options.rds.configSource) } }
      : { routeConfig: options.routeConfig as RouteConfiguration }),
    httpFilters: filters,
    accessLog: [...(options.accessLogs ?? [])],
    ...(options.useRemoteAddress !== undefined ? { useRemoteAddress: options.useRemoteAddress } : {}),
    ...(options.streamIdleTimeout !== undefined ? { streamIdleTimeout: duration(options.streamIdleTimeout, "streamIdleTimeout") } : {}),
    ...(options.requestTimeout !== undefined ? { requestTimeout: duration(options.requestTimeout, "requestTimeout") } : {}),
    ...(options.normalizePath !== undefined ? { normalizePath: options.normalizePath } : {}),
    mergeSlashes: options.mergeSlashes ?? false,
    upgradeConfigs: options.websockets ? [{ upgradeType: "websocket" }] : [],
  });
}

/** A network filter holding an HTTP connection manager. */
export function httpConnectionManagerFilter(hcm: HttpConnectionManager): Filter {
  return Filter.fromPartial(typedExtension(WellKnownName.HttpConnectionManager, HttpConnectionManager, hcm));
}

/** Options of {@link tcpProxyFilter}. Exactly one of `cluster` and `weightedClusters`. */
export interface TcpProxyOptions {
  /** Stats prefix. Default `"tcp"`. */
  readonly statPrefix?: string;
  readonly cluster?: string;
  readonly weightedClusters?: readonly { readonly name: string; readonly weight: number }[];
  /** Close idle connections after this long. Default Envoy's 1 hour. */
  readonly idleTimeout?: DurationInput;
  readonly accessLogs?: readonly AccessLog[];
}

/** A TCP proxy network filter. @example tcpProxyFilter({ cluster: "db" }) */
export function tcpProxyFilter(options: TcpProxyOptions): Filter {
  if ((options.cluster === undefined) === (options.weightedClusters === undefined)) {
    throw builderError("tcpProxyFilter", "cluster/weightedClusters", "exactly one of cluster or weightedClusters", options);
  }
  return Filter.fromPartial(
    typedExtension(WellKnownName.TcpProxy, TcpProxy, {
      statPrefix: options.statPrefix ?? "tcp",
      ...(options.cluster !== undefined
        ? { cluster: options.cluster }
        : { weightedClusters: { clusters: (options.weightedClusters ?? []).map((c) => ({ name: c.name, weight: c.weight })) } }),
      ...(options.idleTimeout !== undefined ? { idleTimeout: duration(options.idleTimeout, "idleTimeout") } : {}),
      accessLog: [...(options.accessLogs ?? [])],
    }),
  );
}

/** The TLS inspector listener filter, needed to match filter chains by SNI or ALPN. */
export function tlsInspector(): ListenerFilter {
  return ListenerFilter.fromPartial(typedExtension(WellKnownName.TlsInspector, TlsInspector, {}));
}

/** Options of {@link filterChain}. */
export interface FilterChainOptions {
  /** Network filters, in order. */
  readonly filters: readonly Filter[];
  /** Match by SNI (needs the TLS inspector; {@link listener} adds it). Default: any. */
  readonly serverNames?: readonly string[];
  /** Match by transport protocol, e.g. `"tls"` or `"raw_buffer"`. Default: any. */
  readonly transportProtocol?: string;
  /** Match by ALPN. Default: any. */
  readonly applicationProtocols?: readonly string[];
  /** Match by destination port. Default: any. */
  readonly destinationPort?: number;
  /** Terminate TLS with certificates from SDS. */
  readonly tls?: DownstreamTlsOptions;
  /** A name for stats and debugging. Default "". */
  readonly name?: string;
}

/** A filter chain with an optional match and TLS termination. */
export function filterChain(options: FilterChainOptions): FilterChain {
  const match = {
    serverNames: [...(options.serverNames ?? [])],
    transportProtocol: options.transportProtocol ?? "",
    applicationProtocols: [...(options.applicationProtocols ?? [])],
    ...(options.destinationPort !== undefined ? { destinationPort: options.destinationPort } : {}),
  };
  const hasMatch =
    match.serverNames.length > 0 ||
    match.transportProtocol !== "" ||
    match.applicationProtocols.length > 0 ||
    options.destinationPort !== undefined;
  return FilterChain.fromPartial({
    name: options.name ?? "",
    filters: [...options.filters],
    ...(hasMatch ? { filterChainMatch: match } : {}),
    ...(options.tls ? { transportSocket: downstreamTls(options.tls) } : {}),
  });
}

/** Options of {@link listener}. */
export interface ListenerOptions {
  readonly name: string;
  /** IP to bind. Default `"0.0.0.0"`. */
  readonly address?: string;
  readonly port: number;
  readonly filterChains: readonly FilterChain[];
  /** Used when no filter chain matches. Default: none (the connection is closed). */
  readonly defaultFilterChain?: FilterChain;
  /** Listener filters. The TLS inspector is added when a chain matches by SNI, ALPN or transport protocol. */
  readonly listenerFilters?: readonly ListenerFilter[];
  /** Listener-level access logs. Default none. */
  readonly accessLogs?: readonly AccessLog[];
  /** Inbound or outbound (for stats and tracing). Default unspecified. */
  readonly trafficDirection?: "INBOUND" | "OUTBOUND";
}

/** A listener with the given filter chains. */
export function listener(options: ListenerOptions): ListenerMessage {
  const filters = [...(options.listenerFilters ?? [])];
  const needsInspector = options.filterChains.some((c) => {
    const m = c.filterChainMatch;
    return m && (m.serverNames.length > 0 || m.applicationProtocols.length > 0 || m.transportProtocol !== "");
  });
  if (needsInspector && !filters.some((f) => f.typedConfig?.typeUrl === ExtensionTypeUrl.TlsInspector)) filters.unshift(tlsInspector());
  return Listener.fromPartial({
    name: options.name,
    address: socketAddress(options.address ?? "0.0.0.0", options.port),
    filterChains: [...options.filterChains],
    ...(options.defaultFilterChain ? { defaultFilterChain: options.defaultFilterChain } : {}),
    listenerFilters: filters,
    accessLog: [...(options.accessLogs ?? [])],
    trafficDirection: options.trafficDirection === "INBOUND" ? 1 : options.trafficDirection === "OUTBOUND" ? 2 : 0,
  });
}

/** Options of {@link httpListener}: a listener plus its HTTP connection manager. */
export interface HttpListenerOptions extends HttpConnectionManagerOptions {
  readonly name: string;
  readonly address?: string;
  readonly port: number;
  /** Terminate TLS with certificates from SDS. */
  readonly tls?: DownstreamTlsOptions;
  readonly trafficDirection?: "INBOUND" | "OUTBOUND";
}

/**
 * An HTTP listener: one filter chain with an HTTP connection manager.
 * @example httpListener({ name: "http", port: 8080, rds: { routeConfigName: "web" } })
 */
export function httpListener(options: HttpListenerOptions): ListenerMessage {
  const { name, address, port, tls, trafficDirection, ...hcm } = options;
  return listener({
    name,
    ...(address !== undefined ? { address } : {}),
    port,
    filterChains: [filterChain({ filters: [httpConnectionManagerFilter(httpConnectionManager(hcm))], ...(tls ? { tls } : {}) })],
    ...(trafficDirection ? { trafficDirection } : {}),
  });
}

/** Options of {@link tcpListener}. */
export interface TcpListenerOptions extends TcpProxyOptions {
  readonly name: string;
  readonly address?: string;
  readonly port: number;
  readonly tls?: DownstreamTlsOptions;
}

/** A TCP proxy listener. @example tcpListener({ name: "db", port: 5432, cluster: "postgres" }) */
export function tcpListener(options: TcpListenerOptions): ListenerMessage {
  const { name, address, port, tls, ...proxy } = options;
  return listener({
    name,
    ...(address !== undefined ? { address } : {}),
    port,
    filterChains: [filterChain({ filters: [tcpProxyFilter(proxy)], ...(tls ? { tls } : {}) })],
  });
}

/** Options of {@link apiListener}: a gRPC client listener (no address), routes by RDS or inline. */
export interface ApiListenerOptions extends Omit<HttpConnectionManagerOptions, "codec" | "websockets"> {
  /** The target name gRPC clients dial, e.g. `"greeter"` for `xds:///greeter`. */
  readonly name: string;
}

/**
 * A listener for proxyless gRPC clients: the HTTP connection manager sits in `api_listener`.
 * @example apiListener({ name: "greeter", rds: { routeConfigName: "greeter" } })
 */
export function apiListener(options: ApiListenerOptions): ListenerMessage {
  const { name, ...hcm } = options;
  return Listener.fromPartial({
    name,
    apiListener: {
      apiListener: typedExtension(WellKnownName.HttpConnectionManager, HttpConnectionManager, httpConnectionManager(hcm)).typedConfig,
    },
  });
}
