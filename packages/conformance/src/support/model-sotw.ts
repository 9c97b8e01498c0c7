// The SotW ADS client of the protocol model test: the test decides every
// request (ACK, NACK, stale nonce, subscription change, resend, reconnect),
// and every response is checked on arrival against the model of the cache.
// Rules cited are docs/protocol.md row ids.
import type * as grpc from "@grpc/grpc-js";
import type { NodeStatusTracker } from "@xdskit/cache";
import { digestOf, sameContentVersion } from "@xdskit/cache";
import type { DiscoveryRequest, DiscoveryResponse } from "@xdskit/envoy-api";
import type { ModelBackend } from "./model-backend.js";
import {
  CDS,
  type Content,
  contentKey,
  describeContent,
  diffContent,
  EDS,
  expected,
  LDS,
  MODEL_TYPES,
  type ModelState,
  nameOf,
  PROBE,
  RawStream,
  RDS,
  type Rng,
  sameContent,
  UNIVERSE,
  WILDCARD_TYPES,
} from "./model-universe.js";

const MBB = "+mbb";

interface Held {
  readonly version: string;
  readonly content: Content;
}

interface SotwResponse extends Held {
  readonly nonce: string;
}

class SotwType {
  /** The subscription: "*" (wildcard) or names (never empty: an empty first request would be legacy wildcard). */
  sub: "*" | Set<string>;
  latest: SotwResponse | undefined;
  status: "none" | "pending" | "acked" | "nacked" = "none";
  /** What the client holds: the latest response (or, after a reconnect, what it had accepted). */
  received: Held | undefined;
  accepted: Held | undefined;
  /** Nonces of this type on the current stream. */
  nonces: string[] = [];
  /** A response with unchanged content is allowed (names added; a named type's first request on a stream). */
  forced = false;
  /** EDS/RDS: a CDS/LDS response came since this type's last response (warming forces a resend). */
  warm = false;
  lastRequest: DiscoveryRequest | undefined;
  /** Every version seen for a content, and the reverse (versions-follow-content). */
  constructor(sub: "*" | Set<string>) {
    this.sub = sub;
  }
}

export interface ModelContext {
  /** The server's node status. */
  readonly status: NodeStatusTracker;
  readonly backend: ModelBackend;
  readonly client: grpc.Client;
  /** The client's node id (its node status entry). */
  readonly nodeId: string;
  /** The cache's current state in the model. */
  state(): ModelState;
  /**
   * The version a client should see for a type (`typeUrl`) or a resource (`typeUrl|name`) of content `digest`:
   * `<label>~<digest>` with the label of the snapshot in which it last changed (SnapshotCache), or the digest alone.
   */
  versionOf(key: string, digest: string | undefined): string;
  fail(message: string): never;
  /** Adds a line to the trace printed on failure. */
  note(line: string): void;
}

export class SotwModelClient {
  readonly #ctx: ModelContext;
  readonly types = new Map<string, SotwType>();
  #stream!: RawStream<DiscoveryResponse>;
  #seen = 0;
  #streamNonces = new Set<string>();
  #probe: SotwResponse | undefined;
  #probeCount = 0;
  #versionOf = new Map<string, string>();
  #contentOf = new Map<string, string>();
  /** Types answered in the current step (for "quiet" expectations). */
  answered = new Set<string>();
  /** Responses of the model types received (all streams). */
  responses = 0;

  constructor(ctx: ModelContext, initial: Map<string, "*" | Set<string>>) {
    this.#ctx = ctx;
    for (const typeUrl of MODEL_TYPES) this.types.set(typeUrl, new SotwType(initial.get(typeUrl)!));
  }

  /** Opens a stream and sends each type's first request: a reconnecting Envoy's (the version it accepted, its names). */
  async connect(): Promise<void> {
    this.#stream?.cancel();
    this.#stream = new RawStream<DiscoveryResponse>(this.#ctx.client, "sotw");
    this.#seen = 0;
    this.#streamNonces = new Set();
    this.#probe = undefined;
    let first = true;
    for (const [typeUrl, st] of this.types) {
      st.received = st.accepted;
      st.latest = undefined;
      st.status = "none";
      st.nonces = [];
      // reconnect-version: a named subscription's first request is always answered; a current wildcard one is not.
      st.forced = st.sub !== "*";
      st.warm = false;
      this.#send(typeUrl, { versionInfo: st.accepted?.version ?? "", responseNonce: "" }, first);
      first = false;
    }
    await this.barrier();
  }

  #send(typeUrl: string, fields: Partial<DiscoveryRequest>, withNode = false): DiscoveryRequest {
    const st = this.types.get(typeUrl)!;
    const request = {
      versionInfo: "",
      resourceNames: st.sub === "*" ? ["*"] : [...st.sub],
      typeUrl,
      responseNonce: "",
      ...fields,
      ...(withNode ? { node: { id: this.#ctx.nodeId } } : {}),
    } as DiscoveryRequest;
    st.lastRequest = request;
    this.#stream.write(request);
    return request;
  }

  /** Sends a probe request (new names: always answered) and processes every response until its answer. */
  async barrier(): Promise<void> {
    const from = this.#stream.received.length;
    const name = `p${this.#probeCount++ % 2}`;
    this.#stream.write({
      typeUrl: PROBE,
      resourceNames: [name],
      versionInfo: this.#probe?.version ?? "",
      responseNonce: this.#probe?.nonce ?? "",
    } as DiscoveryRequest);
    await this.#stream.until(`the probe response for ${name}`, () =>
      this.#stream.received
        .slice(from)
        .some((r) => r.typeUrl === PROBE && r.resources.length === 1 && nameOf(PROBE, r.resources[0]!.value) === name),
    );
    this.#process();
    // ACK the probe's answer and wait until the server took it: a type awaiting its ACK holds make-before-break removals back.
    const probe = this.#probe!;
    this.#stream.write({
      typeUrl: PROBE,
      resourceNames: [name],
      versionInfo: probe.version,
      responseNonce: probe.nonce,
    } as DiscoveryRequest);
    await probeAcked(this.#ctx, probe.nonce);
  }

  #process(): void {
    const received = this.#stream.received;
    while (this.#seen < received.length) {
      const response = received[this.#seen++]!;
      if (response.nonce === "") this.#ctx.fail(`nonce-per-stream: a ${response.typeUrl} response without a nonce`);
      if (this.#streamNonces.has(response.nonce)) this.#ctx.fail(`nonce-per-stream: nonce ${response.nonce} sent twice on one stream`);
      this.#streamNonces.add(response.nonce);
      if (response.typeUrl === PROBE) {
        this.#probe = { nonce: response.nonce, version: response.versionInfo, content: new Map() };
        continue;
      }
      this.#check(response);
    }
  }

  #check(response: DiscoveryResponse): void {
    const typeUrl = response.typeUrl;
    const st = this.types.get(typeUrl);
    if (st === undefined) this.#ctx.fail(`a response for ${typeUrl}, which the client never asked for`);
    const content: Content = new Map();
    for (const any of response.resources) {
      if (any.typeUrl !== typeUrl) this.#ctx.fail(`${typeUrl} response holds a resource of type ${any.typeUrl}`);
      const name = nameOf(typeUrl, any.value);
      if (content.has(name)) this.#ctx.fail(`no-duplicate-names: ${typeUrl} response ${response.nonce} holds ${name} twice`);
      content.set(name, Buffer.from(any.value).toString("hex"));
    }
    const state = this.#ctx.state();
    const want = expected(state, typeUrl, st.sub === "*" ? undefined : st.sub);
    const label = `${short(typeUrl)} response ${response.nonce} (version ${response.versionInfo}) ${describeContent(content)}`;
    // full-state / named-only-requested, and no stale content: every current resource of the subscription, at its current bytes.
    for (const [name, hex] of want) {
      if (content.get(name) !== hex)
        this.#ctx.fail(
          `${label}: ${name} ${content.has(name) ? "is stale (bytes differ from the cache's)" : "is missing"}; the cache holds ${describeContent(want)}`,
        );
    }
    const mbb = response.versionInfo.endsWith(MBB);
    for (const [name, hex] of content) {
      if (want.has(name)) continue;
      // make-before-break: a `+mbb` response still carries what the client held (its removal waits for the ACKs).
      if (st.sub !== "*" && !st.sub.has(name) && !mbb) this.#ctx.fail(`named-only-requested: ${label} holds ${name}, not subscribed`);
      if (st.received?.content.get(name) !== hex)
        this.#ctx.fail(`${label}: ${name} is not in the cache, nor held by the client at these bytes`);
    }
    // missing-names-held: never an empty answer to names, except a full-state type deleting what the client holds (full-state).
    if (st.sub !== "*" && content.size === 0 && !WILDCARD_TYPES.has(typeUrl))
      this.#ctx.fail(`missing-names-held: ${label} is empty for a named subscription`);
    // versions-per-type (docs/cache.md "Versions in your words"): `<label>~<digest>`, one content one digest, and the reverse.
    let digest = digestOf(response.versionInfo);
    let key = `${typeUrl}|${contentKey(content)}`;
    if (digest.endsWith(MBB)) {
      // make-before-break (docs/server.md): the current content plus what the client still holds, as `<version>+mbb`.
      digest = digest.slice(0, -MBB.length);
      key = `${typeUrl}|${contentKey(want)}`;
      if (content.size === want.size) this.#ctx.fail(`make-before-break: ${label} is marked +mbb but holds nothing extra`);
    }
    const known = this.#versionOf.get(key);
    if (known !== undefined && known !== digest)
      this.#ctx.fail(`versions-per-type: ${label}: this content was sent before with digest ${known}`);
    const knownContent = this.#contentOf.get(`${typeUrl}|${digest}`);
    if (knownContent !== undefined && knownContent !== key) this.#ctx.fail(`versions-per-type: ${label}: digest reused for other content`);
    this.#versionOf.set(key, digest);
    this.#contentOf.set(`${typeUrl}|${digest}`, key);
    const wantVersion = this.#ctx.versionOf(typeUrl, digest);
    if (response.versionInfo.replace(MBB, "") !== wantVersion)
      this.#ctx.fail(`versions-per-type: ${label}: expected version ${wantVersion}`);
    // nack-no-resend: a NACKed version is never sent again (even when forced).
    if (st.status === "nacked" && st.latest !== undefined && digestOf(st.latest.version) === digest)
      this.#ctx.fail(`nack-no-resend: ${label} resends the content the client NACKed`);
    // sotw-answer-when-version-differs: unchanged content only when names were added, on a named first request, or for warming.
    if (st.received !== undefined && digestOf(st.received.version) === digest && !st.forced && !st.warm)
      this.#ctx.fail(
        `sotw-answer-when-version-differs: ${label} (forced ${st.forced}, warm ${st.warm}) repeats what the client holds, unasked`,
      );
    this.#ctx.note(`    <- ${label}`);
    st.latest = { nonce: response.nonce, version: response.versionInfo, content };
    st.received = st.latest;
    st.status = "pending";
    st.nonces.push(response.nonce);
    st.forced = false;
    st.warm = false;
    this.answered.add(typeUrl);
    this.responses++;
    // warming: a cluster or listener response lets the server answer endpoints or routes again.
    if (typeUrl === CDS) this.types.get(EDS)!.warm = true;
    if (typeUrl === LDS) this.types.get(RDS)!.warm = true;
  }

  /**
   * Whether an ACK or NACK of the type may be answered: SotW sends one response per type at a time,
   * so a change made while the client had not answered (or a warming resend) goes once it does.
   */
  dueOnReply(typeUrl: string): boolean {
    const st = this.types.get(typeUrl)!;
    if (st.status !== "pending" || st.latest === undefined) return false;
    // A held-back cluster (listener) change the reply releases forces endpoints (routes) again: warming.
    const forcer = typeUrl === EDS ? CDS : typeUrl === RDS ? LDS : undefined;
    return st.warm || this.#behind(typeUrl) || (forcer !== undefined && this.#behind(forcer));
  }

  /** Whether what the client holds of a type differs from the cache's current state for its subscription. */
  #behind(typeUrl: string): boolean {
    const st = this.types.get(typeUrl)!;
    const want = expected(this.#ctx.state(), typeUrl, st.sub === "*" ? undefined : st.sub);
    return !sameContent(st.received?.content ?? new Map(), want);
  }

  /** ACKs the latest response of a type (ack-detection). Returns the nonce, or undefined when nothing is pending. */
  ack(typeUrl: string): string | undefined {
    const st = this.types.get(typeUrl)!;
    if (st.status !== "pending" || st.latest === undefined) return undefined;
    this.#send(typeUrl, { versionInfo: st.latest.version, responseNonce: st.latest.nonce });
    st.status = "acked";
    st.accepted = st.latest;
    return st.latest.nonce;
  }

  /** NACKs the latest response (nack-detection): error_detail, and the version last accepted. */
  nack(typeUrl: string): string | undefined {
    const st = this.types.get(typeUrl)!;
    if (st.status !== "pending" || st.latest === undefined) return undefined;
    this.#send(typeUrl, {
      versionInfo: st.accepted?.version ?? "",
      responseNonce: st.latest.nonce,
      errorDetail: { code: 3, message: `model: ${short(typeUrl)} ${st.latest.version} rejected`, details: [] },
    });
    st.status = "nacked";
    return st.latest.nonce;
  }

  /** Sends an ACK or NACK carrying an older nonce of the stream (stale-nonce), same names. */
  stale(typeUrl: string, pick: (n: number) => number, nack: boolean): string | undefined {
    const st = this.types.get(typeUrl)!;
    if (st.nonces.length < 2) return undefined;
    const nonce = st.nonces[pick(st.nonces.length - 1)]!;
    this.#send(typeUrl, {
      versionInfo: "stale-version-ignored",
      responseNonce: nonce,
      ...(nack ? { errorDetail: { code: 3, message: "model: stale rejection", details: [] } } : {}),
    });
    return nonce;
  }

  /** Sends the type's last request again, byte for byte (only requests that carry a nonce). */
  resend(typeUrl: string): boolean {
    const st = this.types.get(typeUrl)!;
    if (st.lastRequest === undefined || st.lastRequest.responseNonce === "") return false;
    this.#stream.write(st.lastRequest);
    return true;
  }

  /**
   * Changes a named type's subscription (new-request-supersedes, full-name-set): the new names with the latest
   * nonce; a pending response is ACKed by it, as Envoy does.
   */
  subscribe(typeUrl: string, names: Set<string> | "*"): void {
    const st = this.types.get(typeUrl)!;
    const added = names === "*" ? st.sub !== "*" : [...names].some((n) => st.sub === "*" || !st.sub.has(n));
    st.sub = names;
    if (added) st.forced = true;
    if (st.status === "pending" && st.latest !== undefined) {
      this.#send(typeUrl, { versionInfo: st.latest.version, responseNonce: st.latest.nonce });
      st.accepted = st.latest;
    } else {
      this.#send(typeUrl, { versionInfo: st.accepted?.version ?? "", responseNonce: st.latest?.nonce ?? "" });
    }
    if (st.latest !== undefined) st.status = "acked";
  }

  /**
   * Toggles one or two names of a subscription (never empty) and sends it; clusters and listeners also switch
   * between wildcard and names (wildcard-switch).
   */
  changeSubscription(typeUrl: string, rng: Rng): { names: Set<string> | "*"; note: string } {
    const st = this.types.get(typeUrl)!;
    if (WILDCARD_TYPES.has(typeUrl) && (st.sub === "*" ? rng.chance(0.6) : rng.chance(0.4))) {
      const names = st.sub === "*" ? new Set(UNIVERSE[typeUrl]!.filter(() => rng.chance(0.5))) : "*";
      if (names !== "*" && names.size === 0) names.add(rng.pick(UNIVERSE[typeUrl]!));
      this.subscribe(typeUrl, names);
      return { names, note: names === "*" ? "(wildcard)" : "(from wildcard to names)" };
    }
    const names = new Set(st.sub === "*" ? [] : st.sub);
    for (let i = 1 + rng.int(2); i > 0; i--) {
      const name = rng.pick(UNIVERSE[typeUrl]!);
      if (names.has(name)) names.delete(name);
      else names.add(name);
    }
    if (names.size === 0) names.add(rng.pick(UNIVERSE[typeUrl]!));
    this.subscribe(typeUrl, names);
    return { names, note: "" };
  }

  /** ACKs whatever is pending until a barrier passes with nothing new, then checks convergence. */
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

  /** Convergence: what the client holds is the cache's current state for its subscription, at the cache's version. */
  checkConvergence(): void {
    const state = this.#ctx.state();
    for (const [typeUrl, st] of this.types) {
      const want = expected(state, typeUrl, st.sub === "*" ? undefined : st.sub);
      if (st.sub === "*") {
        const held = st.received?.content ?? new Map();
        if (!sameContent(held, want))
          this.#ctx.fail(
            `convergence: ${short(typeUrl)} holds ${describeContent(held)}, the cache ${describeContent(want)} (${diffContent(held, want)})`,
          );
        const version = this.#ctx.versionOf(typeUrl, this.#ctx.backend.typeDigest(typeUrl));
        // Equality is by digest (docs/cache.md): content that changed and changed back while the client had not
        // ACKed is not resent, so the client may hold it under the older label.
        if (st.status === "acked" && st.received !== undefined && !sameContentVersion(st.received.version, version))
          this.#ctx.fail(`convergence: ${short(typeUrl)} ACKed version ${st.received.version}, the cache's is ${version}`);
      } else if (want.size > 0 || WILDCARD_TYPES.has(typeUrl)) {
        // missing-names-held: with none of its names in the cache a named subscription gets no answer, so only check when
        // some exist; a full-state type (clusters, listeners) is answered with an empty list when the client held some (full-state).
        const held = new Map([...(st.received?.content ?? [])].filter(([n]) => (st.sub as Set<string>).has(n)));
        if (!sameContent(held, want))
          this.#ctx.fail(
            `convergence: ${short(typeUrl)} subscribed to ${describeContent(new Map([...st.sub].map((n) => [n, ""])))} holds ${describeContent(held)}, the cache ${describeContent(want)} (${diffContent(held, want)})`,
          );
      }
    }
  }

  close(): void {
    this.#stream?.cancel();
  }
}

/** Waits until node status shows the ACK of the probe response `nonce` (the server handled it). */
export async function probeAcked(ctx: ModelContext, nonce: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (ctx.status.nodeStatus(ctx.nodeId)?.types[PROBE]?.lastAck?.nonce !== nonce) {
    if (Date.now() > deadline) ctx.fail(`the server never took the ACK of probe response ${nonce}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export function short(typeUrl: string): string {
  return typeUrl === CDS ? "CDS" : typeUrl === EDS ? "EDS" : typeUrl === LDS ? "LDS" : typeUrl === RDS ? "RDS" : typeUrl;
}
