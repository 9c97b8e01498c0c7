// The fleet benchmark's configuration, per the scenario of issue 13: 100 EDS
// clusters with 3 endpoints each, one listener whose HTTP connection manager
// takes its routes from RDS, and one route configuration with 100 virtual
// hosts. Built with the codecs of the tree under test (the server process
// imports them from that tree), so this module takes them as arguments.

/** The generated codecs the fixture uses, from the tree under test. */
export interface FixtureCodecs {
  readonly pack: (type: unknown, message: unknown) => unknown;
  readonly HttpConnectionManager: unknown;
  readonly Router: unknown;
}

export const CLUSTERS = 100;
export const ENDPOINTS_PER_CLUSTER = 3;
export const VIRTUAL_HOSTS = 100;
export const ROUTE_CONFIG_NAME = "routes";
export const LISTENER_NAME = "listener-0";

export function clusterName(i: number): string {
  return `cluster-${i}`;
}

/** Cluster `i`; `generation` moves its connect timeout (an all-types update). */
export function cluster(i: number, generation = 0): object {
  return {
    name: clusterName(i),
    type: 3, // EDS
    connectTimeout: { seconds: 1 + generation, nanos: 0 },
    edsClusterConfig: { serviceName: "", edsConfig: { ads: {} } },
  };
}

/** The load assignment of cluster `i`; `generation` moves the first endpoint's port. */
export function loadAssignment(i: number, generation = 0): object {
  return {
    clusterName: clusterName(i),
    endpoints: [
      {
        lbEndpoints: Array.from({ length: ENDPOINTS_PER_CLUSTER }, (_, e) => ({
          endpoint: {
            address: {
              socketAddress: { address: `10.${(i >> 8) & 255}.${i & 255}.${e + 1}`, portValue: e === 0 ? 8080 + generation : 8080 },
            },
          },
        })),
      },
    ],
  };
}

export function listener(codecs: FixtureCodecs, generation = 0): object {
  const hcm = codecs.pack(codecs.HttpConnectionManager, {
    statPrefix: `ingress-${generation}`,
    rds: { routeConfigName: ROUTE_CONFIG_NAME, configSource: { ads: {} } },
    httpFilters: [{ name: "envoy.filters.http.router", typedConfig: codecs.pack(codecs.Router, {}) }],
  });
  return {
    name: LISTENER_NAME,
    address: { socketAddress: { address: "0.0.0.0", portValue: 10000 } },
    filterChains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typedConfig: hcm }] }],
  };
}

export function routeConfiguration(generation = 0): object {
  return {
    name: ROUTE_CONFIG_NAME,
    virtualHosts: Array.from({ length: VIRTUAL_HOSTS }, (_, i) => ({
      name: `vhost-${i}`,
      domains: [`svc-${i}.example.com`, `svc-${i}-${generation}.example.com`],
      routes: [{ match: { prefix: "/" }, route: { cluster: clusterName(i % CLUSTERS) } }],
    })),
  };
}
