// The world of the randomized protocol model test (protocol-model.test.ts):
// a seeded PRNG, a small universe of resources (every resource a name and a
// variant, so two variants of a name have different bytes), the test's own
// model of the cache, and a raw xDS stream the test drives request by request.
import type * as grpc from "@grpc/grpc-js";
import { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse, TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { RouteConfiguration } from "@xdskit/envoy-api/envoy/config/route/v3/route";
import { Secret } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/secret";
import { assignment, cluster, listener, routes } from "./envoy-resources.js";

/** mulberry32: a tiny seeded PRNG, so a failing run is replayed by its seed. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** The node group every model client belongs to (the cache's `nodeGroup` maps each node to it). */
export const GROUP = "n1";

/** The four types the model drives: CDS and LDS wildcard (full state), EDS and RDS by name. */
export const CDS = TypeUrl.Cluster;
export const EDS = TypeUrl.ClusterLoadAssignment;
export const LDS = TypeUrl.Listener;
export const RDS = TypeUrl.RouteConfiguration;
/** The barrier type: a request for it is answered at once, after everything the stream was sent before. */
export const PROBE = TypeUrl.Secret;
export const MODEL_TYPES = [CDS, EDS, LDS, RDS] as const;
export const WILDCARD_TYPES: ReadonlySet<string> = new Set([CDS, LDS]);

/** Names a type's resources may have in the cache; the last name of a named type never exists (a missing name). */
export const UNIVERSE: Readonly<Record<string, readonly string[]>> = {
  [CDS]: ["c0", "c1", "c2", "c3"],
  [EDS]: ["e0", "e1", "e2", "e3", "e-missing"],
  [LDS]: ["l0", "l1", "l2"],
  [RDS]: ["r0", "r1", "r2", "r-missing"],
};
export const EXISTABLE: Readonly<Record<string, readonly string[]>> = {
  [CDS]: UNIVERSE[CDS]!,
  [EDS]: UNIVERSE[EDS]!.slice(0, -1),
  [LDS]: UNIVERSE[LDS]!,
  [RDS]: UNIVERSE[RDS]!.slice(0, -1),
};
export const PROBE_NAMES = ["p0", "p1"] as const;
export const VARIANTS = 3;

type Message = object;
const BUILD: Record<string, (name: string, variant: number) => Message> = {
  // About 450 bytes each: with maxResponseBytes at its minimum (1 KiB), delta responses of three or four clusters are split.
  [CDS]: (name, v) => cluster(name, { connectTimeout: { seconds: 1 + v }, altStatName: `${name}-${"x".repeat(400)}` }),
  [EDS]: (name, v) => assignment(name, 1000 + v),
  [LDS]: (name, v) => listener(name, 8000 + v, `r${v}`),
  [RDS]: (name, v) => routes(name, `c${v}`),
  [PROBE]: (name) => Secret.fromPartial({ name }),
};
interface Codec {
  encode(m: never): { finish(): Uint8Array };
  decode(b: Uint8Array): unknown;
}
const CODECS: Record<string, Codec> = {
  [CDS]: Cluster as unknown as Codec,
  [EDS]: ClusterLoadAssignment as unknown as Codec,
  [LDS]: Listener as unknown as Codec,
  [RDS]: RouteConfiguration as unknown as Codec,
  [PROBE]: Secret as unknown as Codec,
};

export function build(typeUrl: string, name: string, variant: number): Message {
  return BUILD[typeUrl]!(name, variant);
}

const hexCache = new Map<string, string>();
/** The bytes (hex) of a resource as the model expects them on the wire. */
export function bytesOf(typeUrl: string, name: string, variant: number): string {
  const key = `${typeUrl}|${name}|${variant}`;
  let hex = hexCache.get(key);
  if (hex === undefined) {
    hex = Buffer.from(CODECS[typeUrl]!.encode(build(typeUrl, name, variant) as never).finish()).toString("hex");
    hexCache.set(key, hex);
  }
  return hex;
}

/** The name of an encoded resource of a model type. */
export function nameOf(typeUrl: string, value: Uint8Array): string {
  const decoded = CODECS[typeUrl]!.decode(value) as { name?: string; clusterName?: string };
  return typeUrl === EDS ? decoded.clusterName! : decoded.name!;
}

/** The test's model of one node group's snapshot: type → name → variant. */
export type ModelState = Map<string, Map<string, number>>;

export function cloneState(state: ModelState): ModelState {
  return new Map([...state].map(([t, m]) => [t, new Map(m)]));
}

/** A random state: each name present with probability 0.6, a random variant. */
export function randomState(rng: Rng): ModelState {
  const state: ModelState = new Map();
  for (const typeUrl of MODEL_TYPES) {
    const m = new Map<string, number>();
    for (const name of EXISTABLE[typeUrl]!) if (rng.chance(0.6)) m.set(name, rng.int(VARIANTS));
    state.set(typeUrl, m);
  }
  return state;
}

/** The SnapshotInput of a model state (the probe secrets always included). */
export function snapshotInput(version: string, state: ModelState) {
  const resources: Record<string, Message[]> = {};
  for (const [typeUrl, m] of state) resources[typeUrl] = [...m].map(([name, v]) => build(typeUrl, name, v));
  resources[PROBE] = PROBE_NAMES.map((name) => build(PROBE, name, 0));
  return { version, resources };
}

/** What the model expects a client to hold: name → bytes (hex). */
export type Content = Map<string, string>;

/** The model's resources of a type, restricted to `names` (all for undefined). */
export function expected(state: ModelState, typeUrl: string, names?: ReadonlySet<string>): Content {
  const out: Content = new Map();
  for (const [name, v] of state.get(typeUrl)!) if (names === undefined || names.has(name)) out.set(name, bytesOf(typeUrl, name, v));
  return out;
}

export function sameContent(a: Content, b: Content): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** A canonical key of a content (for version ↔ content checks). */
export function contentKey(content: Content): string {
  return [...content]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([n, h]) => `${n}=${h}`)
    .join(";");
}

/** What `held` lacks, has in excess, or has at other bytes than `want` ("missing a; extra b; stale c"). */
export function diffContent(held: Content, want: Content): string {
  const missing = [...want.keys()].filter((n) => !held.has(n));
  const extra = [...held.keys()].filter((n) => !want.has(n));
  const stale = [...want.keys()].filter((n) => held.has(n) && held.get(n) !== want.get(n));
  const parts = [
    missing.length > 0 ? `missing ${missing.join(",")}` : "",
    extra.length > 0 ? `extra ${extra.join(",")}` : "",
    stale.length > 0 ? `stale bytes for ${stale.join(",")}` : "",
  ];
  return parts.filter((p) => p !== "").join("; ");
}

export function describeContent(content: Content | undefined): string {
  if (content === undefined) return "(nothing)";
  return `{${[...content.keys()].sort().join(", ")}}`;
}

type AnyResponse = DiscoveryResponse | DeltaDiscoveryResponse;

/**
 * One raw ADS stream (SotW or delta) on a grpc-js client: the test writes
 * every request itself and reads responses in arrival order. Works against
 * both transports (grpc-js server and node:http2 serveHttp2).
 */
export class RawStream<Res extends AnyResponse> {
  readonly received: Res[] = [];
  ended: { code: number; details: string } | undefined;
  #call: grpc.ClientDuplexStream<unknown, Res>;
  #wake: (() => void) | undefined;

  constructor(client: grpc.Client, protocol: "sotw" | "delta") {
    const path =
      protocol === "sotw"
        ? "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
        : "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";
    const req = protocol === "sotw" ? DiscoveryRequest : DeltaDiscoveryRequest;
    const res = protocol === "sotw" ? DiscoveryResponse : DeltaDiscoveryResponse;
    this.#call = client.makeBidiStreamRequest(
      path,
      (value: unknown) => Buffer.from(req.encode(req.fromPartial(value as never) as never).finish()),
      (bytes: Buffer) => res.decode(bytes) as Res,
    );
    this.#call.on("data", (response: Res) => {
      this.received.push(response);
      this.#wake?.();
    });
    this.#call.on("error", () => {});
    this.#call.on("status", (status: grpc.StatusObject) => {
      this.ended ??= { code: status.code, details: status.details };
      this.#wake?.();
    });
  }

  write(request: DiscoveryRequest | DeltaDiscoveryRequest): void {
    this.#call.write(request);
  }

  cancel(): void {
    this.#call.cancel();
  }

  /** Waits (event-driven) until `probe` holds, failing with `what` after `timeoutMs`. */
  async until(what: string, probe: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (this.ended !== undefined) throw new Error(`stream ended (${this.ended.code}: ${this.ended.details}) waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}
