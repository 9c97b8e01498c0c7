import { type ChannelCredentials, type ChannelOptions, credentials } from "@grpc/grpc-js";
import { type DeepPartial, optionError, TypeUrl, type XdskitError } from "@xdskit/envoy-api";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { FakeEnvoyClient, FakeEnvoyProtocol, NackRule, ResourceValidator } from "./types.js";

/** What `new FakeEnvoy(options)` takes. Only `address` is required. */
export interface FakeEnvoyOptions {
  /** The control plane to dial, `host:port` (e.g. `127.0.0.1:18000`). Required. */
  readonly address: string;
  /**
   * The client to play: `"envoy"` (a proxy) or `"grpc"` (a proxyless gRPC
   * client: it subscribes to the listeners named in `targets` only, then the
   * route configurations they name, the clusters those routes send traffic to,
   * and their endpoints; it speaks SotW over ADS, validates with the gRPC
   * profile of @xdskit/resources and sends a gRPC node). Default `"envoy"`.
   */
  readonly client?: FakeEnvoyClient;
  /**
   * With `client: "grpc"`: the listener names the client asks for, one per
   * `xds:///name` target it dials (e.g. `["greeter"]`). Required there, and
   * not allowed with `client: "envoy"`.
   */
  readonly targets?: readonly string[];
  /** `"sotw"` (state of the world) or `"delta"` (incremental). Default `"sotw"`; `client: "grpc"` takes only `"sotw"`. */
  readonly protocol?: FakeEnvoyProtocol;
  /** One ADS stream for every type (`true`) or one stream per type on the per-type services (`false`). Default `true`. */
  readonly ads?: boolean;
  /**
   * The node sent on each stream's first request. Merged over the default
   * `{ id: "fake-envoy", cluster: "fake-envoy", userAgentName: "envoy" }`.
   */
  readonly node?: DeepPartial<Node>;
  /**
   * Types subscribed as wildcards when the FakeEnvoy starts, in this order.
   * Default `[TypeUrl.Cluster, TypeUrl.Listener]`, as Envoy does (CDS, then LDS).
   * `[]` starts with no subscription (use `subscribe()`).
   */
  readonly types?: readonly string[];
  /**
   * Subscribe to endpoints, route configurations and secrets named by the
   * accepted clusters and listeners, as Envoy does. Default `true`.
   */
  readonly follow?: boolean;
  /**
   * How a wildcard subscription is written: `"legacy"` (an empty name list in
   * the first request, what Envoy sends) or `"explicit"` (`*`). Default `"legacy"`.
   */
  readonly wildcard?: "legacy" | "explicit";
  /**
   * Checks each resource against its protoc-gen-validate rules; a failing
   * resource is NACKed (a validator that throws NACKs too). Default: `validate`
   * from `@xdskit/resources` with the "envoy" profile. `null` turns it off.
   */
  readonly validator?: ResourceValidator | null;
  /**
   * NACK what Envoy would reject across resources: unknown clusters in route
   * configs where `validate_clusters` applies, an HCM whose last filter is not
   * the router, two listeners on one address. Default `true`.
   */
  readonly checkReferences?: boolean;
  /** Rules that NACK matching resources whatever their content (see `injectNack`). Default `[]`. */
  readonly nackRules?: readonly NackRule[];
  /**
   * Default timeout of the `waitFor...` methods and of connecting, in
   * milliseconds. Default `4000`: below vitest's and Jest's default test
   * timeout (5 s), so a wait that fails reports what it waited for and what
   * the FakeEnvoy has instead of the runner's bare "Test timed out".
   */
  readonly timeoutMs?: number;
  /** Send the node on every request instead of only the first of each stream. Default `false` (the stricter test). */
  readonly nodeOnEveryRequest?: boolean;
  /** Channel credentials. Default `credentials.createInsecure()`. */
  readonly credentials?: ChannelCredentials;
  /** grpc-js channel options (e.g. `"grpc.max_receive_message_length"`). Default `{}`. */
  readonly channelOptions?: ChannelOptions;
}

/** The defaults of {@link FakeEnvoyOptions}, frozen. */
export const FAKE_ENVOY_DEFAULTS = Object.freeze({
  protocol: "sotw" as FakeEnvoyProtocol,
  ads: true,
  node: Object.freeze({ id: "fake-envoy", cluster: "fake-envoy", userAgentName: "envoy" }),
  types: Object.freeze([TypeUrl.Cluster, TypeUrl.Listener] as string[]),
  follow: true,
  wildcard: "legacy" as "legacy" | "explicit",
  checkReferences: true,
  nackRules: Object.freeze([] as NackRule[]),
  timeoutMs: 4000,
  nodeOnEveryRequest: false,
  client: "envoy" as FakeEnvoyClient,
  /** The node a `client: "grpc"` FakeEnvoy sends unless `node` says otherwise: what @grpc/grpc-js-xds sends. */
  grpcNode: Object.freeze({
    id: "fake-grpc-client",
    cluster: "fake-grpc-client",
    userAgentName: "gRPC Node Pure JS",
    clientFeatures: Object.freeze(["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"]),
  }),
});

/** Options after defaults are applied, as `FakeEnvoy.options` returns them. */
export interface ResolvedFakeEnvoyOptions {
  readonly address: string;
  readonly client: FakeEnvoyClient;
  readonly targets: readonly string[];
  readonly protocol: FakeEnvoyProtocol;
  readonly ads: boolean;
  readonly node: DeepPartial<Node>;
  readonly types: readonly string[];
  readonly follow: boolean;
  readonly wildcard: "legacy" | "explicit";
  readonly validator: ResourceValidator | null;
  readonly checkReferences: boolean;
  readonly nackRules: readonly NackRule[];
  readonly timeoutMs: number;
  readonly nodeOnEveryRequest: boolean;
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
}

function invalid(option: string, expected: string, got: unknown): XdskitError {
  return optionError("FakeEnvoy", option, expected, got);
}

const KNOWN = new Set([
  "address",
  "client",
  "targets",
  "protocol",
  "ads",
  "node",
  "types",
  "follow",
  "wildcard",
  "validator",
  "checkReferences",
  "nackRules",
  "timeoutMs",
  "nodeOnEveryRequest",
  "credentials",
  "channelOptions",
]);

function boolOption(options: FakeEnvoyOptions, key: "ads" | "follow" | "checkReferences" | "nodeOnEveryRequest"): boolean {
  const value = options[key];
  if (value === undefined) return FAKE_ENVOY_DEFAULTS[key];
  if (typeof value !== "boolean") throw invalid(key, "a boolean", value);
  return value;
}

/** Applies defaults and validates, naming the option at fault. `defaultValidator` is per client. */
export function resolveOptions(
  options: FakeEnvoyOptions,
  defaultValidator: (client: FakeEnvoyClient) => ResourceValidator | null,
): ResolvedFakeEnvoyOptions {
  if (typeof options !== "object" || options === null) throw invalid("options", "an object with at least `address`", options);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key))
      throw invalid(key, `one of the known options (${[...KNOWN].join(", ")})`, (options as unknown as Record<string, unknown>)[key]);
  }
  if (typeof options.address !== "string" || !/^.+:\d+$/.test(options.address)) {
    throw invalid("address", 'a "host:port" string such as "127.0.0.1:18000"', options.address);
  }
  const client = options.client ?? FAKE_ENVOY_DEFAULTS.client;
  if (client !== "envoy" && client !== "grpc") throw invalid("client", '"envoy" or "grpc"', client);
  const grpc = client === "grpc";
  const targets = options.targets ?? [];
  if (!Array.isArray(targets) || targets.some((t) => typeof t !== "string" || t === "")) {
    throw invalid("targets", 'an array of listener names such as ["greeter"]', targets);
  }
  if (grpc && targets.length === 0) {
    throw invalid("targets", 'a non-empty array of listener names with client "grpc" (the xds:/// targets it dials)', targets);
  }
  if (!grpc && targets.length > 0) throw invalid("targets", 'unset with client "envoy" (Envoy subscribes to every listener)', targets);
  const protocol = options.protocol ?? FAKE_ENVOY_DEFAULTS.protocol;
  if (protocol !== "sotw" && protocol !== "delta") throw invalid("protocol", '"sotw" or "delta"', protocol);
  if (grpc && protocol !== "sotw") throw invalid("protocol", '"sotw" with client "grpc" (gRPC clients speak SotW only)', protocol);
  if (grpc && options.ads === false) throw invalid("ads", 'true with client "grpc" (gRPC clients use ADS only)', options.ads);
  const wildcard = options.wildcard ?? FAKE_ENVOY_DEFAULTS.wildcard;
  if (wildcard !== "legacy" && wildcard !== "explicit") throw invalid("wildcard", '"legacy" or "explicit"', wildcard);
  const types = options.types ?? (grpc ? [] : FAKE_ENVOY_DEFAULTS.types);
  if (!Array.isArray(types) || types.some((t) => typeof t !== "string" || !t.includes("/"))) {
    throw invalid("types", "an array of type URLs such as TypeUrl.Cluster", types);
  }
  const timeoutMs = options.timeoutMs ?? FAKE_ENVOY_DEFAULTS.timeoutMs;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalid("timeoutMs", "a positive number of milliseconds", timeoutMs);
  }
  if (options.validator !== undefined && options.validator !== null && typeof options.validator !== "function") {
    throw invalid("validator", "a function (typeUrl, message, name) => problems, or null", options.validator);
  }
  const nackRules = options.nackRules ?? FAKE_ENVOY_DEFAULTS.nackRules;
  if (!Array.isArray(nackRules)) throw invalid("nackRules", "an array of NackRule", nackRules);
  if (options.node !== undefined && (typeof options.node !== "object" || options.node === null)) {
    throw invalid("node", "a partial envoy.config.core.v3.Node", options.node);
  }
  return Object.freeze({
    address: options.address,
    client,
    targets: Object.freeze([...targets]),
    protocol,
    ads: boolOption(options, "ads"),
    node: grpc
      ? { ...FAKE_ENVOY_DEFAULTS.grpcNode, clientFeatures: [...FAKE_ENVOY_DEFAULTS.grpcNode.clientFeatures], ...options.node }
      : { ...FAKE_ENVOY_DEFAULTS.node, ...options.node },
    types: Object.freeze([...types]),
    follow: boolOption(options, "follow"),
    wildcard,
    validator: options.validator === undefined ? defaultValidator(client) : options.validator,
    checkReferences: boolOption(options, "checkReferences"),
    nackRules: Object.freeze([...nackRules]),
    timeoutMs,
    nodeOnEveryRequest: boolOption(options, "nodeOnEveryRequest"),
    credentials: options.credentials ?? credentials.createInsecure(),
    channelOptions: options.channelOptions ?? {},
  });
}
