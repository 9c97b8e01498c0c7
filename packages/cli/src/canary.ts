// Config canaries: a change served first to a subset of a group's nodes (a
// derived node group, `<group>~canary`), promoted to the whole group once the
// subset has ACKed it (XdsServer.rollout / waitForAck), rolled back on the
// first NACK or when the subset does not ACK in time. Nothing is committed to
// the store before promotion, so a restart during a canary serves the last
// committed version.
import { createHash } from "node:crypto";
import type { NodeStatusTracker, XdsLogger } from "@xdskit/cache";
import type { JsonValue } from "@xdskit/envoy-api";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { RolloutNack, XdsServer } from "@xdskit/server";
import type { Subscription } from "rxjs";
import { type ConfigDiff, type ControlPlane, canaryGroupOf, type PlannedChange } from "./control-plane.js";

/** Which nodes of a group get the canary, and how long they have to ACK it. */
export interface CanarySpec {
  /**
   * Share of the group's nodes, above 0 and at most 100. A node is in when
   * its {@link canaryScore} (a hash of group and node id, in [0, 100)) is
   * below it: the same nodes every time, and more of them as it grows.
   */
  readonly percentage?: number;
  /**
   * Node metadata the node must have: dotted path → value, compared as
   * strings (`{ "canary": "true", "labels.zone": "a" }`). With `percentage`,
   * both must hold.
   */
  readonly selector?: Readonly<Record<string, string | number | boolean>>;
  /** Milliseconds the selected nodes have to ACK before the canary is rolled back. Default 60,000; at most 3,600,000. */
  readonly timeoutMs?: number;
}

/** Defaults of {@link CanarySpec}: `timeoutMs` 60 s, and its upper bound (one hour). */
export const CANARY_DEFAULTS = Object.freeze({ timeoutMs: 60_000, maxTimeoutMs: 3_600_000 });

/** Where a canary is: running, or how it ended. */
export type CanaryState = "running" | "promoted" | "rolled-back";

/** What `GET /v1/groups/{group}/canary` answers. */
export interface CanaryStatus {
  /** Counts canaries since the process started. */
  readonly id: number;
  readonly group: string;
  /** The derived node group the selected nodes are in while it runs. */
  readonly canaryGroup: string;
  readonly state: CanaryState;
  /** The snapshot version the selected nodes are served: `files-<n>.api-<next>.canary-<id>`. */
  readonly version: string;
  readonly percentage?: number;
  readonly selector?: Readonly<Record<string, string | number | boolean>>;
  readonly timeoutMs: number;
  /** What the canary changes, against the group's config when it started. */
  readonly diff: ConfigDiff;
  /** Connected nodes in the canary group (while running), or in it when it ended. */
  readonly selected: readonly string[];
  readonly acked: readonly string[];
  readonly pending: readonly string[];
  readonly nacked: readonly RolloutNack[];
  readonly startedAt: string;
  readonly endedAt?: string;
  /** Why it ended the way it did. */
  readonly reason?: string;
  /** The API version the group got when promoted. */
  readonly promotedVersion?: number;
}

/** A canary that cannot start: `status` 400 (bad request) or 409 (conflicts with the group's state). */
export class CanaryRefused extends Error {
  constructor(
    readonly status: 400 | 409,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Where a node falls in a group's canary order: a number in [0, 100) from
 * the SHA-256 of `group` and the node id. A canary of `percentage` p takes
 * the nodes scoring below p.
 */
export function canaryScore(group: string, nodeId: string): number {
  const digest = createHash("sha256").update(`${group}\0${nodeId}`).digest();
  return (digest.readUInt32BE(0) / 2 ** 32) * 100;
}

/** The node predicate of a spec (validated first: a bad spec is a 400 naming the field). */
export function canarySelector(group: string, spec: CanarySpec): (node: Node) => boolean {
  const { percentage, selector } = spec;
  if (percentage === undefined && selector === undefined)
    throw new CanaryRefused(400, 'a canary needs "percentage" (of the group\'s nodes) or "selector" (node metadata), or both');
  if (percentage !== undefined && (typeof percentage !== "number" || !(percentage > 0 && percentage <= 100)))
    throw new CanaryRefused(400, `"percentage" must be a number above 0 and at most 100; got ${JSON.stringify(percentage)}`);
  if (selector !== undefined) {
    if (selector === null || typeof selector !== "object" || Array.isArray(selector) || Object.keys(selector).length === 0)
      throw new CanaryRefused(400, '"selector" must be a non-empty object of metadata path → value, e.g. {"canary": "true"}');
    for (const [path, value] of Object.entries(selector))
      if (!["string", "number", "boolean"].includes(typeof value))
        throw new CanaryRefused(400, `"selector.${path}" must be a string, number or boolean; got ${JSON.stringify(value)}`);
  }
  return (node) =>
    (percentage === undefined || canaryScore(group, String(node.id ?? "")) < percentage) &&
    (selector === undefined || Object.entries(selector).every(([path, value]) => metadataAt(node, path) === String(value)));
}

function metadataAt(node: Node, path: string): string | undefined {
  let at: unknown = node.metadata;
  for (const key of path.split(".")) {
    if (at === null || typeof at !== "object" || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at === null || typeof at === "object" ? undefined : String(at as JsonValue);
}

interface Running {
  current(): CanaryStatus;
  readonly planned: PlannedChange;
  readonly done: Promise<CanaryStatus>;
  finish(promote: boolean, reason: string): void;
}

/**
 * Runs canaries on a ControlPlane served by an XdsServer: at most one per
 * group; the last one of each group is kept for its status.
 */
export class CanaryController {
  readonly #plane: ControlPlane;
  readonly #xds: XdsServer;
  readonly #status: NodeStatusTracker | undefined;
  readonly #logger: XdsLogger | undefined;
  readonly #unavailable: string | undefined;
  readonly #last = new Map<string, Running>();
  #ids = 0;

  /**
   * @param options.plane the control plane whose groups get canaries
   * @param options.xds the server serving `plane.watcher`: its `rollout()` says when the subset ACKed or NACKed
   * @param options.logger where "canary started/promoted/rolled back" lines go (a throwing logger is ignored)
   * @param options.unavailable when set, every canary is refused (409) with this reason (`serve --workers N`: the
   *   streams are in other processes, out of the rollout's reach). Default: canaries run.
   */
  constructor(options: { plane: ControlPlane; xds: XdsServer; logger?: XdsLogger; unavailable?: string }) {
    this.#unavailable = options.unavailable;
    this.#plane = options.plane;
    this.#xds = options.xds;
    this.#status = options.xds.status;
    this.#logger = options.logger;
  }

  /**
   * Validates `change` against the group, picks the connected nodes the spec
   * selects (none: 409) and serves them the change. Resolves once it runs;
   * `done` resolves when it is promoted or rolled back.
   */
  start(
    group: string,
    change: { replace?: unknown[]; upsert?: unknown[]; remove?: { type: string; name: string }[] },
    spec: CanarySpec,
  ): { status: CanaryStatus; done: Promise<CanaryStatus> } {
    if (this.#unavailable !== undefined) throw new CanaryRefused(409, this.#unavailable);
    const timeoutMs = spec.timeoutMs ?? CANARY_DEFAULTS.timeoutMs;
    if (typeof timeoutMs !== "number" || !(timeoutMs > 0 && timeoutMs <= CANARY_DEFAULTS.maxTimeoutMs))
      throw new CanaryRefused(
        400,
        `"timeoutMs" must be a number above 0 and at most ${CANARY_DEFAULTS.maxTimeoutMs}; got ${JSON.stringify(timeoutMs)}`,
      );
    const selects = canarySelector(group, spec);
    if (this.#plane.canaryRunning(group))
      throw new CanaryRefused(409, `group ${group} already has a canary running (GET /v1/groups/${group}/canary)`);
    const planned = this.#plane.plan(group, change); // ConfigRefused: 400 with every violation
    if (planned.added.length + planned.changed.length + planned.removed.length === 0)
      throw new CanaryRefused(400, `the canary changes nothing in group ${group}`);
    const connected = this.#connected(group);
    const selected = connected.filter((n) => selects(n)).map((n) => n.id);
    if (selected.length === 0) {
      throw new CanaryRefused(
        409,
        `no connected node of group ${group} is selected (${connected.length} connected); raise "percentage", change "selector", or change the group directly`,
      );
    }
    const id = ++this.#ids;
    const version = `${this.#plane.versionLabel(planned.version)}.canary-${id}`;
    const canaryGroup = canaryGroupOf(group);
    let status: CanaryStatus = {
      id,
      group,
      canaryGroup,
      state: "running",
      version,
      ...(spec.percentage === undefined ? {} : { percentage: spec.percentage }),
      ...(spec.selector === undefined ? {} : { selector: { ...spec.selector } }),
      timeoutMs,
      diff: { added: planned.added, changed: planned.changed, removed: planned.removed },
      selected,
      acked: [],
      pending: selected,
      nacked: [],
      startedAt: new Date().toISOString(),
    };
    let progress: Subscription | undefined;
    let timer: NodeJS.Timeout | undefined;
    let resolveDone!: (s: CanaryStatus) => void;
    const done = new Promise<CanaryStatus>((resolve) => (resolveDone = resolve));
    let finished = false;
    const running: Running = {
      current: () => status,
      planned,
      done,
      finish: (promote, reason) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        progress?.unsubscribe();
        this.#plane.endCanary(planned, promote).then(
          (promotedVersion) => {
            status = {
              ...status,
              state: promote ? "promoted" : "rolled-back",
              endedAt: new Date().toISOString(),
              reason,
              ...(promotedVersion === undefined ? {} : { promotedVersion }),
            };
            this.#log(promote ? "info" : "warn", `canary ${promote ? "promoted" : "rolled back"}: ${reason}`, status);
            this.#plane.changes.next(group);
            resolveDone(status);
          },
          (error: unknown) => {
            status = {
              ...status,
              state: "rolled-back",
              endedAt: new Date().toISOString(),
              reason: `promotion failed, rolled back: ${(error as Error).message}`,
            };
            this.#log("error", `canary rolled back: ${status.reason}`, status);
            this.#plane.changes.next(group);
            resolveDone(status);
          },
        );
      },
    };
    this.#plane.beginCanary(planned, selects, version);
    this.#last.set(group, running);
    this.#log("info", "canary started", status);
    timer = setTimeout(() => running.finish(false, `timeout: not every selected node ACKed within ${timeoutMs} ms`), timeoutMs);
    timer.unref();
    progress = this.#xds.rollout({ group: canaryGroup, version }).subscribe({
      next: (p) => {
        if (finished) return;
        status = {
          ...status,
          selected: [...p.acked, ...p.pending, ...new Set(p.nacked.map((n) => n.nodeId))],
          acked: p.acked,
          pending: p.pending,
          nacked: p.nacked,
        };
        this.#plane.changes.next(group);
        if (p.nacked.length > 0) {
          const n = p.nacked[0] as RolloutNack;
          running.finish(false, `NACK from ${n.nodeId} for ${n.typeUrl.slice(n.typeUrl.lastIndexOf(".") + 1)}: ${n.message}`);
        } else if (p.complete) running.finish(true, `every selected node ACKed (${p.acked.length})`);
      },
      error: (error: Error) => running.finish(false, `rollout tracking failed: ${error.message}`),
    });
    return { status, done };
  }

  /** The running or last canary of a group. */
  status(group: string): CanaryStatus | undefined {
    return this.#last.get(group)?.current();
  }

  /** Waits for the group's canary to end (resolves at once with the last one when none runs). */
  wait(group: string): Promise<CanaryStatus> | undefined {
    return this.#last.get(group)?.done;
  }

  /** Rolls back the group's running canary; resolves with its final status. */
  abort(group: string): Promise<CanaryStatus> {
    const running = this.#last.get(group);
    if (running?.current().state !== "running" || running === undefined)
      throw new CanaryRefused(409, `group ${group} has no canary running`);
    running.finish(false, "aborted through the admin API");
    return running.done;
  }

  /** Rolls back every running canary (at shutdown: nothing uncommitted is left half-applied). */
  async abortAll(): Promise<void> {
    const running = [...this.#last.values()].filter((r) => r.current().state === "running");
    for (const r of running) r.finish(false, "the control plane is shutting down");
    await Promise.all(running.map((r) => r.done));
  }

  /** Connected nodes of a group, as they identified themselves (with metadata). */
  #connected(group: string): Node[] {
    return this.#plane.watcher
      .knownNodes()
      .filter((n) => (this.#status?.nodeStatus(n.id)?.openStreams ?? 1) > 0 && this.#groupOf(n) === group);
  }

  #groupOf(node: Node): string | undefined {
    try {
      return this.#plane.baseGroupOf(node);
    } catch {
      return undefined;
    }
  }

  #log(level: "info" | "warn" | "error", message: string, status: CanaryStatus): void {
    try {
      this.#logger?.[level](
        {
          group: status.group,
          canary: status.id,
          version: status.version,
          state: status.state,
          selected: status.selected,
          nacked: status.nacked,
        },
        message,
      );
    } catch {
      // a throwing logger never stops a canary
    }
  }
}
