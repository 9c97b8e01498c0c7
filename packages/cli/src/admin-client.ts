// `xdskit status` and `xdskit get`: small clients of a running serve's admin API.
import type { NodeStatus } from "@xdskit/cache";

/** Where the admin API is and how to authenticate. */
export interface AdminClientOptions {
  /** Base URL of the admin API. Default `$XDSKIT_ADMIN` or `http://127.0.0.1:19000`. */
  readonly admin?: string;
  /** Bearer token. Default `$XDSKIT_ADMIN_TOKEN` (none when unset). */
  readonly token?: string;
}

/** A failed admin request: the HTTP status (0 when unreachable) and the server's message. */
export class AdminRequestFailed extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/** Defaults of {@link AdminClientOptions} (`$XDSKIT_ADMIN` wins over `admin`). */
export const ADMIN_CLIENT_DEFAULTS = Object.freeze({ admin: "http://127.0.0.1:19000" });

/** Calls the admin API; resolves with the JSON body of a 2xx answer, else rejects with {@link AdminRequestFailed}. */
export async function adminRequest(options: AdminClientOptions, method: string, path: string, body?: unknown): Promise<unknown> {
  const base = (options.admin ?? process.env.XDSKIT_ADMIN ?? ADMIN_CLIENT_DEFAULTS.admin).replace(/\/+$/, "");
  const token = options.token ?? process.env.XDSKIT_ADMIN_TOKEN;
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new AdminRequestFailed(0, `cannot reach the admin API at ${base} (${cause}); is xdskit serve running? (--admin URL)`);
  }
  const text = await response.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {}
  if (!response.ok) {
    const message = (json as { error?: string })?.error ?? text;
    const hint = response.status === 401 ? " (pass --token or set XDSKIT_ADMIN_TOKEN)" : "";
    throw new AdminRequestFailed(response.status, `${method} ${path}: ${response.status} ${message}${hint}`, json);
  }
  return json;
}

const shortType = (typeUrl: string) => typeUrl.slice(typeUrl.lastIndexOf(".") + 1);

/** Whether a node's latest answer for some type is a NACK of what was last sent. */
export function nodeNacking(node: NodeStatus): boolean {
  return Object.values(node.types).some(
    (t) => t.lastNack !== undefined && t.lastSent !== undefined && t.lastNack.nonce === t.lastSent.nonce,
  );
}

/**
 * Node status as text for a terminal: one block per node, one line per type
 * with the version sent, ACKed and NACKed (with the client's reason).
 */
export function formatStatus(nodes: readonly NodeStatus[]): string {
  if (nodes.length === 0) return "no nodes connected\n";
  const lines: string[] = [];
  for (const n of [...nodes].sort((a, b) => a.group.localeCompare(b.group) || a.nodeId.localeCompare(b.nodeId))) {
    const connection = n.openStreams > 0 ? `${n.openStreams} stream(s)` : "disconnected";
    lines.push(`${n.nodeId}  group ${n.group}  ${connection}${nodeNacking(n) ? "  NACKING" : ""}`);
    const types = Object.values(n.types).sort((a, b) => a.typeUrl.localeCompare(b.typeUrl));
    const width = Math.max(0, ...types.map((t) => shortType(t.typeUrl).length));
    for (const t of types) {
      const parts = [`  ${shortType(t.typeUrl).padEnd(width)}`, `sent ${t.lastSent?.version ?? "-"}`, `acked ${t.lastAck?.version ?? "-"}`];
      if (t.lastNack) {
        const current = t.lastSent !== undefined && t.lastNack.nonce === t.lastSent.nonce;
        parts.push(`${current ? "NACKED" : "nacked earlier"} ${t.lastNack.rejectedVersion}: ${t.lastNack.error.message.split("\n")[0]}`);
      }
      lines.push(parts.join("  "));
    }
  }
  return `${lines.join("\n")}\n`;
}
