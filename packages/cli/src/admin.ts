// The admin HTTP API of `xdskit serve` (docs/serve.md, "Admin API").
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { ErrorCode, XdskitError } from "@xdskit/envoy-api";
import { type CanaryController, CanaryRefused } from "./canary.js";
import { CanaryRunning, ConfigRefused, type ControlPlane } from "./control-plane.js";
import { type MeshLayer, meshModelOf, meshProblems } from "./mesh-layer.js";
import { COLLECTIONS, describeProblem, typeUrlFor } from "./resource-docs.js";
import { overview, type StatusFeed } from "./status-feed.js";
import { statusPageCsp, statusPageHtml } from "./status-page.js";
import type { StatusView } from "./workers-status.js";

/** Largest request body accepted, in bytes. */
export const MAX_ADMIN_BODY_BYTES = 4 * 1024 * 1024;

export interface AdminContext {
  readonly plane: ControlPlane;
  /** Canaries of the plane's groups. */
  readonly canary: CanaryController;
  /** Node status (a tracker, or with workers their merged view, made current before each read). */
  readonly status: StatusView | undefined;
  /** Prometheus `/metrics` handler (createXdsMetrics). */
  readonly metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Server-sent events of the overview, for the status page. */
  readonly feed: StatusFeed;
  readonly token: string | undefined;
  readonly ready: () => boolean;
  /** The mesh model source, and how to serve a change of it with the file config (returns the problems, empty when served). */
  readonly mesh?: { readonly layer: MeshLayer; readonly republish: () => readonly unknown[] };
  /** Every replica's nodes, merged (a shared etcd store): shown as `fleet` in /v1/status. Default: none. */
  readonly fleet?: () => Promise<unknown[]>;
  /** `serve --workers N`: each worker (slot, pid, streams) and the restart count, shown as `workers` in /v1/status. Default: none. */
  readonly workers?: () => unknown;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ADMIN_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_ADMIN_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `body is not JSON: ${(error as Error).message}`);
  }
}

/**
 * A body's resources: `{ resources: [...] }` (each with `@type`), or sxds/Envoy
 * collections (`clusters`, `listeners`, ...). An unknown key is a 400 (a typo
 * must not become a change that silently does nothing); `group`, as in a
 * config document or `xdskit get` output, must name the group of the path.
 */
function resourcesOf(body: unknown, group: string, also: readonly string[] = []): unknown[] {
  if (Array.isArray(body)) return body;
  if (!body || typeof body !== "object") throw new HttpError(400, "body must be a JSON object");
  const b = body as Record<string, unknown>;
  const known = new Set(["resources", "group", ...Object.keys(COLLECTIONS), ...also]);
  const unknown = Object.keys(b).filter((k) => !known.has(k));
  if (unknown.length > 0)
    throw new HttpError(400, `unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(", ")}; expected ${[...known].join(", ")}`);
  if (b.group !== undefined && b.group !== group)
    throw new HttpError(400, `the body is for group ${JSON.stringify(b.group)}, the path for group ${JSON.stringify(group)}`);
  const out: unknown[] = [];
  if (b.resources !== undefined) {
    if (!Array.isArray(b.resources)) throw new HttpError(400, '"resources" must be a list');
    out.push(...b.resources);
  }
  for (const [k, url] of Object.entries(COLLECTIONS)) {
    const list = b[k];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new HttpError(400, `"${k}" must be a list`);
    for (const item of list) out.push(item && typeof item === "object" ? { "@type": url, ...(item as object) } : item);
  }
  return out;
}

export function startAdmin(ctx: AdminContext, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    handle(ctx, req, res).catch((error: unknown) => {
      if (error instanceof HttpError) return send(res, error.status, error.body ?? { error: error.message });
      if (error instanceof ConfigRefused) {
        return send(res, 400, {
          error: "refused; the last good config keeps serving",
          violations: error.problems.map((p) => ({ ...p, text: describeProblem(p) })),
        });
      }
      if (error instanceof CanaryRefused) return send(res, error.status, { error: error.message });
      const mesh = meshProblems(error);
      if (mesh) {
        return send(res, 400, {
          error: "mesh model refused; the last good config keeps serving",
          violations: mesh.map((p) => ({ ...p, text: describeProblem(p) })),
        });
      }
      if (error instanceof CanaryRunning) return send(res, 409, { error: error.message });
      if (XdskitError.is(error) && error.code === ErrorCode.STORE_CONFLICT) return send(res, 409, { error: error.message });
      // The store (etcd) cannot be reached: nothing was changed (or, for a lost answer, read again); the last good config keeps serving.
      if (XdskitError.is(error) && error.code === ErrorCode.STORE_FAILED) {
        return send(res, 503, {
          error: `the config store is unreachable; nothing was changed, the last good config keeps serving: ${error.message}`,
          retry: true,
        });
      }
      send(res, 500, { error: (error as Error).message });
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

async function handle(ctx: AdminContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://admin");
  const method = req.method ?? "GET";
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "healthz") return send(res, 200, { ok: true });
  if (parts[0] === "readyz") return send(res, ctx.ready() ? 200 : 503, { ready: ctx.ready() });
  // The status page is static (it holds no data; its script calls the API with the token), so it needs none.
  if (parts.length === 0 && method === "GET") {
    res.writeHead(302, { location: "/ui/" }).end();
    return;
  }
  if (parts[0] === "ui" && parts.length === 1 && method === "GET") {
    const html = statusPageHtml();
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "content-length": Buffer.byteLength(html),
      "cache-control": "no-store",
      "content-security-policy": statusPageCsp(),
      "x-frame-options": "DENY",
    });
    res.end(html);
    return;
  }
  if (ctx.token !== undefined && req.headers.authorization !== `Bearer ${ctx.token}`) {
    throw new HttpError(401, "missing or wrong bearer token (Authorization: Bearer <token>)");
  }
  if (parts[0] === "metrics" && parts.length === 1 && ctx.metrics) return ctx.metrics(req, res);
  const flag = (name: string) => url.searchParams.get(name) === "1" || url.searchParams.get(name) === "true";
  const dryRun = flag("dryRun");
  const wait = flag("wait");
  const expected = req.headers["if-match"];
  const expectedRevision = typeof expected === "string" && /^\d+$/.test(expected) ? Number(expected) : undefined;
  const opts = { dryRun, ...(expectedRevision === undefined ? {} : { expectedRevision }) };
  const plane = ctx.plane;

  // sxds-compatible: PUT /resources/{node_type} with { listeners, clusters, routes, endpoints }.
  if (parts[0] === "resources" && parts.length === 2 && method === "PUT") {
    return send(
      res,
      200,
      await plane.change(parts[1] as string, { replace: resourcesOf(await readBody(req), parts[1] as string), ...opts }),
    );
  }
  if (parts[0] !== "v1") throw new HttpError(404, `no such path ${url.pathname}`);
  // Reads of node status: current first (with workers, every worker is asked).
  if (
    method === "GET" &&
    (parts[1] === "overview" || parts[1] === "events" || parts[1] === "status" || (parts[1] === "groups" && parts.length === 3))
  )
    await ctx.status?.refresh?.();
  if (parts[1] === "overview" && method === "GET") return send(res, 200, overview(plane, ctx.status, ctx.canary));
  if (parts[1] === "events" && method === "GET") return ctx.feed.serve(req, res);
  if (parts[1] === "status" && method === "GET") {
    const nodes = ctx.status?.nodes() ?? [];
    const workers = ctx.workers ? { workers: ctx.workers() } : {};
    if (!ctx.fleet) return send(res, 200, { nodes, ...workers });
    // Replicas sharing etcd: every proxy of the fleet and the replica serving it (null while etcd is unreachable).
    const fleet = await ctx.fleet().catch(() => null);
    return send(res, 200, { nodes, fleet, ...workers });
  }
  if (parts[1] === "mesh" && ctx.mesh) return handleMesh(ctx.mesh, parts.slice(2), method, url, req, res, opts);
  if (parts[1] !== "groups") throw new HttpError(404, `no such path ${url.pathname}`);
  if (parts.length === 2 && method === "GET") {
    return send(res, 200, { groups: plane.groups().map((group) => ({ group, version: plane.cache.getSnapshot(group)?.version ?? null })) });
  }
  const group = parts[2] as string;
  const rest = parts.slice(3);
  if (rest.length === 0 && method === "GET") {
    const dump = plane.dump(group);
    if (!dump) throw new HttpError(404, `no config for group ${group}`);
    return send(res, 200, { group, ...dump, nodes: ctx.status?.groupStatus(group) ?? null });
  }
  if (rest[0] === "resources") {
    if (rest.length === 1 && method === "GET") {
      const api = plane.apiResources(group);
      res.setHeader("etag", String(api?.modRevision ?? 0));
      return send(res, 200, {
        group,
        version: api?.version ?? 0,
        revision: api?.modRevision ?? 0,
        resources: [...(api?.resources.values() ?? [])].flatMap((m) => [...m.values()].map((r) => r.json)),
      });
    }
    if (rest.length === 1 && method === "PUT")
      return send(res, 200, await plane.change(group, { replace: resourcesOf(await readBody(req), group), ...opts }));
    if (rest.length === 1 && method === "PATCH") {
      const body = (await readBody(req)) as { remove?: { type?: string; name?: string }[] };
      const remove = (body.remove ?? []).map((r) => ({ type: typeUrlFor(String(r.type)) ?? String(r.type), name: String(r.name) }));
      return send(res, 200, await plane.change(group, { upsert: resourcesOf(body, group, ["remove"]), remove, ...opts }));
    }
    if (rest.length === 3 && method === "DELETE") {
      const type = typeUrlFor(rest[1] as string);
      if (!type)
        throw new HttpError(400, `unknown type ${rest[1]} (a type URL, a message name or one of ${Object.keys(COLLECTIONS).join(", ")})`);
      return send(res, 200, await plane.change(group, { remove: [{ type, name: rest[2] as string }], ...opts }));
    }
  }
  if (rest[0] === "canary" && rest.length === 1) {
    if (method === "POST") {
      const body = (await readBody(req)) as Record<string, unknown>;
      if (!body || typeof body !== "object" || Array.isArray(body)) throw new HttpError(400, "body must be a JSON object");
      const { percentage, selector, timeoutMs, replace, remove, ...resources } = body;
      const list = resourcesOf(resources, group, ["percentage", "selector", "timeoutMs", "replace", "remove"]);
      const removals = (Array.isArray(remove) ? remove : []).map((r: { type?: string; name?: string }) => ({
        type: typeUrlFor(String(r?.type)) ?? String(r?.type),
        name: String(r?.name),
      }));
      const started = ctx.canary.start(group, replace === true ? { replace: list } : { upsert: list, remove: removals }, {
        ...(percentage === undefined ? {} : { percentage: percentage as number }),
        ...(selector === undefined ? {} : { selector: selector as Record<string, string> }),
        ...(timeoutMs === undefined ? {} : { timeoutMs: timeoutMs as number }),
      });
      if (wait) return send(res, 200, await started.done);
      return send(res, 202, started.status);
    }
    if (method === "GET") {
      const status = ctx.canary.status(group);
      if (!status) throw new HttpError(404, `group ${group} has had no canary`);
      if (wait && status.state === "running") return send(res, 200, await ctx.canary.wait(group));
      return send(res, 200, status);
    }
    if (method === "DELETE") return send(res, 200, await ctx.canary.abort(group));
  }
  if (rest[0] === "history" && rest.length === 1 && method === "GET") return send(res, 200, { group, versions: plane.history(group) });
  if (rest[0] === "history" && rest.length === 2 && method === "GET") {
    const version = Number(rest[1]);
    const resources = Number.isInteger(version) ? plane.versionResources(group, version) : undefined;
    if (!resources) throw new HttpError(404, `group ${group} keeps no version ${rest[1]} (GET /v1/groups/${group}/history)`);
    return send(res, 200, { group, version, resources });
  }
  if (rest[0] === "diff" && rest.length === 1 && method === "GET") {
    const from = Number(url.searchParams.get("from"));
    const to = Number(url.searchParams.get("to"));
    if (!Number.isInteger(from) || !Number.isInteger(to)) throw new HttpError(400, "give ?from=<version>&to=<version> (from /history)");
    const diff = plane.diffVersions(group, from, to);
    if (!diff) throw new HttpError(404, `group ${group} does not keep both versions ${from} and ${to} (GET /v1/groups/${group}/history)`);
    return send(res, 200, diff);
  }
  if (rest[0] === "rollback" && method === "POST") {
    const body = (await readBody(req)) as { version?: unknown };
    if (typeof body.version !== "number") throw new HttpError(400, 'body must be { "version": <number from /history> }');
    return send(res, 200, await plane.rollback(group, body.version));
  }
  throw new HttpError(404, `no such path ${method} ${url.pathname}`);
}

/**
 * The mesh model through the API: `GET /v1/mesh` (API-owned objects, their
 * store revision as ETag, the node groups the model makes), `PUT /v1/mesh`
 * (replace the API-owned objects: `{ "objects": [...] }` or a list; a
 * `kind: Mesh` object sets the trust domain; `?dryRun=1` returns the diff per
 * node group without applying; `If-Match: <revision>` for compare-and-set),
 * `GET /v1/mesh/explain?group=` (which model objects made each resource).
 */
async function handleMesh(
  mesh: NonNullable<AdminContext["mesh"]>,
  rest: string[],
  method: string,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
  opts: { dryRun: boolean; expectedRevision?: number },
): Promise<void> {
  const { layer } = mesh;
  if (rest.length === 0 && method === "GET") {
    res.setHeader("etag", String(layer.api.revision));
    const groups = [...layer.groups().keys()];
    return send(res, 200, { revision: layer.api.revision, ...layer.api.model, groups, servedObjects: layer.model.objects.length });
  }
  if (rest.length === 0 && method === "PUT") {
    const body = await readBody(req);
    const list = Array.isArray(body) ? body : (body as { objects?: unknown })?.objects;
    if (!Array.isArray(list)) throw new HttpError(400, 'body must be { "objects": [ ...mesh objects ] } or a list of them');
    const trustDomain = Array.isArray(body) ? undefined : (body as { trustDomain?: unknown }).trustDomain;
    const model = meshModelOf(trustDomain === undefined ? list : [...list, { kind: "Mesh", spec: { trustDomain } }]);
    const diff = await layer.put(model, opts);
    if (opts.dryRun) return send(res, 200, { dryRun: true, diff });
    const problems = mesh.republish();
    if (problems.length > 0) {
      return send(res, 400, { error: "stored, but the compiled config was refused; the last good config keeps serving", problems });
    }
    return send(res, 200, { revision: layer.api.revision, diff });
  }
  if (rest[0] === "explain" && rest.length === 1 && method === "GET") {
    const group = url.searchParams.get("group");
    if (!group) throw new HttpError(400, "give ?group=<node group> (sidecar~<ns>/<name> or grpc~<ns>/<name>; GET /v1/mesh lists them)");
    const resources = layer.explain(group);
    if (resources.length === 0) throw new HttpError(404, `the mesh model makes no group ${group} (GET /v1/mesh lists them)`);
    return send(res, 200, { group, resources });
  }
  throw new HttpError(404, `no such path ${method} ${url.pathname}`);
}
