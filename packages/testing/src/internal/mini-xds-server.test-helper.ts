// A minimal xDS server for FakeEnvoy's own tests (not part of the build): it
// serves a map of resources per type over ADS and per-type services, SotW and
// delta, answering every request whose subscription or version differs, and
// records every request it receives. Deliberately simple; the real server is
// @xdskit/server.
import {
  type handleBidiStreamingCall,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import {
  AggregatedDiscoveryServiceService,
  ClusterDiscoveryServiceService,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  EndpointDiscoveryServiceService,
  ListenerDiscoveryServiceService,
  RouteDiscoveryServiceService,
  SecretDiscoveryServiceService,
} from "@xdskit/envoy-api";
import type { Any } from "@xdskit/envoy-api/google/protobuf/any";

type SotwCall = ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;
type DeltaCall = ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

interface SotwSub {
  wildcard: boolean;
  names: Set<string>;
  sent: string;
}
interface DeltaSub {
  wildcard: boolean;
  names: Set<string>;
  has: Map<string, string>;
}

const FULL_STATE = new Set(["Listener", "Cluster"].map((t) => `type.googleapis.com/envoy.config.${t.toLowerCase()}.v3.${t}`));

export class MiniXdsServer {
  readonly server = new Server();
  readonly sotwRequests: DiscoveryRequest[] = [];
  readonly deltaRequests: DeltaDiscoveryRequest[] = [];
  /** Per type: version and resources by name. */
  readonly #config = new Map<string, { version: string; resources: Map<string, Any> }>();
  readonly #sotw = new Set<{ call: SotwCall; subs: Map<string, SotwSub> }>();
  readonly #delta = new Set<{ call: DeltaCall; subs: Map<string, DeltaSub> }>();
  #nonce = 0;
  port = 0;

  async start(): Promise<this> {
    const sotw = (call: SotwCall) => this.#onSotw(call);
    const delta = (call: DeltaCall) => this.#onDelta(call);
    const add = (def: ServiceDefinition, impl: Record<string, handleBidiStreamingCall<any, any>>) =>
      this.server.addService(def, impl as UntypedServiceImplementation);
    add(AggregatedDiscoveryServiceService, { streamAggregatedResources: sotw, deltaAggregatedResources: delta });
    add(ClusterDiscoveryServiceService, { streamClusters: sotw, deltaClusters: delta, fetchClusters: () => {} });
    add(ListenerDiscoveryServiceService, { streamListeners: sotw, deltaListeners: delta, fetchListeners: () => {} });
    add(RouteDiscoveryServiceService, { streamRoutes: sotw, deltaRoutes: delta, fetchRoutes: () => {} });
    add(EndpointDiscoveryServiceService, { streamEndpoints: sotw, deltaEndpoints: delta, fetchEndpoints: () => {} });
    add(SecretDiscoveryServiceService, { streamSecrets: sotw, deltaSecrets: delta, fetchSecrets: () => {} });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    return this;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Replaces the resources of a type (named by `name`) and pushes them to every subscriber. */
  set(typeUrl: string, version: string, resources: Record<string, Any>): void {
    this.#config.set(typeUrl, { version, resources: new Map(Object.entries(resources)) });
    for (const stream of this.#sotw) {
      const sub = stream.subs.get(typeUrl);
      if (sub) this.#sendSotw(stream.call, typeUrl, sub);
    }
    for (const stream of this.#delta) {
      const sub = stream.subs.get(typeUrl);
      if (sub) this.#sendDelta(stream.call, typeUrl, sub, new Set());
    }
  }

  #onSotw(call: SotwCall): void {
    const stream = { call, subs: new Map<string, SotwSub>() };
    this.#sotw.add(stream);
    call.on("data", (request: DiscoveryRequest) => {
      this.sotwRequests.push(request);
      const typeUrl = request.typeUrl;
      let sub = stream.subs.get(typeUrl);
      const names = new Set(request.resourceNames.filter((n) => n !== "*"));
      const wildcard = request.resourceNames.includes("*") || (!sub && request.resourceNames.length === 0);
      const changed = !sub || names.size !== sub.names.size || [...names].some((n) => !sub!.names.has(n));
      if (!sub) {
        sub = { wildcard, names, sent: "" };
        stream.subs.set(typeUrl, sub);
      } else {
        sub.names = names;
        if (request.resourceNames.includes("*")) sub.wildcard = true;
      }
      const current = this.#config.get(typeUrl)?.version;
      if (current !== undefined && (changed || (request.versionInfo !== current && sub.sent !== current))) {
        this.#sendSotw(call, typeUrl, sub);
      }
    });
    call.on("end", () => call.end());
    call.on("error", () => {});
    call.on("close", () => this.#sotw.delete(stream));
  }

  #sendSotw(call: SotwCall, typeUrl: string, sub: SotwSub): void {
    const config = this.#config.get(typeUrl);
    if (!config) return;
    const resources = [...config.resources].filter(([n]) => sub.wildcard || sub.names.has(n)).map(([, any]) => any);
    if (!FULL_STATE.has(typeUrl) && resources.length === 0) return;
    sub.sent = config.version;
    call.write({ versionInfo: config.version, resources, canary: false, typeUrl, nonce: String(++this.#nonce) });
  }

  #onDelta(call: DeltaCall): void {
    const stream = { call, subs: new Map<string, DeltaSub>() };
    this.#delta.add(stream);
    call.on("data", (request: DeltaDiscoveryRequest) => {
      this.deltaRequests.push(request);
      const typeUrl = request.typeUrl;
      let sub = stream.subs.get(typeUrl);
      const first = !sub;
      if (!sub) {
        sub = { wildcard: request.resourceNamesSubscribe.length === 0, names: new Set(), has: new Map() };
        stream.subs.set(typeUrl, sub);
        for (const [n, v] of Object.entries(request.initialResourceVersions)) sub.has.set(n, v);
      }
      const force = new Set<string>();
      for (const n of request.resourceNamesSubscribe) {
        if (n === "*") sub.wildcard = true;
        else {
          sub.names.add(n);
          force.add(n);
        }
      }
      for (const n of request.resourceNamesUnsubscribe) {
        if (n === "*") sub.wildcard = false;
        sub.names.delete(n);
        sub.has.delete(n);
      }
      if (first || force.size > 0) this.#sendDelta(call, typeUrl, sub, force);
    });
    call.on("end", () => call.end());
    call.on("error", () => {});
    call.on("close", () => this.#delta.delete(stream));
  }

  #sendDelta(call: DeltaCall, typeUrl: string, sub: DeltaSub, force: Set<string>): void {
    const config = this.#config.get(typeUrl);
    const current = config?.resources ?? new Map<string, Any>();
    const version = config?.version ?? "";
    const resources: DeltaDiscoveryResponse["resources"] = [];
    for (const [name, any] of current) {
      if (!sub.wildcard && !sub.names.has(name)) continue;
      if (sub.has.get(name) === version && !force.has(name)) continue;
      sub.has.set(name, version);
      resources.push({ name, version, resource: any, aliases: [] });
    }
    const removed = [...sub.has.keys()].filter((n) => !current.has(n));
    for (const n of removed) sub.has.delete(n);
    if (resources.length === 0 && removed.length === 0) return;
    call.write({
      systemVersionInfo: version,
      resources,
      typeUrl,
      removedResources: removed,
      removedResourceNames: [],
      nonce: String(++this.#nonce),
    });
  }

  async stop(): Promise<void> {
    this.server.forceShutdown();
  }
}
