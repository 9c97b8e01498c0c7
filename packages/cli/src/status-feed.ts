// What the status page shows, in one JSON document, and a server-sent-events
// feed of it: sent again (coalesced) whenever a node's status, a group's
// config or a canary changes.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NodeStatus } from "@xdskit/cache";
import { merge, type Observable } from "rxjs";
import type { CanaryController, CanaryStatus } from "./canary.js";
import type { ControlPlane } from "./control-plane.js";
import type { StatusView } from "./workers-status.js";

/** `GET /v1/overview`: every group with its version and canary, every node's status. */
export interface Overview {
  readonly groups: readonly { readonly group: string; readonly version: string | null; readonly canary: CanaryStatus | null }[];
  readonly nodes: readonly NodeStatus[];
}

/** Bounds and timings of {@link StatusFeed}. */
export const STATUS_FEED_DEFAULTS = Object.freeze({
  /** Open `/v1/events` streams at most; more are refused with 503. */
  maxClients: 16,
  /** Changes within this many milliseconds are sent as one update. */
  coalesceMs: 100,
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: 15_000,
});

/**
 * What `GET /v1/overview` answers (and `/v1/events` sends): every group with
 * the version it serves and its running or last canary, and every node's
 * status (per type: sent, ACKed, NACKed with the reason).
 */
export function overview(plane: ControlPlane, status: StatusView | undefined, canary: CanaryController): Overview {
  return {
    groups: plane.groups().map((group) => ({
      group,
      version: plane.cache.getSnapshot(group)?.version ?? null,
      canary: canary.status(group) ?? null,
    })),
    nodes: status?.nodes() ?? [],
  };
}

/** Serves the overview as server-sent events (`event: overview`), sent on connect and after each change. */
export class StatusFeed {
  readonly #clients = new Set<ServerResponse>();
  readonly #changes: Observable<unknown>;
  readonly #render: () => Overview;

  constructor(plane: ControlPlane, status: StatusView | undefined, canary: CanaryController) {
    this.#changes = status ? merge(plane.changes, status.events) : plane.changes;
    this.#render = () => overview(plane, status, canary);
  }

  /** Open event streams now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Answers `GET /v1/events`; a client beyond `maxClients` gets 503. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    if (this.#clients.size >= STATUS_FEED_DEFAULTS.maxClients) {
      res
        .writeHead(503, { "content-type": "application/json" })
        .end(
          `${JSON.stringify({ error: `at most ${STATUS_FEED_DEFAULTS.maxClients} event streams are served at once; poll GET /v1/overview instead` })}\n`,
        );
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    this.#clients.add(res);
    let last = "";
    let timer: NodeJS.Timeout | undefined;
    const send = () => {
      timer = undefined;
      const data = JSON.stringify(this.#render());
      if (data === last) return;
      last = data;
      res.write(`event: overview\ndata: ${data}\n\n`);
    };
    send();
    const subscription = this.#changes.subscribe(() => {
      timer ??= setTimeout(send, STATUS_FEED_DEFAULTS.coalesceMs);
    });
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), STATUS_FEED_DEFAULTS.heartbeatMs);
    const close = () => {
      subscription.unsubscribe();
      clearTimeout(timer);
      clearInterval(heartbeat);
      this.#clients.delete(res);
    };
    // The response closes when the client goes away (or the server ends it): stop sending then.
    res.once("close", close);
    req.once("error", close);
  }

  /** Ends every open stream (at shutdown, so the HTTP server can close). */
  closeAll(): void {
    for (const res of [...this.#clients]) res.end();
  }
}
