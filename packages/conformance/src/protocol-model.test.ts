// Randomized, model-based protocol test: long random sequences of cache
// changes and client requests through a real XdsServer (grpc-js and
// node:http2, SotW ADS and delta ADS), with the protocol's invariants (the
// rows of docs/protocol.md) checked after every step against the test's own
// model of the cache. A failure names its seed and step and prints the last
// steps; rerun one seed with
//   XDSKIT_MODEL_SEED=<seed> [XDSKIT_MODEL_STEPS=<n>] [XDSKIT_MODEL_VERBOSE=1] npx vitest run packages/conformance/src/protocol-model.test.ts
import * as grpc from "@grpc/grpc-js";
import { silentLogger } from "@xdskit/cache";
import { defineResourceType, ResourceTypes } from "@xdskit/resources";
import { describe, expect, it } from "vitest";
import { ServedCache, type Transport } from "./support/control-plane.js";
import { type BackendKind, createBackend } from "./support/model-backend.js";
import { DeltaModelClient } from "./support/model-delta.js";
import { type ModelContext, SotwModelClient, short } from "./support/model-sotw.js";
import {
  CDS,
  cloneState,
  EDS,
  EXISTABLE,
  LDS,
  MODEL_TYPES,
  type ModelState,
  RDS,
  Rng,
  randomState,
  UNIVERSE,
  VARIANTS,
} from "./support/model-universe.js";

/** XDSKIT_MODEL_SEED: one seed (`7`), a list (`7,9`) or a range (`1..40`); three fixed seeds by default. */
const SEEDS = parseSeeds(process.env.XDSKIT_MODEL_SEED) ?? [11, 22, 33];
/** The default run: three seeds for the SnapshotCache, two for the LinearCaches (the whole file in about 10 s). */
const DEFAULT_SEEDS = process.env.XDSKIT_MODEL_SEED === undefined;
const STEPS = Number(process.env.XDSKIT_MODEL_STEPS ?? 250);
const TRANSPORTS: readonly Transport[] = ["grpc-js", "http2"];
/** Two clients (nodes) of one node group, each on its own ADS stream. */
const NODES = ["n1-a", "n1-b"] as const;
const PROTOCOLS = ["sotw", "delta"] as const;
/** A SnapshotCache (one node group), and a MuxCache of LinearCaches (one per type). */
const BACKENDS: readonly BackendKind[] = ["snapshot", "linear"];

type Client = SotwModelClient | DeltaModelClient;

/** One run: a control plane, one client, a seeded sequence of steps. */
async function run(
  backendKind: BackendKind,
  transport: Transport,
  protocol: "sotw" | "delta",
  seed: number,
  maxResponseBytes = Number(process.env.XDSKIT_MODEL_MAX_BYTES ?? 4 * 1024 * 1024),
): Promise<Map<string, number>> {
  const rng = new Rng(seed);
  const trace: string[] = [];
  let step = 0;
  let state: ModelState = randomState(rng);
  let label = 0;
  /** How many steps of each kind took effect (so a run that never NACKs, say, fails instead of passing vacuously). */
  const done = new Map<string, number>();
  const fail = (message: string): never => {
    throw new Error(
      `protocol model (${backendKind} cache, ${transport}, ${protocol}, maxResponseBytes ${maxResponseBytes}, seed ${seed}) failed at step ${step}: ${message}\n` +
        `rerun: XDSKIT_MODEL_SEED=${seed} npx vitest run packages/conformance/src/protocol-model.test.ts\n` +
        `last steps:\n  ${trace.slice(-Number(process.env.XDSKIT_MODEL_TRACE ?? 40)).join("\n  ")}`,
    );
  };
  // The probe type goes last in the outgoing queue, so its answer comes after every response already due.
  // Silent: the model subscribes to missing names (missing-names-held) and NACKs on purpose, which cache and server warn about.
  const backend = createBackend(backendKind, state);
  await using plane = await ServedCache.start(
    backend.watcher,
    {
      logger: silentLogger,
      types: [defineResourceType({ ...ResourceTypes.Secret, order: 1000 })],
      maxResponseBytes,
    },
    transport,
  );
  const channel = new grpc.Client(plane.address, grpc.credentials.createInsecure());
  // The label of the snapshot in which each type, and each resource, last changed (by content).
  const labels = new Map<string, string>();
  const relabel = (next: ModelState, version: string) => {
    for (const t of MODEL_TYPES) {
      const before = state.get(t)!;
      const after = next.get(t)!;
      let changed = !labels.has(t) || before.size !== after.size;
      for (const name of new Set([...before.keys(), ...after.keys()])) {
        if (labels.has(`${t}|${name}`) && before.get(name) === after.get(name)) continue;
        changed = true;
        if (after.has(name)) labels.set(`${t}|${name}`, version);
      }
      if (changed) labels.set(t, version);
    }
  };
  relabel(state, "v0");
  const context = (i: number): ModelContext => ({
    status: plane.status,
    backend,
    client: channel,
    nodeId: NODES[i]!,
    state: () => state,
    versionOf: (key, digest) => (backend.labelled ? `${labels.get(key) ?? "?"}~${digest}` : `${digest}`),
    fail,
    note: (line) => trace.push(`[${i}] ${line}`),
  });
  const named = (typeUrl: string) => {
    const names = new Set(UNIVERSE[typeUrl]!.filter(() => rng.chance(0.5)));
    if (names.size === 0) names.add(rng.pick(UNIVERSE[typeUrl]!));
    return names;
  };
  const initial = new Map<string, "*" | Set<string>>([
    [CDS, "*"],
    [LDS, "*"],
    [EDS, named(EDS)],
    [RDS, named(RDS)],
  ]);
  // The second client often starts with the first one's subscriptions: the same names share the same answers.
  const initials = [initial, rng.chance(0.5) ? initial : new Map([...initial, [EDS, named(EDS)], [RDS, named(RDS)]])];
  const clients: Client[] = NODES.map((_, i) => {
    const subs = new Map([...initials[i]!].map(([t, sub]) => [t, sub === "*" ? sub : new Set(sub)] as const));
    return protocol === "sotw" ? new SotwModelClient(context(i), subs) : new DeltaModelClient(context(i), subs);
  });
  const barrierAll = async () => {
    for (const c of clients) await c.barrier();
  };
  const settleAll = async () => {
    for (const c of clients) await c.settle();
    // A client's settle may have released changes on another's stream: a second pass finds nothing new.
    for (const c of clients) await c.settle();
  };
  const setState = (next: ModelState, typeUrl?: string, removed: string[] = []) => {
    label++;
    relabel(next, `v${label}`);
    backend.apply(`v${label}`, state, next, typeUrl, removed);
    state = next;
  };
  try {
    for (const [i, c] of clients.entries()) {
      trace.push(
        `[${i}] connect (subscriptions EDS ${[...(initials[i]!.get(EDS) as Set<string>)]}, RDS ${[...(initials[i]!.get(RDS) as Set<string>)]})`,
      );
      await c.connect();
    }
    await settleAll();
    for (step = 1; step <= STEPS; step++) {
      const roll = rng.next();
      const acting = rng.int(clients.length);
      const model = clients[acting]!;
      const typeUrl = rng.pick(MODEL_TYPES);
      const namedType = rng.chance(0.5) ? EDS : RDS;
      let quiet: "all" | string | undefined;
      let status: { typeUrl: string; ack?: string; nack?: string; unchanged?: string; staleNonce?: string } | undefined;
      const statusNow = (t: string) => {
        const types = plane.status.nodeStatus(NODES[acting]!)?.types[t];
        return `ACK ${types?.lastAck?.nonce}, NACK ${types?.lastNack?.nonce}`;
      };
      let describe: string;
      for (const c of clients) c.answered.clear();
      if (roll < 0.1) {
        // setSnapshot: every type may change (added, changed, removed resources).
        const next = randomState(rng);
        for (const t of MODEL_TYPES) if (rng.chance(0.4)) next.set(t, new Map(state.get(t)!));
        describe = `setSnapshot v${label + 1}: ${describeState(next)}`;
        setState(next);
      } else if (roll < 0.22) {
        // updateResources of one type: upserts (new or changed) and removals.
        const next = cloneState(state);
        const m = next.get(typeUrl)!;
        const removed: string[] = [];
        for (const name of EXISTABLE[typeUrl]!) {
          const r = rng.next();
          if (r < 0.25) m.set(name, rng.int(VARIANTS));
          else if (r < 0.4 && m.has(name)) {
            m.delete(name);
            removed.push(name);
          }
        }
        describe = `updateResources v${label + 1} ${short(typeUrl)}: ${describeState(next, typeUrl)}`;
        setState(next, typeUrl, removed);
      } else if (roll < 0.28) {
        // A no-op: the same bytes under a new label sends nothing (versions-per-type: versions follow content).
        const present = [...state.get(typeUrl)!];
        if (present.length > 0 && rng.chance(0.5)) {
          label++;
          const [name, v] = rng.pick(present);
          backend.rewrite(`v${label}`, typeUrl, name, v);
          describe = `no-op updateResources v${label} ${short(typeUrl)} ${name}`;
        } else {
          label++;
          backend.restate(`v${label}`, state);
          describe = `no-op setSnapshot v${label}`;
        }
        quiet = "all";
      } else if (roll < 0.43) {
        // A change (or a warming resend) made while the type awaited its ACK goes once the ACK comes.
        const due = model.dueOnReply(typeUrl);
        const nonce = model.ack(typeUrl);
        describe = `ACK ${short(typeUrl)} ${nonce ?? "(nothing pending)"}`;
        if (nonce !== undefined) status = { typeUrl, ack: nonce };
        if (!due) quiet = typeUrl;
      } else if (roll < 0.5) {
        const due = model.dueOnReply(typeUrl);
        const nonce = model.nack(typeUrl);
        describe = `NACK ${short(typeUrl)} ${nonce ?? "(nothing pending)"}`;
        if (nonce !== undefined) status = { typeUrl, nack: nonce };
        if (!due) quiet = typeUrl; // nack-no-resend
      } else if (roll < 0.56) {
        const asNack = rng.chance(0.5);
        const before = statusNow(typeUrl);
        const nonce = model.stale(typeUrl, (n) => rng.int(n), asNack);
        describe = `stale ${asNack ? "NACK" : "ACK"} ${short(typeUrl)} ${nonce ?? "(no older nonce)"}`;
        // SotW (stale-nonce): the version of a stale request is ignored, so node status does not change. Delta pairs
        // every ACK/NACK with its response by nonce (delta-stream.ts keeps recent nonces), so it may record this one.
        if (nonce !== undefined) status = { typeUrl, unchanged: before, ...(protocol === "delta" ? { staleNonce: nonce } : {}) };
        quiet = typeUrl; // stale-nonce: its version is ignored, and the names did not change
      } else if (roll < 0.61) {
        const sent = model.resend(typeUrl);
        describe = `resend last ${short(typeUrl)} request${sent ? "" : " (none with a nonce)"}`;
        quiet = typeUrl;
      } else if (roll < 0.75) {
        // Mostly endpoint and route names; a quarter of the time clusters or listeners (wildcard-switch).
        const subType = rng.chance(0.25) ? rng.pick([CDS, LDS]) : namedType;
        const { names, note } = model.changeSubscription(subType, rng);
        describe = `subscribe ${short(subType)} ${names === "*" ? "*" : [...names].join(",")} ${note}`;
        if (note === "unsubscribe only") quiet = subType; // delta-unsubscribe
      } else if (roll < 0.79) {
        describe = "reconnect";
        trace.push(`${step}: [${acting}] ${describe}`);
        await model.connect();
      } else {
        describe = "settle (ACK everything, wait until quiet)";
      }
      const clientStep = !/^(setSnapshot|updateResources|no-op|settle)/.test(describe);
      if (describe !== "reconnect") trace.push(`${step}: ${clientStep ? `[${acting}] ` : ""}${describe}`);
      if (!/\((nothing pending|no older nonce|none with a nonce)\)/.test(describe)) {
        const kind = describe.split(" ")[describe.startsWith("no-op") || describe.startsWith("stale") ? 1 : 0]!;
        const key = describe.startsWith("no-op") ? `no-op ${kind}` : describe.startsWith("stale") ? `stale ${kind}` : kind;
        done.set(key, (done.get(key) ?? 0) + 1);
      }
      if (describe.startsWith("settle")) await settleAll();
      else await barrierAll();
      for (const [i, c] of clients.entries()) {
        if (quiet === "all" && c.answered.size > 0)
          fail(
            `sotw-answer-when-version-differs / versions-per-type: a no-op update was answered on [${i}] (${[...c.answered].map(short)})`,
          );
        // Streams are independent: one client's requests never make the server answer another.
        if (clientStep && i !== acting && c.answered.size > 0)
          fail(`[${i}] was answered (${[...c.answered].map(short)}) after a request of [${acting}]`);
      }
      if (quiet !== undefined && quiet !== "all" && model.answered.has(quiet))
        fail(`${describe}: ${short(quiet)} was answered; nothing was due`);
      if (status !== undefined) {
        const types = plane.status.nodeStatus(NODES[acting]!)?.types[status.typeUrl];
        if (status.ack !== undefined && types?.lastAck?.nonce !== status.ack)
          fail(`ack-detection: node status shows last ACK ${types?.lastAck?.nonce}, the client ACKed ${status.ack}`);
        if (status.nack !== undefined && types?.lastNack?.nonce !== status.nack)
          fail(`nack-detection: node status shows last NACK ${types?.lastNack?.nonce}, the client NACKed ${status.nack}`);
        const recorded = status.staleNonce !== undefined && statusNow(status.typeUrl).includes(` ${status.staleNonce}`);
        if (status.unchanged !== undefined && statusNow(status.typeUrl) !== status.unchanged && !recorded)
          fail(`stale-nonce: a stale request changed node status from ${status.unchanged} to ${statusNow(status.typeUrl)}`);
      }
    }
    trace.push("final settle");
    await settleAll();
  } finally {
    for (const c of clients) c.close();
    channel.close();
    backend.dispose();
  }
  done.set(
    "responses",
    clients.reduce((n, c) => n + c.responses, 0),
  );
  if (process.env.XDSKIT_MODEL_VERBOSE === "trace") console.log(trace.join("\n"));
  return done;
}

function parseSeeds(text: string | undefined): number[] | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  return text.split(",").flatMap((part) => {
    const [from, to] = part.split("..").map((n) => Number(n.trim()));
    if (to === undefined) return [from!];
    return Array.from({ length: to - from! + 1 }, (_, i) => from! + i);
  });
}

function describeState(state: ModelState, only?: string): string {
  return [...state]
    .filter(([t]) => only === undefined || t === only)
    .map(([t, m]) => `${short(t)}{${[...m].map(([n, v]) => `${n}:${v}`).join(",")}}`)
    .join(" ");
}

describe.each(BACKENDS)("%s cache", (backendKind) => {
  describe.each(TRANSPORTS)("%s", (transport) => {
    describe.each(PROTOCOLS)("%s ADS", (protocol) => {
      it.each(backendKind === "linear" && DEFAULT_SEEDS ? SEEDS.slice(0, 2) : SEEDS)(
        "seed %i: random steps keep every protocol invariant",
        async (seed) => {
          const done = await run(backendKind, transport, protocol, seed);
          if (process.env.XDSKIT_MODEL_VERBOSE === "1") console.log(`${transport} ${protocol} seed ${seed}:`, Object.fromEntries(done));
          const kinds = [
            "setSnapshot",
            "updateResources",
            "no-op setSnapshot",
            "no-op updateResources",
            "ACK",
            "NACK",
            "stale ACK",
            "stale NACK",
          ];
          kinds.push("resend", "subscribe", "reconnect", "settle");
          if (process.env.XDSKIT_MODEL_SEED === undefined)
            for (const kind of kinds) expect.soft(done.get(kind) ?? 0, `${kind} steps`).toBeGreaterThan(0);
          expect(done.get("responses")).toBeGreaterThan(STEPS / 4);
        },
      );
    });
  });
});

// Delta responses over maxResponseBytes are split into several messages (max-message-size): at its minimum, 1 KiB,
// responses of three or four clusters (about 450 bytes each) go out as several, each with its own nonce.
describe.each(["snapshot", "linear"] as const)("%s cache, delta responses split at 1 KiB", (backendKind) => {
  it.each(DEFAULT_SEEDS ? SEEDS.slice(0, 1) : SEEDS)("seed %i: random steps keep every protocol invariant", async (seed) => {
    const done = await run(backendKind, backendKind === "snapshot" ? "grpc-js" : "http2", "delta", seed, 1024);
    expect(done.get("responses")).toBeGreaterThan(STEPS / 4);
  });
});
