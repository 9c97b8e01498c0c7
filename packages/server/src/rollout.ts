// Rollout tracking: has every proxy of a group (or one node) applied the
// snapshot version I set? Answered from what the server itself knows about
// its streams (is anything queued or unACKed, does the cache hold the watch:
// then the client has what the cache serves), the cache's served version,
// and node status for NACK details.
import type { ConfigWatcher, NodeStatusTracker } from "@xdskit/cache";
import { ErrorCode, optionError, XdskitError } from "@xdskit/envoy-api/core";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
// rxjs, required from its own modules, not the "rxjs" index: the same classes (internal/rx.ts).
import { Observable } from "./internal/rx.js";
import type { TrackedStream } from "./internal/stream-host.js";

/** Which nodes a rollout concerns, and the snapshot version they must run. */
export interface RolloutTarget {
  /** Every connected node of this node group (the cache's `groupOf`). Give `group` or `node`. */
  readonly group?: string;
  /** One node id. Give `group` or `node`. */
  readonly node?: string;
  /** The snapshot version (label) you set, e.g. `"release-42"`. */
  readonly version: string;
}

/** Options of {@link XdsServer.waitForAck}. */
export interface WaitForAckOptions extends RolloutTarget {
  /** Give up after this long and resolve with outcome `"timeout"`. Default 30,000 ms. */
  readonly timeoutMs?: number;
}

/** One node that rejected the version: which type, and the client's error detail. */
export interface RolloutNack {
  readonly nodeId: string;
  readonly typeUrl: string;
  /** The version the node rejected, as sent (`<label>~<digest>`). */
  readonly rejectedVersion: string;
  /** The client's `error_detail.message`. */
  readonly message: string;
  /** The resources the detail names, where it names them. */
  readonly resourceNames?: readonly string[];
}

/** Where a rollout stands. */
export interface RolloutProgress {
  readonly version: string;
  /** The version the group's watches answer from now (`undefined`: no snapshot). */
  readonly servedVersion: string | undefined;
  /** Connected nodes that hold the served version of every type they subscribe to. */
  readonly acked: readonly string[];
  /** Connected nodes that rejected something since their last ACK. */
  readonly nacked: readonly RolloutNack[];
  /** Connected nodes still receiving or not yet ACKing. */
  readonly pending: readonly string[];
  /** True when the served version is `version`, at least one node is connected, and every node ACKed it. */
  readonly complete: boolean;
}

/** How {@link XdsServer.waitForAck} ended. */
export interface RolloutResult extends RolloutProgress {
  /** `"acked"`: complete; `"nacked"`: a node rejected the version (roll back); `"timeout"`: neither in time. */
  readonly outcome: "acked" | "nacked" | "timeout";
}

export const ROLLOUT_DEFAULTS = Object.freeze({ timeoutMs: 30_000, pollMs: 50 });

/** Checks a rollout target; throws `XDSKIT_INVALID_OPTION` naming the field. */
export function checkRolloutTarget(owner: string, target: RolloutTarget, cache: ConfigWatcher): void {
  if (typeof target !== "object" || target === null) throw optionError(owner, "target", "an object { group | node, version }", target);
  if (typeof target.version !== "string" || target.version === "")
    throw optionError(owner, "version", "a non-empty string", target.version);
  if ((target.group === undefined) === (target.node === undefined)) {
    throw optionError(owner, "group", "exactly one of group or node", { group: target.group, node: target.node });
  }
  if (target.group !== undefined && typeof target.group !== "string") throw optionError(owner, "group", "a string", target.group);
  if (target.node !== undefined && typeof target.node !== "string") throw optionError(owner, "node", "a string", target.node);
  if (typeof cache.servedVersion !== "function" || (target.group !== undefined && typeof cache.groupOf !== "function")) {
    throw new XdskitError(
      ErrorCode.API_MISUSE,
      `${owner}: the server's cache cannot say which version a group serves (it needs servedVersion() and groupOf(), as SnapshotCache has); track a custom cache with xds.status instead`,
      { path: "cache" },
    );
  }
}

/** Evaluates a rollout once, from the server's open streams. */
export function rolloutProgress(
  target: RolloutTarget,
  cache: ConfigWatcher,
  streams: Iterable<TrackedStream>,
  status: NodeStatusTracker | undefined,
): RolloutProgress {
  const groupOf = (node: Node): string | undefined => {
    try {
      return cache.groupOf?.(node);
    } catch {
      return undefined;
    }
  };
  // Per node id (over all its streams), per subscribed type: does it hold what the cache serves?
  const current = new Map<string, Map<string, boolean>>();
  let group = target.group;
  for (const stream of streams) {
    const sync = stream.sync();
    if (sync === undefined) continue;
    const id = sync.node.id;
    if (target.node !== undefined ? id !== target.node : groupOf(sync.node) !== target.group) continue;
    group ??= groupOf(sync.node);
    let types = current.get(id);
    if (types === undefined) {
      types = new Map();
      current.set(id, types);
    }
    for (const t of sync.types) types.set(t.typeUrl, (types.get(t.typeUrl) ?? true) && t.current);
  }
  const servedVersion = group === undefined ? undefined : cache.servedVersion?.(group);
  const acked: string[] = [];
  const pending: string[] = [];
  const nacked: RolloutNack[] = [];
  for (const [nodeId, types] of current) {
    // A NACK counts while the cache still serves what was rejected (the type is "current": nothing newer to send).
    const rejected = nacksOf(status, nodeId).filter((n) => types.get(n.typeUrl) === true);
    const ok = types.size > 0 && [...types.values()].every(Boolean);
    if (rejected.length > 0) nacked.push(...rejected);
    else if (ok && servedVersion === target.version) acked.push(nodeId);
    else pending.push(nodeId);
  }
  const complete = servedVersion === target.version && current.size > 0 && acked.length === current.size;
  return { version: target.version, servedVersion, acked, nacked, pending, complete };
}

/** The node's types whose latest answer was a NACK (no ACK since). */
function nacksOf(status: NodeStatusTracker | undefined, nodeId: string): RolloutNack[] {
  const node = status?.nodeStatus(nodeId);
  if (node === undefined) return [];
  const out: RolloutNack[] = [];
  for (const t of Object.values(node.types)) {
    const nack = t.lastNack;
    if (nack === undefined || (t.lastAck !== undefined && t.lastAck.at > nack.at)) continue;
    out.push({
      nodeId,
      typeUrl: t.typeUrl,
      rejectedVersion: nack.rejectedVersion,
      message: nack.error.message,
      ...(nack.resourceNames === undefined ? {} : { resourceNames: nack.resourceNames }),
    });
  }
  return out;
}

/**
 * Progress of a rollout as an Observable: emits when it changes (checked on
 * every server event and every 50 ms), completes after a complete or NACKed
 * state. Unsubscribe to stop.
 */
export function watchRollout(evaluate: () => RolloutProgress, events: Observable<unknown>): Observable<RolloutProgress> {
  return new Observable<RolloutProgress>((subscriber) => {
    let last = "";
    let scheduled = false;
    const check = () => {
      scheduled = false;
      if (subscriber.closed) return;
      let progress: RolloutProgress;
      try {
        progress = evaluate();
      } catch (error) {
        subscriber.error(error);
        return;
      }
      const key = JSON.stringify(progress);
      if (key !== last) {
        last = key;
        subscriber.next(progress);
      }
      if (progress.complete || progress.nacked.length > 0) subscriber.complete();
    };
    const schedule = () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(check);
    };
    const timer = setInterval(schedule, ROLLOUT_DEFAULTS.pollMs);
    timer.unref?.();
    const subscription = events.subscribe({ next: schedule, error: () => {} });
    check();
    return () => {
      clearInterval(timer);
      subscription.unsubscribe();
    };
  });
}

/** Waits for a rollout to complete, be NACKed, or time out; never rejects for those. */
export function waitForRollout(progress$: Observable<RolloutProgress>, timeoutMs: number): Promise<RolloutResult> {
  return new Promise<RolloutResult>((resolve, reject) => {
    let latest: RolloutProgress | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const subscription = progress$.subscribe({
      next: (p) => {
        latest = p;
      },
      error: (error) => {
        if (timer) clearTimeout(timer);
        reject(error);
      },
      complete: () => {
        if (timer) clearTimeout(timer);
        resolve({ ...latest!, outcome: latest!.complete ? "acked" : "nacked" });
      },
    });
    if (subscription.closed) return;
    timer = setTimeout(() => {
      subscription.unsubscribe();
      resolve({ ...latest!, outcome: "timeout" });
    }, timeoutMs);
    timer.unref?.();
  });
}
