// FakeEnvoy: an xDS client over real gRPC that subscribes, ACKs and NACKs the
// way Envoy does. This file holds the public class: streams, requests and the
// awaitable helpers; decoding and checks live in src/internal/. It is longer
// than most files because the class is the package's one public surface.
import { Client } from "@grpc/grpc-js";
import {
  type DeepPartial,
  DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  DiscoveryRequest,
  type DiscoveryResponse,
  ErrorCode,
  optionError,
  TypeUrl,
  XdskitError,
} from "@xdskit/envoy-api";
import type { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import type { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import type { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import type { Secret } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/secret";
import { checkListeners, checkRoutes } from "./internal/checks.js";
import { defaultValidator } from "./internal/default-validator.js";
import { dependentNames, edsNameOf, grpcDependentNames } from "./internal/dependencies.js";
import { applyDelta, applySotw, type Candidate, TypeState } from "./internal/type-state.js";
import { ADS_DELTA_PATH, ADS_SOTW_PATH } from "./internal/type-table.js";
import { type WaitDescription, Waiters } from "./internal/waiter.js";
import { type AnyRequest, type AnyResponse, XdsStream } from "./internal/xds-stream.js";
import { type FakeEnvoyOptions, type ResolvedFakeEnvoyOptions, resolveOptions } from "./options.js";
import type {
  MessageOf,
  NackRule,
  NodeStatusSource,
  ResourceProblem,
  ResponseRecord,
  RunningResource,
  StreamEnd,
  WaitOptions,
} from "./types.js";

/** google.rpc.Code INVALID_ARGUMENT: what Envoy puts in `error_detail.code` when it rejects config. */
const INVALID_ARGUMENT = 3;

/** A NackRule predicate that throws matches (and so NACKs): a test bug shows as a NACK, never a crash. */
function safePredicate(rule: NackRule, message: unknown, name: string, typeUrl: string): boolean {
  try {
    return rule.predicate!(message, name, typeUrl);
  } catch {
    return true;
  }
}

/** Options of the waits that look at history. */
export interface HistoryWaitOptions extends WaitOptions {
  /** Only records with a larger `seq` count (take `envoy.seq` before acting). Default `0`: any record. */
  readonly after?: number;
}

/**
 * A fake Envoy: a real xDS client over gRPC for testing control planes.
 *
 * Use it in tests (vitest, node:test, or plain Node) to check what a control
 * plane sends to a proxy. It speaks SotW or delta, over ADS or per-type
 * streams, and subscribes as Envoy does: clusters and listeners as wildcards,
 * then the endpoints of every EDS cluster, the route configurations its HTTP
 * connection managers name and the secrets its TLS transport sockets name,
 * following every change. It ACKs what it accepts and NACKs what Envoy would
 * reject (protoc-gen-validate rules, unresolvable references, injected
 * {@link NackRule}s) with `error_detail` code 3 (INVALID_ARGUMENT) and a message
 * naming the resource and the problem. A NACKed response is rejected whole:
 * the previous config of that type keeps running.
 *
 * It keeps the config it runs per type, the history of every response, and
 * offers waits that fail with `XDSKIT_WAIT_TIMEOUT` naming what they waited
 * for and what the FakeEnvoy has.
 *
 * @example
 * await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${port}` });
 * await envoy.waitForEndpoints("backend", 2);
 * envoy.clusters.get("backend")?.connectTimeout; // the decoded Cluster
 */
export class FakeEnvoy implements AsyncDisposable {
  /** The options in force, defaults applied. */
  readonly options: ResolvedFakeEnvoyOptions;
  readonly #client: Client;
  readonly #states = new Map<string, TypeState>();
  readonly #streams = new Map<string, XdsStream>();
  readonly #history: ResponseRecord[] = [];
  readonly #ends: StreamEnd[] = [];
  readonly #rules: { rule: NackRule; remaining: number }[] = [];
  readonly #waiters = new Waiters(() => this.describe());
  #seq = 0;
  #paused = false;
  #closed = false;

  /**
   * Validates the options (throwing `XDSKIT_INVALID_OPTION` naming the bad
   * one) and creates the channel. Nothing is sent until {@link start}.
   */
  constructor(options: FakeEnvoyOptions) {
    this.options = resolveOptions(options, defaultValidator);
    for (const rule of this.options.nackRules) this.injectNack(rule);
    this.#client = new Client(this.options.address, this.options.credentials, this.options.channelOptions);
  }

  /**
   * Creates a FakeEnvoy and starts it: `new FakeEnvoy(options)` then `start()`.
   *
   * @example await using envoy = await FakeEnvoy.start({ address, protocol: "delta" });
   */
  static async start(options: FakeEnvoyOptions): Promise<FakeEnvoy> {
    const envoy = new FakeEnvoy(options);
    try {
      await envoy.start();
    } catch (error) {
      await envoy.close();
      throw error;
    }
    return envoy;
  }

  /**
   * Connects (waiting up to `timeoutMs` for the channel) and sends the first
   * requests: a wildcard subscription for each of `options.types`, in order;
   * with `client: "grpc"`, a request for the listeners named in `targets`.
   *
   * @throws XdskitError `XDSKIT_WAIT_TIMEOUT` when the control plane cannot be reached in time.
   */
  async start(): Promise<void> {
    await this.#connect();
    for (const typeUrl of this.options.types) {
      const state = this.#state(typeUrl);
      state.wildcard = true;
      this.#sync(state);
    }
    if (this.options.targets.length > 0) this.subscribe(TypeUrl.Listener, this.options.targets);
  }

  // ---- state ------------------------------------------------------------

  /** The resources of one type the FakeEnvoy runs, by name. */
  resources<T = unknown>(typeUrl: string): ReadonlyMap<string, RunningResource<T>> {
    return (this.#states.get(typeUrl)?.resources ?? new Map()) as ReadonlyMap<string, RunningResource<T>>;
  }

  /** One running resource's decoded message, or undefined. */
  resource<T = unknown>(typeUrl: string, name: string): T | undefined {
    return this.#states.get(typeUrl)?.resources.get(name)?.message as T | undefined;
  }

  #messages<T>(typeUrl: string): ReadonlyMap<string, T> {
    return new Map([...this.resources<T>(typeUrl)].map(([name, r]) => [name, r.message]));
  }

  /** Running clusters by name. */
  get clusters(): ReadonlyMap<string, Cluster> {
    return this.#messages(TypeUrl.Cluster);
  }

  /** Running listeners by name. */
  get listeners(): ReadonlyMap<string, Listener> {
    return this.#messages(TypeUrl.Listener);
  }

  /** Running route configurations by name. */
  get routeConfigurations(): ReadonlyMap<string, RouteConfiguration> {
    return this.#messages(TypeUrl.RouteConfiguration);
  }

  /** Running cluster load assignments (EDS) by name. */
  get clusterLoadAssignments(): ReadonlyMap<string, ClusterLoadAssignment> {
    return this.#messages(TypeUrl.ClusterLoadAssignment);
  }

  /** Running secrets by name. */
  get secrets(): ReadonlyMap<string, Secret> {
    return this.#messages(TypeUrl.Secret);
  }

  /**
   * The endpoint addresses (`ip:port`) of a cluster: from the EDS resource of
   * an EDS cluster (by its service name), from the inline `load_assignment`
   * of another cluster, or from an EDS resource of that name when the cluster
   * is unknown.
   */
  endpointAddresses(clusterName: string): string[] {
    const cluster = this.clusters.get(clusterName);
    const edsName = cluster ? edsNameOf(cluster) : clusterName;
    const assignment = edsName === undefined ? cluster?.loadAssignment : this.clusterLoadAssignments.get(edsName);
    const out: string[] = [];
    for (const locality of assignment?.endpoints ?? []) {
      for (const lb of locality.lbEndpoints) {
        const socket = lb.endpoint?.address?.socketAddress;
        if (socket) out.push(`${socket.address}:${socket.portValue ?? socket.namedPort ?? ""}`);
      }
    }
    return out;
  }

  /** The version running for a type: SotW `version_info` or delta `system_version_info` of the last accepted response ("" before any). */
  version(typeUrl: string): string {
    return this.#states.get(typeUrl)?.version ?? "";
  }

  /** What the FakeEnvoy subscribes to for a type. */
  subscription(typeUrl: string): { readonly wildcard: boolean; readonly names: ReadonlySet<string> } {
    const state = this.#states.get(typeUrl);
    return { wildcard: state?.wildcard ?? false, names: state?.names ?? new Set() };
  }

  /** Every response received, oldest first. */
  get history(): readonly ResponseRecord[] {
    return this.#history;
  }

  /** The NACKed responses, oldest first. */
  get nacks(): readonly ResponseRecord[] {
    return this.#history.filter((r) => r.decision === "nack");
  }

  /** Streams that ended (server status or local cancel), oldest first. */
  get streamEnds(): readonly StreamEnd[] {
    return this.#ends;
  }

  /** The `seq` of the latest history record or stream end; pass it as `after` to wait for something newer. */
  get seq(): number {
    return this.#seq;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A one-line summary of what the FakeEnvoy runs: versions, names, NACKs, streams. Used in timeout errors. */
  describe(): string {
    const parts: string[] = [];
    for (const state of this.#states.values()) {
      const short = state.typeUrl.slice(state.typeUrl.lastIndexOf(".") + 1);
      const sub = state.wildcard ? "*" : [...state.names].join(",");
      const names = [...state.resources.keys()].join(", ");
      parts.push(`${short} version "${state.version}" running [${names}] (subscribed: ${sub || "nothing"})`);
    }
    const nacks = this.nacks;
    if (nacks.length > 0) parts.push(`last NACK: ${nacks[nacks.length - 1]!.errorDetail?.message}`);
    if (this.#ends.length > 0) {
      const end = this.#ends[this.#ends.length - 1]!;
      parts.push(`last stream end: code ${end.code} "${end.details}"`);
    }
    parts.push(`${this.#history.length} responses`);
    return parts.join("; ");
  }

  // ---- subscriptions and NACK rules --------------------------------------

  /**
   * Subscribes to names of a type (or `"*"` for a wildcard), in addition to
   * what following clusters and listeners subscribes. Sends a request when the
   * subscription changed. Use it for types Envoy does not follow here
   * (runtime, extension configs) or to subscribe without following.
   */
  subscribe(typeUrl: string, names: readonly string[] | "*"): void {
    this.#assertOpen("subscribe");
    const state = this.#state(typeUrl);
    if (names === "*") state.wildcard = true;
    else for (const name of names) state.manual.add(name);
    this.#sync(state);
  }

  /** Removes names (or the wildcard, with `"*"`) added by {@link subscribe}; sends a request when that changes the subscription. */
  unsubscribe(typeUrl: string, names: readonly string[] | "*"): void {
    this.#assertOpen("unsubscribe");
    const state = this.#state(typeUrl);
    if (names === "*") state.wildcard = false;
    else for (const name of names) state.manual.delete(name);
    state.prune();
    this.#sync(state);
    this.#waiters.changed();
  }

  /**
   * NACKs every response holding a matching resource (by type, name and/or
   * predicate), `times` times or until removed. Returns a function that
   * removes the rule.
   *
   * @example
   * envoy.injectNack({ typeUrl: TypeUrl.Cluster, name: "backend", times: 1 });
   */
  injectNack(rule: NackRule): () => void {
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1)) {
      throw optionError("FakeEnvoy.injectNack", "times", "a positive integer", rule.times);
    }
    const entry = { rule, remaining: rule.times ?? Number.POSITIVE_INFINITY };
    this.#rules.push(entry);
    return () => {
      const index = this.#rules.indexOf(entry);
      if (index >= 0) this.#rules.splice(index, 1);
    };
  }

  // ---- waits ------------------------------------------------------------

  /**
   * Waits until `probe` returns a truthy value, re-checked after every
   * response and stream change; resolves with that value.
   *
   * @throws XdskitError `XDSKIT_WAIT_TIMEOUT` naming `description` and what the FakeEnvoy has.
   * @example const l = await envoy.waitFor((e) => e.listeners.get("ingress"), { description: "listener ingress" });
   */
  waitFor<T>(probe: (envoy: this) => T | undefined | null | false, options: WaitOptions & { description?: string } = {}): Promise<T> {
    return this.#wait(options.description ?? "a condition", () => probe(this), options);
  }

  /** Waits until the FakeEnvoy runs `version` of a type (see {@link version}). */
  waitForVersion(typeUrl: string, version: string, options: WaitOptions = {}): Promise<void> {
    return this.#wait(`version "${version}" of ${typeUrl}`, () => this.version(typeUrl) === version || undefined, options, {
      typeUrl,
    }).then(() => undefined);
  }

  /**
   * Waits until a resource runs (optionally in a given version); resolves
   * with its decoded message, typed by the type URL.
   *
   * @example const cluster = await envoy.waitForResource(TypeUrl.Cluster, "web"); // a Cluster
   */
  waitForResource<const U extends string>(
    typeUrl: U,
    name: string,
    options: WaitOptions & { version?: string } = {},
  ): Promise<MessageOf<U>> {
    const what = `resource "${name}" of ${typeUrl}${options.version === undefined ? "" : ` in version "${options.version}"`}`;
    return this.#wait(
      what,
      () => {
        const r = this.resources<MessageOf<U>>(typeUrl).get(name);
        return r && (options.version === undefined || r.version === options.version) ? r : undefined;
      },
      options,
      { typeUrl, resourceName: name },
    ).then((r) => r.message);
  }

  /**
   * Waits until the control plane's node status shows this FakeEnvoy's
   * latest ACK of a type: the `lastAck` the status records for this node
   * carries the nonce and version of the last response the FakeEnvoy accepted. Use it
   * after a wait on the FakeEnvoy, before asserting on the control plane's
   * status, instead of polling (the ACK is on the wire when the FakeEnvoy
   * has the config; the server records it a moment later).
   *
   * @param status What records node status, e.g. `xds.status` of an XdsServer.
   * @throws XdskitError `XDSKIT_WAIT_TIMEOUT` saying what the status shows for this node and type.
   * @example
   * await envoy.waitForResource(TypeUrl.Cluster, "web");
   * await envoy.waitForStatusAck(xds.status!, TypeUrl.Cluster);
   * xds.status!.nodeStatus("fake-envoy")?.types[TypeUrl.Cluster]?.lastAck; // recorded
   */
  waitForStatusAck(status: NodeStatusSource, typeUrl: string, options: WaitOptions = {}): Promise<void> {
    const nodeId = this.options.node.id ?? "";
    const lastAccepted = () => this.#history.findLast((r) => r.typeUrl === typeUrl && r.decision === "ack");
    const shown = () => {
      const ack = status.nodeStatus(nodeId)?.types[typeUrl]?.lastAck;
      return ack ? `last ACK nonce "${ack.nonce}" version "${ack.version}"` : "no ACK";
    };
    const what = () => {
      const record = lastAccepted();
      const mine = record
        ? `nonce "${record.nonce}" (version "${record.version}")`
        : "a first ACK (the FakeEnvoy has accepted nothing yet)";
      return `node status of "${nodeId}" for ${typeUrl} to record the ACK of ${mine}; it shows ${shown()}`;
    };
    return this.#wait(
      what,
      () => {
        const record = lastAccepted();
        const ack = status.nodeStatus(nodeId)?.types[typeUrl]?.lastAck;
        return record !== undefined && ack?.nonce === record.nonce && ack.version === record.version;
      },
      options,
      { typeUrl, nodeId },
    ).then(() => undefined);
  }

  /** Waits until a resource is no longer running (removed, or never received). */
  waitForAbsent(typeUrl: string, name: string, options: WaitOptions = {}): Promise<void> {
    return this.#wait(`resource "${name}" of ${typeUrl} to be gone`, () => !this.resources(typeUrl).has(name), options, {
      typeUrl,
      resourceName: name,
    }).then(() => undefined);
  }

  /** Waits until a cluster has exactly `count` endpoints (see {@link endpointAddresses}); resolves with their addresses. */
  waitForEndpoints(clusterName: string, count: number, options: WaitOptions = {}): Promise<string[]> {
    return this.#wait(
      `cluster "${clusterName}" to have ${count} endpoints`,
      () => {
        const addresses = this.endpointAddresses(clusterName);
        return addresses.length === count ? addresses : undefined;
      },
      options,
      { resourceName: clusterName },
    );
  }

  /** Waits for a NACK (of a type, naming a resource, after a `seq`); resolves with its record. */
  waitForNack(options: HistoryWaitOptions & { typeUrl?: string; resourceName?: string } = {}): Promise<ResponseRecord> {
    const what = `a NACK${options.typeUrl ? ` of ${options.typeUrl}` : ""}${options.resourceName ? ` naming "${options.resourceName}"` : ""}`;
    return this.#wait(
      what,
      () =>
        this.#history.find(
          (r) =>
            r.decision === "nack" &&
            r.seq > (options.after ?? 0) &&
            (options.typeUrl === undefined || r.typeUrl === options.typeUrl) &&
            (options.resourceName === undefined || r.problems.some((p) => p.resourceName === options.resourceName)),
        ),
      options,
    );
  }

  /** Waits for an ACKed response of a type (after a `seq`); resolves with its record. */
  waitForAck(typeUrl: string, options: HistoryWaitOptions = {}): Promise<ResponseRecord> {
    return this.#wait(
      `an ACK of ${typeUrl}`,
      () => this.#history.find((r) => r.decision === "ack" && r.typeUrl === typeUrl && r.seq > (options.after ?? 0)),
      options,
      { typeUrl },
    );
  }

  /** Waits for a stream to end (after a `seq`); resolves with how it ended. */
  waitForStreamEnd(options: HistoryWaitOptions = {}): Promise<StreamEnd> {
    return this.#wait("a stream to end", () => this.#ends.find((e) => e.seq > (options.after ?? 0)), options);
  }

  #wait<T>(
    what: WaitDescription,
    probe: () => T | undefined | null | false,
    options: WaitOptions,
    context: { typeUrl?: string; resourceName?: string; nodeId?: string } = {},
  ): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    if (this.#closed) {
      const shown = typeof what === "function" ? what() : what;
      return Promise.reject(new XdskitError(ErrorCode.WAIT_TIMEOUT, `FakeEnvoy: closed before waiting for ${shown}`, context));
    }
    return this.#waiters.wait(what, probe, timeoutMs, context);
  }

  // ---- connection control -------------------------------------------------

  /** Ends every stream from the client side. The running config is kept; {@link reconnect} resumes. */
  disconnect(): void {
    for (const stream of [...this.#streams.values()]) stream.cancel();
    this.#streams.clear();
    for (const state of this.#states.values()) state.endStream();
  }

  /**
   * Disconnects if needed, then opens new streams and re-subscribes to
   * everything, as Envoy does after a reconnect: SotW requests carry the last
   * accepted version and the current names; delta requests carry
   * `initial_resource_versions` with every running resource. Nonces are per
   * stream: no request on the new streams carries a nonce of the old ones.
   */
  async reconnect(): Promise<void> {
    this.#assertOpen("reconnect");
    this.disconnect();
    await this.#connect();
    for (const state of this.#states.values()) this.#sync(state, true);
  }

  /** Stops reading responses (HTTP/2 flow control then pushes back on the server) until {@link resumeReading}. */
  pauseReading(): void {
    this.#paused = true;
    for (const stream of this.#streams.values()) stream.pause();
  }

  /** Resumes reading responses. */
  resumeReading(): void {
    this.#paused = false;
    for (const stream of this.#streams.values()) stream.resume();
  }

  /**
   * Sends a raw request, as is: no node is added, nothing is tracked. For
   * malformed requests (no type URL on ADS, unknown nonce, garbage bytes).
   * Goes on the ADS stream, or on the per-type stream of `typeUrl` (default:
   * the request's own type URL), opened if needed.
   *
   * @example envoy.sendRaw({ typeUrl: "", resourceNames: ["x"] }); // ADS request without a type URL
   */
  sendRaw(
    request: DeepPartial<DiscoveryRequest> | DeepPartial<DeltaDiscoveryRequest> | Uint8Array,
    options: { typeUrl?: string } = {},
  ): void {
    this.#assertOpen("sendRaw");
    let message: AnyRequest;
    if (request instanceof Uint8Array) message = request;
    else if (this.options.protocol === "sotw") message = DiscoveryRequest.fromPartial(request as DeepPartial<DiscoveryRequest>);
    else message = DeltaDiscoveryRequest.fromPartial(request as DeepPartial<DeltaDiscoveryRequest>);
    const typeUrl = options.typeUrl ?? (request instanceof Uint8Array ? undefined : request.typeUrl);
    if (!this.options.ads && !typeUrl) {
      throw optionError("FakeEnvoy.sendRaw", "typeUrl", "set on per-type streams, to pick the stream", options.typeUrl);
    }
    this.#stream(typeUrl ?? "").write(message);
  }

  /** Ends every stream, closes the channel and fails pending waits. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.disconnect();
    this.#client.close();
    this.#waiters.closeAll();
  }

  /** `await using envoy = ...` closes the FakeEnvoy at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals ----------------------------------------------------------

  #assertOpen(method: string): void {
    if (this.#closed) throw new XdskitError(ErrorCode.API_MISUSE, `FakeEnvoy.${method}: the FakeEnvoy is closed`);
  }

  #connect(): Promise<void> {
    const timeoutMs = this.options.timeoutMs;
    return new Promise((resolve, reject) => {
      this.#client.waitForReady(Date.now() + timeoutMs, (error) => {
        if (!error) return resolve();
        reject(
          new XdskitError(
            ErrorCode.WAIT_TIMEOUT,
            `FakeEnvoy: could not connect to ${this.options.address} within ${timeoutMs} ms (${error.message}); is the control plane listening?`,
            { cause: error },
          ),
        );
      });
    });
  }

  #state(typeUrl: string): TypeState {
    let state = this.#states.get(typeUrl);
    if (!state) {
      state = new TypeState(typeUrl);
      this.#states.set(typeUrl, state);
    }
    return state;
  }

  #stream(typeUrl: string): XdsStream {
    const key = this.options.ads ? "" : typeUrl;
    const existing = this.#streams.get(key);
    if (existing && !existing.ended) return existing;
    const delta = this.options.protocol === "delta";
    let path: string | undefined;
    if (this.options.ads) path = delta ? ADS_DELTA_PATH : ADS_SOTW_PATH;
    else path = delta ? this.#state(typeUrl).facts.deltaPath : this.#state(typeUrl).facts.sotwPath;
    if (!path) {
      throw new XdskitError(
        ErrorCode.INVALID_OPTION,
        `FakeEnvoy: there is no per-type ${this.options.protocol} service for ${typeUrl}; use ads: true or the other protocol`,
        { typeUrl },
      );
    }
    const stream: XdsStream = new XdsStream(this.#client, path, this.options.protocol, this.options.ads ? undefined : typeUrl, {
      onResponse: (response) => this.#onResponse(stream, response),
      onEnd: (status) => this.#onEnd(stream, status),
    });
    if (this.#paused) stream.pause();
    this.#streams.set(key, stream);
    return stream;
  }

  #node(stream: XdsStream): Node | undefined {
    if (this.options.nodeOnEveryRequest || !stream.nodeSent) {
      stream.nodeSent = true;
      return Node.fromPartial(this.options.node);
    }
    return undefined;
  }

  /** Brings the server's view of a type's subscription in line with the state; `initial` resends everything. */
  #sync(state: TypeState, initial = false): void {
    if (this.#closed) return;
    if (initial) state.requested = false;
    const names = state.names;
    if (!state.requested && !state.active) return;
    const same =
      state.requested &&
      state.sentWildcard === state.wildcard &&
      names.size === state.sentNames.size &&
      [...names].every((n) => state.sentNames.has(n));
    if (same) return;
    const stream = this.#stream(state.typeUrl);
    const wildcardNames = this.#wildcardNames(state, names);
    if (this.options.protocol === "sotw") {
      stream.write(
        DiscoveryRequest.fromPartial({
          versionInfo: state.version,
          node: this.#node(stream),
          resourceNames: [...wildcardNames, ...names],
          typeUrl: state.typeUrl,
          responseNonce: state.requested ? state.nonce : "",
        }),
      );
    } else if (!state.requested) {
      const initialResourceVersions: Record<string, string> = {};
      for (const r of state.resources.values()) initialResourceVersions[r.name] = r.version;
      stream.write(
        DeltaDiscoveryRequest.fromPartial({
          node: this.#node(stream),
          typeUrl: state.typeUrl,
          resourceNamesSubscribe: [...wildcardNames, ...names],
          initialResourceVersions,
        }),
      );
    } else {
      const subscribe = [...names].filter((n) => !state.sentNames.has(n));
      const unsubscribe = [...state.sentNames].filter((n) => !names.has(n));
      // A legacy wildcard ends once names are sent, so "*" goes along with the first names.
      const legacyEnds = state.wildcard && this.options.wildcard === "legacy" && state.sentNames.size === 0 && names.size > 0;
      if ((state.wildcard && !state.sentWildcard) || legacyEnds) subscribe.unshift("*");
      if (!state.wildcard && state.sentWildcard) unsubscribe.unshift("*");
      stream.write(
        DeltaDiscoveryRequest.fromPartial({
          node: this.#node(stream),
          typeUrl: state.typeUrl,
          resourceNamesSubscribe: subscribe,
          resourceNamesUnsubscribe: unsubscribe,
        }),
      );
    }
    state.requested = true;
    state.sentNames = names;
    state.sentWildcard = state.wildcard;
  }

  /**
   * `["*"]` when the request must name the wildcard: always in explicit mode;
   * in legacy mode only alongside names (an empty list is the legacy
   * wildcard, but names without `*` would end it).
   */
  #wildcardNames(state: TypeState, names: ReadonlySet<string>): string[] {
    if (!state.wildcard) return [];
    return this.options.wildcard === "explicit" || names.size > 0 ? ["*"] : [];
  }

  #onResponse(stream: XdsStream, response: AnyResponse): void {
    if (this.#closed) return;
    const typeUrl = response.typeUrl || stream.typeUrl || "";
    const state = this.#state(typeUrl);
    state.nonce = response.nonce;
    const sotw = this.options.protocol === "sotw";
    const candidate = sotw ? applySotw(state, response as DiscoveryResponse) : applyDelta(state, response as DeltaDiscoveryResponse);
    const problems = [...candidate.problems, ...this.#validate(state, candidate), ...this.#references(state, candidate)];
    const version = sotw ? (response as DiscoveryResponse).versionInfo : (response as DeltaDiscoveryResponse).systemVersionInfo;
    const errorDetail = problems.length > 0 ? { code: INVALID_ARGUMENT, message: this.#nackMessage(state, problems) } : undefined;
    if (!errorDetail) {
      state.resources = candidate.resources;
      state.version = version;
    }
    this.#history.push(
      Object.freeze({
        seq: ++this.#seq,
        at: Date.now(),
        protocol: this.options.protocol,
        typeUrl,
        version,
        nonce: response.nonce,
        resourceNames: candidate.names,
        removedNames: sotw ? [] : (response as DeltaDiscoveryResponse).removedResources,
        decision: errorDetail ? "nack" : "ack",
        problems,
        ...(errorDetail ? { errorDetail } : {}),
        raw: response,
      }),
    );
    // ACK or NACK first, then any subscription change it causes (Envoy pauses
    // EDS/RDS while applying CDS/LDS, so those requests follow the ACK).
    if (sotw) {
      stream.write(
        DiscoveryRequest.fromPartial({
          versionInfo: state.version,
          node: this.#node(stream),
          resourceNames: [...this.#wildcardNames(state, state.sentNames), ...state.sentNames],
          typeUrl,
          responseNonce: response.nonce,
          errorDetail,
        }),
      );
    } else {
      stream.write(DeltaDiscoveryRequest.fromPartial({ node: this.#node(stream), typeUrl, responseNonce: response.nonce, errorDetail }));
    }
    if (!errorDetail && this.options.follow && this.#leadsToOthers(typeUrl)) this.#follow();
    this.#waiters.changed();
  }

  /** Envoy follows clusters and listeners; a gRPC client also follows route configurations (their clusters). */
  #leadsToOthers(typeUrl: string): boolean {
    if (typeUrl === TypeUrl.Cluster || typeUrl === TypeUrl.Listener) return true;
    return this.options.client === "grpc" && typeUrl === TypeUrl.RouteConfiguration;
  }

  #follow(): void {
    const deps =
      this.options.client === "grpc"
        ? grpcDependentNames(this.listeners.values(), this.routeConfigurations, this.clusters.values())
        : dependentNames(this.clusters.values(), this.listeners.values());
    for (const [typeUrl, names] of deps) {
      const existing = this.#states.get(typeUrl);
      if (!existing && names.size === 0) continue;
      const state = existing ?? this.#state(typeUrl);
      state.auto = names;
      state.prune();
      this.#sync(state);
    }
  }

  #validate(state: TypeState, candidate: Candidate): ResourceProblem[] {
    const problems: ResourceProblem[] = [];
    const validator = this.options.validator;
    for (const name of candidate.updated) {
      const entry = candidate.resources.get(name);
      if (!entry) continue;
      if (validator) {
        try {
          for (const problem of validator(state.typeUrl, entry.message, name)) problems.push({ resourceName: name, ...problem });
        } catch (error) {
          problems.push({ resourceName: name, message: `the validator threw: ${(error as Error).message}` });
        }
      }
      for (const item of this.#rules) {
        const { rule } = item;
        if (item.remaining <= 0) continue;
        if (rule.typeUrl !== undefined && rule.typeUrl !== state.typeUrl) continue;
        if (rule.name !== undefined && rule.name !== name) continue;
        if (rule.predicate && !safePredicate(rule, entry.message, name, state.typeUrl)) continue;
        item.remaining -= 1;
        problems.push({ resourceName: name, message: rule.message ?? "rejected by a NackRule" });
      }
    }
    for (let i = this.#rules.length - 1; i >= 0; i--) if (this.#rules[i]!.remaining <= 0) this.#rules.splice(i, 1);
    return problems;
  }

  #references(state: TypeState, candidate: Candidate): ResourceProblem[] {
    if (!this.options.checkReferences) return [];
    const clusterNames = new Set(this.resources(TypeUrl.Cluster).keys());
    const updated = new Set(candidate.updated);
    let problems: ResourceProblem[] = [];
    if (state.typeUrl === TypeUrl.Listener) {
      problems = checkListeners(
        [...candidate.resources.values()].map((r) => r.message as Listener),
        clusterNames,
      );
    } else if (state.typeUrl === TypeUrl.RouteConfiguration) {
      problems = checkRoutes(
        candidate.updated.map((n) => candidate.resources.get(n)!.message as RouteConfiguration),
        clusterNames,
      );
    }
    return problems.filter((p) => p.resourceName === undefined || updated.has(p.resourceName));
  }

  #nackMessage(state: TypeState, problems: readonly ResourceProblem[]): string {
    const names = [...new Set(problems.map((p) => p.resourceName).filter((n): n is string => n !== undefined))];
    const details = problems.map((p) => (p.resourceName ? `${p.resourceName}: ${p.message}` : p.message)).join("; ");
    return `Error adding/updating ${state.facts.kind}(s) ${names.join(", ") || "(unnamed)"}: ${details}`;
  }

  #onEnd(stream: XdsStream, status: { code: number; details: string }): void {
    this.#ends.push(
      Object.freeze({
        seq: ++this.#seq,
        ...(stream.typeUrl === undefined ? {} : { typeUrl: stream.typeUrl }),
        code: status.code,
        details: status.details,
        at: Date.now(),
      }),
    );
    const key = this.options.ads ? "" : (stream.typeUrl ?? "");
    if (this.#streams.get(key) === stream) {
      this.#streams.delete(key);
      for (const state of this.#states.values()) if (this.options.ads || state.typeUrl === stream.typeUrl) state.endStream();
    }
    this.#waiters.changed();
  }
}
