// The node status of `xdskit serve --workers N`, as the primary shows it: the
// workers' own trackers, read on demand. Each worker keeps the status of its
// streams (as one process does, so the per-event work is split over the
// workers, not repeated in the primary); the primary asks every worker for its
// nodes when someone reads the status (the admin API, the status page, CSDS)
// and merges them. Workers only announce *that* something changed (at most
// every 250 ms); while someone follows the status (the status page's event
// stream, the etcd fleet publisher), such an announcement triggers a read (at
// most one a second) and `events` emits each node that changed in it. Nobody
// following: nothing is read, and the streams pay nothing for the status.
import { type GroupStatus, groupStatusOf, type NodeStatus, type NodeStatusTracker } from "@xdskit/cache";
import { Observable, Subject } from "rxjs";

/** What the admin API, the status page and the fleet publisher read of node status. */
export interface StatusView extends Pick<NodeStatusTracker, "nodes" | "nodeStatus" | "groupStatus"> {
  /** Emits (with the node id) when a node's status changed. */
  readonly events: Observable<{ readonly nodeId: string }>;
  /** Makes the reads current (the workers' view reads every worker); a tracker is always current. Default: none. */
  refresh?(): Promise<void>;
}

/** While followed, status is read again at most this often after a worker's change. */
export const FOLLOW_REFRESH_MS = 1_000;

/** One worker's answer to "your nodes?". */
export interface WorkerNodes {
  readonly index: number;
  readonly nodes: readonly NodeStatus[];
}

/**
 * Every worker's node status, merged: a node served by two workers at once (it
 * moved, the old stream not closed yet) shows as the one with open streams, or
 * else the most recently active. Reads return the last {@link refresh}; a dead
 * worker's nodes are gone from the next one (their proxies reconnect to
 * another worker and show there).
 */
export class WorkersStatus implements StatusView {
  readonly #ask: () => Promise<readonly WorkerNodes[]>;
  readonly #diffs = new Subject<{ readonly nodeId: string }>();
  #followers = 0;
  #timer: NodeJS.Timeout | undefined;
  #signatures = new Map<string, string>();
  #nodes: NodeStatus[] = [];
  #byId = new Map<string, NodeStatus>();
  #workerOf = new Map<string, number>();
  #refreshing: Promise<void> | undefined;

  /** Each node that changed (or was dropped), found by a read. Subscribing makes worker announcements trigger reads. Never completes. */
  readonly events = new Observable<{ readonly nodeId: string }>((subscriber) => {
    this.#followers++;
    const subscription = this.#diffs.subscribe(subscriber);
    return () => {
      this.#followers--;
      subscription.unsubscribe();
    };
  });

  /** @param ask asks every live worker for its nodes */
  constructor(ask: () => Promise<readonly WorkerNodes[]>) {
    this.#ask = ask;
  }

  /** A worker said its nodes changed: read again soon if someone follows. */
  changed(): void {
    if (this.#followers === 0 || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.refresh().catch(() => undefined);
    }, FOLLOW_REFRESH_MS);
    this.#timer.unref();
  }

  /** Stops a pending read (at shutdown). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Reads every worker's nodes now; calls while a read is under way share it. */
  refresh(): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    this.#refreshing = this.#ask()
      .then((answers) => this.#merge(answers))
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** The slot of the worker serving a node (as of the last refresh). */
  workerOf(nodeId: string): number | undefined {
    return this.#workerOf.get(nodeId);
  }

  nodes(): NodeStatus[] {
    return [...this.#nodes];
  }

  nodeStatus(nodeId: string): NodeStatus | undefined {
    return this.#byId.get(nodeId);
  }

  groupStatus(group: string): GroupStatus | undefined {
    return groupStatusOf(
      group,
      this.#nodes.filter((n) => n.group === group),
    );
  }

  #merge(answers: readonly WorkerNodes[]): void {
    const byId = new Map<string, NodeStatus>();
    const workerOf = new Map<string, number>();
    for (const { index, nodes } of answers) {
      for (const node of nodes) {
        const held = byId.get(node.nodeId);
        if (held === undefined || preferred(node, held)) {
          byId.set(node.nodeId, node);
          workerOf.set(node.nodeId, index);
        }
      }
    }
    // Least recently active first, as NodeStatusTracker.nodes() lists them.
    this.#nodes = [...byId.values()].sort((a, b) => activity(a) - activity(b));
    this.#byId = byId;
    this.#workerOf = workerOf;
    const signatures = new Map<string, string>();
    const changed: string[] = [];
    for (const node of this.#nodes) {
      const signature = signatureOf(node);
      signatures.set(node.nodeId, signature);
      if (this.#signatures.get(node.nodeId) !== signature) changed.push(node.nodeId);
    }
    for (const nodeId of this.#signatures.keys()) if (!signatures.has(nodeId)) changed.push(nodeId);
    this.#signatures = signatures;
    for (const nodeId of changed) this.#diffs.next({ nodeId });
  }
}

const activity = (n: NodeStatus) => Math.max(n.lastRequestAt ?? 0, n.disconnectedAt ?? 0);
const preferred = (a: NodeStatus, b: NodeStatus) =>
  a.openStreams > 0 !== b.openStreams > 0 ? a.openStreams > 0 : activity(a) > activity(b);

/** What identifies a node's state: streams, times, and per type the nonces sent, ACKed and NACKed. */
function signatureOf(n: NodeStatus): string {
  let s = `${n.openStreams}|${n.disconnectedAt ?? ""}|${n.lastRequestAt ?? ""}`;
  for (const t of Object.values(n.types))
    s += `|${t.typeUrl}:${t.openWatches}:${t.lastSent?.nonce ?? ""}:${t.lastAck?.nonce ?? ""}:${t.lastNack?.nonce ?? ""}`;
  return s;
}
