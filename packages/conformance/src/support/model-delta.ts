// The delta ADS client of the protocol model test: the test decides every
// request, accumulates what it was sent (resources minus removed_resources)
// and checks every response on arrival against the model of the cache.
// Rules cited are docs/protocol.md row ids.
import { sameContentVersion } from "@xdskit/cache";
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from "@xdskit/envoy-api";
import type { ModelContext } from "./model-sotw.js";
import { probeAcked, short } from "./model-sotw.js";
import {
  CDS,
  describeContent,
  diffContent,
  EDS,
  expected,
  LDS,
  MODEL_TYPES,
  nameOf,
  PROBE,
  RawStream,
  RDS,
  type Rng,
  UNIVERSE,
  WILDCARD_TYPES,
} from "./model-universe.js";

interface HeldResource {
  readonly version: string;
  readonly hex: string;
}

class DeltaType {
  wildcard: boolean;
  /** Explicitly subscribed names (never empty for named types, nor when a wildcard type is not wildcard). */
  sub: Set<string>;
  /** What the client holds: every resource sent minus every removal (NACKed ones too: the server counts them as held). */
  received = new Map<string, HeldResource>();
  /** What the client had when it last ACKed (sent as initial_resource_versions on reconnect). */
  accepted = new Map<string, HeldResource>();
  latest: string | undefined;
  status: "none" | "pending" | "acked" | "nacked" = "none";
  nonces: string[] = [];
  /** Names the client (re)subscribed since they were last sent: a resend is allowed (delta-resubscribe-resends). */
  forced = new Set<string>();
  /** Names unsubscribed while a wildcard covers them: the server must say them again, or that they are gone (delta-unsubscribe). */
  ambiguous = new Set<string>();
  /** EDS/RDS: a CDS/LDS response came since this type's last response (warming forces resends). */
  warm = false;
  /** The first wildcard request of a stream is answered even when empty (delta-first-wildcard): until then, this is false. */
  wildcardAnswered = false;
  lastRequest: DeltaDiscoveryRequest | undefined;
  constructor(sub: "*" | Set<string>) {
    this.wildcard = sub === "*";
    this.sub = sub === "*" ? new Set() : sub;
  }
}

export class DeltaModelClient {
  readonly #ctx: ModelContext;
  readonly types = new Map<string, DeltaType>();
  #stream!: RawStream<DeltaDiscoveryResponse>;
  #seen = 0;
  #streamNonces = new Set<string>();
  #probe: string | undefined;
  answered = new Set<string>();
  /** Responses of the model types received (all streams). */
  responses = 0;

  constructor(ctx: ModelContext, initial: Map<string, "*" | Set<string>>) {
    this.#ctx = ctx;
    for (const typeUrl of MODEL_TYPES) this.types.set(typeUrl, new DeltaType(initial.get(typeUrl)!));
  }

  /** Opens a stream; each type's first request carries initial_resource_versions (what the client accepted), as a reconnecting Envoy's. */
  async connect(): Promise<void> {
    this.#stream?.cancel();
    this.#stream = new RawStream<DeltaDiscoveryResponse>(this.#ctx.client, "delta");
    this.#seen = 0;
    this.#streamNonces = new Set();
    this.#probe = undefined;
    let first = true;
    for (const [typeUrl, st] of this.types) {
      st.received = new Map(st.accepted);
      st.latest = undefined;
      st.status = "none";
      st.nonces = [];
      st.forced = new Set(); // delta-reconnect-only-differences: nothing is forced on a stream's first request
      st.ambiguous = new Set();
      st.warm = false;
      st.wildcardAnswered = false;
      this.#send(
        typeUrl,
        {
          resourceNamesSubscribe: [...(st.wildcard ? ["*"] : []), ...st.sub],
          initialResourceVersions: Object.fromEntries([...st.accepted].map(([n, r]) => [n, r.version])),
        },
        first,
      );
      first = false;
    }
    await this.barrier();
  }

  #send(typeUrl: string, fields: Partial<DeltaDiscoveryRequest>, withNode = false): DeltaDiscoveryRequest {
    const request = {
      typeUrl,
      resourceNamesSubscribe: [],
      resourceNamesUnsubscribe: [],
      initialResourceVersions: {},
      responseNonce: "",
      ...fields,
      ...(withNode ? { node: { id: this.#ctx.nodeId } } : {}),
    } as DeltaDiscoveryRequest;
    this.types.get(typeUrl)!.lastRequest = request;
    this.#stream.write(request);
    return request;
  }

  /** Subscribes the probe name again (always answered: delta-resubscribe-resends) and processes everything before its answer. */
  async barrier(): Promise<void> {
    const from = this.#stream.received.length;
    this.#stream.write({ typeUrl: PROBE, resourceNamesSubscribe: ["p0"] } as DeltaDiscoveryRequest);
    await this.#stream.until("the probe response", () =>
      this.#stream.received.slice(from).some((r) => r.typeUrl === PROBE && r.resources.some((x) => x.name === "p0")),
    );
    this.#process();
    // ACK the probe's answer and wait until the server took it: a type awaiting its ACK holds make-before-break removals back.
    const probe = this.#probe!;
    this.#stream.write({ typeUrl: PROBE, responseNonce: probe } as DeltaDiscoveryRequest);
    await probeAcked(this.#ctx, probe);
  }

  #process(): void {
    const received = this.#stream.received;
    while (this.#seen < received.length) {
      const response = received[this.#seen++]!;
      if (response.nonce === "") this.#ctx.fail(`nonce-per-stream: a ${response.typeUrl} response without a nonce`);
      if (this.#streamNonces.has(response.nonce)) this.#ctx.fail(`nonce-per-stream: nonce ${response.nonce} sent twice on one stream`);
      this.#streamNonces.add(response.nonce);
      if (response.typeUrl === PROBE) {
        this.#probe = response.nonce;
        continue;
      }
      this.#check(response);
    }
  }

  #check(response: DeltaDiscoveryResponse): void {
    const typeUrl = response.typeUrl;
    const st = this.types.get(typeUrl);
    if (st === undefined) this.#ctx.fail(`a response for ${typeUrl}, which the client never asked for`);
    const state = this.#ctx.state();
    const current = state.get(typeUrl)!;
    const label = `${short(typeUrl)} delta response ${response.nonce} (+${response.resources.map((r) => `${r.name}@${r.version.slice(0, 8)}`).join(",")} -${response.removedResources.join(",")})`;
    if (response.resources.length === 0 && response.removedResources.length === 0 && (!st.wildcard || st.wildcardAnswered))
      this.#ctx.fail(`${label}: an empty response nobody asked for`);
    const names = new Set<string>();
    for (const resource of response.resources) {
      const name = resource.name;
      if (names.has(name)) this.#ctx.fail(`no-duplicate-names: ${label} holds ${name} twice`);
      names.add(name);
      if (!st.wildcard && !st.sub.has(name)) this.#ctx.fail(`named-only-requested: ${label} sends ${name}, not subscribed`);
      if (resource.resource === undefined) this.#ctx.fail(`${label}: ${name} has no body (and no TTL was set)`);
      if (nameOf(typeUrl, resource.resource.value) !== name) this.#ctx.fail(`${label}: ${name} carries a resource of another name`);
      const hex = Buffer.from(resource.resource.value).toString("hex");
      const want = expected(state, typeUrl, new Set([name])).get(name);
      if (want === undefined) this.#ctx.fail(`${label}: ${name} is not in the cache (stale)`);
      if (want !== hex) this.#ctx.fail(`${label}: ${name} is stale (bytes differ from the cache's)`);
      // delta-versions-per-resource: the version is the cache entry's.
      const version = this.#versionOf(typeUrl, name);
      if (resource.version !== version)
        this.#ctx.fail(`delta-versions-per-resource: ${label}: ${name} at version ${resource.version}, the cache entry's is ${version}`);
      // No resource twice at one version unless the client asked again (or warming).
      const held = st.received.get(name)?.version;
      if (held !== undefined && sameContentVersion(held, resource.version) && !st.forced.has(name) && !st.warm)
        this.#ctx.fail(`${label}: ${name} sent again at the version the client holds, unasked`);
      st.received.set(name, { version: resource.version, hex });
      st.forced.delete(name);
      st.ambiguous.delete(name);
    }
    for (const name of response.removedResources) {
      if (names.has(name)) this.#ctx.fail(`${label}: ${name} both sent and removed`);
      if (current.has(name) && (st.wildcard || st.sub.has(name))) this.#ctx.fail(`delta-removed: ${label} removes ${name}, which exists`);
      // delta-removed: only what the client holds, or a subscribed name that does not exist.
      if (!st.received.has(name) && !(st.sub.has(name) && !current.has(name)))
        this.#ctx.fail(`delta-removed: ${label} removes ${name}, which the client never held nor subscribed to`);
      st.received.delete(name);
      st.forced.delete(name);
      st.ambiguous.delete(name);
    }
    this.#ctx.note(`    <- ${label}`);
    st.latest = response.nonce;
    st.status = "pending";
    st.nonces.push(response.nonce);
    if (st.wildcard) st.wildcardAnswered = true;
    st.warm = false;
    this.answered.add(typeUrl);
    this.responses++;
    if (typeUrl === CDS) this.types.get(EDS)!.warm = true;
    if (typeUrl === LDS) this.types.get(RDS)!.warm = true;
  }

  /** What the server should send as a resource's version: `<label>~<digest>` (docs/cache.md "Versions in your words"). */
  #versionOf(typeUrl: string, name: string): string {
    return this.#ctx.versionOf(`${typeUrl}|${name}`, this.#ctx.backend.entryDigest(typeUrl, name));
  }

  /** Whether an ACK or NACK of the type may be answered: a change made while the client had not answered, or a warming resend. */
  dueOnReply(typeUrl: string): boolean {
    const st = this.types.get(typeUrl)!;
    if (st.status !== "pending") return false;
    // A held-back cluster (listener) change the reply releases forces endpoints (routes) again: warming.
    const forcer = typeUrl === EDS ? CDS : typeUrl === RDS ? LDS : undefined;
    return st.warm || this.#behind(typeUrl) || (forcer !== undefined && this.#behind(forcer));
  }

  /** Whether what the client holds of a type differs from the cache's current state for its subscription. */
  #behind(typeUrl: string): boolean {
    const st = this.types.get(typeUrl)!;
    const want = expected(this.#ctx.state(), typeUrl, st.wildcard ? undefined : st.sub);
    const held = [...st.received].filter(([n]) => st.wildcard || st.sub.has(n));
    return held.length !== want.size || held.some(([n, r]) => want.get(n) !== r.hex);
  }

  ack(typeUrl: string): string | undefined {
    const st = this.types.get(typeUrl)!;
    if (st.status !== "pending" || st.latest === undefined) return undefined;
    this.#send(typeUrl, { responseNonce: st.latest });
    st.status = "acked";
    st.accepted = new Map(st.received);
    return st.latest;
  }

  nack(typeUrl: string): string | undefined {
    const st = this.types.get(typeUrl)!;
    if (st.status !== "pending" || st.latest === undefined) return undefined;
    this.#send(typeUrl, { responseNonce: st.latest, errorDetail: { code: 3, message: `model: ${short(typeUrl)} rejected`, details: [] } });
    st.status = "nacked";
    return st.latest;
  }

  stale(typeUrl: string, pick: (n: number) => number, nack: boolean): string | undefined {
    const st = this.types.get(typeUrl)!;
    if (st.nonces.length < 2) return undefined;
    const nonce = st.nonces[pick(st.nonces.length - 1)]!;
    this.#send(typeUrl, {
      responseNonce: nonce,
      ...(nack ? { errorDetail: { code: 3, message: "model: stale rejection", details: [] } } : {}),
    });
    return nonce;
  }

  resend(typeUrl: string): boolean {
    const st = this.types.get(typeUrl)!;
    const last = st.lastRequest;
    if (last === undefined || last.responseNonce === "" || last.resourceNamesSubscribe.length > 0) return false;
    this.#stream.write(last);
    return true;
  }

  /**
   * Subscribes, unsubscribes or re-subscribes names of a named type. Unsubscribed names are dropped by the client;
   * (re)subscribed names must be sent (delta-resubscribe-resends) or said not to exist (delta-removed).
   */
  changeSubscription(typeUrl: string, rng: Rng): { names: Set<string> | "*"; note: string } {
    const st = this.types.get(typeUrl)!;
    const subscribe: string[] = [];
    const unsubscribe: string[] = [];
    if (WILDCARD_TYPES.has(typeUrl) && rng.chance(0.4)) {
      // wildcard-switch: add or drop "*" (a type left without wildcard keeps at least one name).
      if (st.wildcard) {
        unsubscribe.push("*");
        if (st.sub.size === 0) subscribe.push(rng.pick(UNIVERSE[typeUrl]!));
      } else subscribe.push("*");
    } else {
      for (let i = 1 + rng.int(2); i > 0; i--) {
        const name = rng.pick(UNIVERSE[typeUrl]!);
        if (subscribe.includes(name) || unsubscribe.includes(name)) continue;
        // Sometimes subscribe a name again that is already subscribed: it must be sent again.
        const keeps = st.wildcard || st.sub.size - unsubscribe.length > 1;
        if (st.sub.has(name) && keeps && rng.chance(0.7)) unsubscribe.push(name);
        else subscribe.push(name);
      }
    }
    if (unsubscribe.includes("*")) {
      st.wildcard = false;
      // The client forgets what only the wildcard covered.
      for (const name of new Set([...st.received.keys(), ...st.accepted.keys()])) {
        if (st.sub.has(name) || subscribe.includes(name)) continue;
        st.received.delete(name);
        st.accepted.delete(name);
        st.forced.delete(name);
        st.ambiguous.delete(name);
      }
    }
    if (subscribe.includes("*")) st.wildcard = true;
    for (const name of unsubscribe) {
      if (name === "*") continue;
      st.sub.delete(name);
      if (st.wildcard) {
        // delta-unsubscribe: still covered by the wildcard, the client keeps it as "ambiguous" until the server says
        // it again (or that it is gone), which it must.
        st.forced.add(name);
        if (st.received.has(name)) st.ambiguous.add(name);
        continue;
      }
      // Unsubscribed, the client drops it.
      st.received.delete(name);
      st.accepted.delete(name);
      st.forced.delete(name);
    }
    for (const name of subscribe) {
      if (name === "*") continue;
      st.sub.add(name);
      st.forced.add(name);
    }
    this.#send(typeUrl, { resourceNamesSubscribe: subscribe, resourceNamesUnsubscribe: unsubscribe });
    // delta-unsubscribe: an unsubscribe-only request needs no answer unless a wildcard still covers the names.
    const note = subscribe.length === 0 && !st.wildcard ? "unsubscribe only" : `(+${subscribe.join(",")} -${unsubscribe.join(",")})`;
    return { names: st.wildcard ? "*" : new Set(st.sub), note };
  }

  async settle(): Promise<void> {
    for (let round = 0; ; round++) {
      if (round > 20) this.#ctx.fail("never quiet: responses kept coming for 20 rounds of ACKs");
      let acked = false;
      for (const typeUrl of MODEL_TYPES) if (this.ack(typeUrl) !== undefined) acked = true;
      this.answered.clear();
      await this.barrier();
      if (!acked && this.answered.size === 0) break;
    }
    this.checkConvergence();
  }

  /** Convergence: what the client holds (sent minus removed) is the cache's state for its subscription, at the cache's versions. */
  checkConvergence(): void {
    const state = this.#ctx.state();
    for (const [typeUrl, st] of this.types) {
      const want = expected(state, typeUrl, st.wildcard ? undefined : st.sub);
      if (st.ambiguous.size > 0)
        this.#ctx.fail(`delta-unsubscribe: ${short(typeUrl)} ${[...st.ambiguous]} unsubscribed under a wildcard were never said again`);
      const held = new Map([...st.received].map(([n, r]) => [n, r.hex]));
      const same = held.size === want.size && [...want].every(([n, hex]) => held.get(n) === hex);
      if (!same)
        this.#ctx.fail(
          `convergence: ${short(typeUrl)} holds ${describeContent(held)}, the cache ${describeContent(want)} (${diffContent(held, want)})`,
        );
      for (const [name, r] of st.received) {
        const version = this.#versionOf(typeUrl, name);
        // Equality is by digest (docs/cache.md): content the client already holds under an older label is not resent.
        if (!sameContentVersion(r.version, version))
          this.#ctx.fail(`convergence: ${short(typeUrl)} ${name} held at ${r.version}, the cache's is ${version}`);
      }
    }
  }

  close(): void {
    this.#stream?.cancel();
  }
}
