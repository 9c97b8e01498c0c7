// `xdskit serve`: the SDK's public packages composed into a standalone control plane.
import { type FSWatcher, watch as watchFiles } from "node:fs";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { type NodeStatus, NodeStatusTracker, type XdsLogger } from "@xdskit/cache";
import { optionError } from "@xdskit/envoy-api";
import { FileServiceRegistry } from "@xdskit/mesh";
import type { ValidationProfile } from "@xdskit/resources";
import { type CsdsOptions, requireNodeIdentity, XdsServer } from "@xdskit/server";
import { createXdsMetrics } from "@xdskit/server/metrics";
import { EtcdConfigStore, FleetStatusPublisher, FleetStatusReader } from "@xdskit/store-etcd";
import { type ConfigStore, DirectoryConfigStore, MemoryConfigStore } from "@xdskit/stores";
import { startAdmin } from "./admin.js";
import { CanaryController } from "./canary.js";
import { configFileList, readConfigFiles } from "./config-files.js";
import { ControlPlane, type GroupBy } from "./control-plane.js";
import { MeshLayer, meshModelOf, meshProblems, withMeshGroups } from "./mesh-layer.js";
import { type ConfigProblem, describeProblem, type GroupResources } from "./resource-docs.js";
import { StatusFeed } from "./status-feed.js";
import { checkWorkers, publishServed, WorkerPool, workersMetricsHandler } from "./workers.js";
import { type StatusView, WorkersStatus } from "./workers-status.js";
import { checkTransport, listenXds, type Transport, type XdsListener } from "./xds-listener.js";

/** Options of {@link serve}; each is also a flag of `xdskit serve` (docs/serve.md lists them). */
export interface ServeOptions {
  /** A directory of Envoy YAML/JSON files (or one file), reloaded on change. Default: none (API only). */
  readonly config?: string;
  /** Group for documents without `group:`. Default: none (such a document is refused). */
  readonly defaultGroup?: string;
  /** State directory for config set through the admin API. Default: none (kept in memory). */
  readonly stateDir?: string;
  /**
   * A shared config store instead of the state directory:
   * `etcd://host:port[,host:port...]/prefix` (etcd v3; prefix default
   * `/xdskit/`). Replicas given the same store serve the same config: a write
   * through any of them is a compare-and-set in etcd, each applies every
   * change from an etcd watch. While etcd is unreachable a replica keeps
   * serving its last good config, answers writes with 503 and /readyz with
   * 503. See docs/scale-out.md. Default: none.
   */
  readonly store?: string;
  /** With `store`: this replica's id in the fleet status (`<store prefix>status/<replicaId>/…`). Default `<hostname>-<pid>`. */
  readonly replicaId?: string;
  /** xDS address. Default `0.0.0.0:18000`. */
  readonly xdsAddress?: string;
  /** Admin host. Default `127.0.0.1`; another host requires `adminToken`. */
  readonly adminHost?: string;
  /** Admin port. Default 19000; 0 picks a free one. */
  readonly adminPort?: number;
  /** Bearer token required by the admin API (except /healthz and /readyz). Default: none. */
  readonly adminToken?: string;
  /** Node grouping. Default `prefix` (node id up to its first `-`, sxds parity). */
  readonly groupBy?: GroupBy;
  /** Versions kept per group for rollback. Default 10. */
  readonly history?: number;
  /** xDS TLS: certificate chain and key (PEM files); with `tlsClientCa`, client certificates are required. Default: plaintext. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsClientCa?: string;
  /**
   * Bind node ids to client certificates (needs `tlsClientCa`): a stream is
   * served only when its node id is the certificate's SPIFFE id, one of its
   * URI SANs or one of its DNS SANs (`requireNodeIdentity()` from
   * @xdskit/server), so one proxy cannot fetch another's config. Default false.
   */
  readonly requireNodeIdentity?: boolean;
  /** Validation profile of every config accepted: `envoy`, or `grpc` for proxyless gRPC fleets (stricter). Default `envoy`. */
  readonly profile?: ValidationProfile;
  /**
   * The instances of the mesh model's Services (docs/mesh.md): a YAML file
   * mapping `namespace/name` to instances, re-read on change; bad content is
   * refused and the last good instances stay. Default: none (mesh clusters
   * get no endpoints).
   */
  readonly meshInstances?: string;
  /**
   * Processes serving xDS. 1: this process serves it (the default). N > 1:
   * this process (the primary) keeps the state, the admin API and the status
   * page, and N worker processes share the xDS port (node:cluster hands each
   * new connection to the next worker) and serve the primary's snapshots; the
   * primary's status shows every worker's nodes, and a worker that dies is
   * restarted. An integer from 1 to 4 × the CPUs. Canaries need 1. See
   * docs/serve.md ("Workers"). Default 1.
   */
  readonly workers?: number;
  /**
   * What serves the xDS port (xDS and CSDS): `grpc` (grpc-js) or `http2`
   * (xdskit's own gRPC over node:http2: less server CPU per stream at initial
   * sync, about half at 10,000 streams; no compression). The
   * same XdsServer either way: streams, limits, identities, status and CSDS
   * answers are the same. See docs/serve.md ("Transports"). Default `grpc`.
   */
  readonly transport?: Transport;
  /** Where JSON log lines go. Default: stderr. */
  readonly log?: (line: string) => void;
}

/** Defaults of {@link ServeOptions} (the flags' defaults). */
export const SERVE_DEFAULTS = Object.freeze({
  xdsAddress: "0.0.0.0:18000",
  adminHost: "127.0.0.1",
  adminPort: 19000,
  groupBy: "prefix" as GroupBy,
  history: 10,
  profile: "envoy" as ValidationProfile,
  workers: 1,
  transport: "grpc" as Transport,
});

/** A running `xdskit serve`. */
export interface Serving {
  readonly xdsPort: number;
  readonly adminPort: number;
  readonly plane: ControlPlane;
  /** Stops taking streams, ends them, closes the admin port and the store (releasing its lock). */
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export async function serve(options: ServeOptions = {}): Promise<Serving> {
  const o = { ...SERVE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ServeOptions &
    typeof SERVE_DEFAULTS;
  const write = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (level: string, msg: string, fields: object = {}) =>
    write(JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields }));
  // The SDK's own logs (cache warnings, NACKs with detail, stream errors) as the same JSON lines.
  const logger: XdsLogger = {
    debug: () => undefined,
    info: (bindings, message) => log("info", message, bindings),
    warn: (bindings, message) => log("warn", message, bindings),
    error: (bindings, message) => log("error", message, bindings),
  };
  if (!["prefix", "cluster", "id"].includes(o.groupBy)) throw optionError("xdskit serve", "group-by", "prefix, cluster or id", o.groupBy);
  if (!LOOPBACK.has(o.adminHost) && !o.adminToken) {
    throw optionError(
      "xdskit serve",
      "admin-host",
      `a loopback address unless --admin-token is set (the admin API can change every proxy's config)`,
      o.adminHost,
    );
  }
  if (o.profile !== "envoy" && o.profile !== "grpc") throw optionError("xdskit serve", "profile", "envoy or grpc", o.profile);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined))
    throw optionError("xdskit serve", "tls-cert", "given together with --tls-key", o.tlsCert);
  if (o.tlsClientCa !== undefined && o.tlsCert === undefined)
    throw optionError("xdskit serve", "tls-client-ca", "given with --tls-cert and --tls-key (client certificates need TLS)", o.tlsClientCa);
  if (o.requireNodeIdentity === true && o.tlsClientCa === undefined) {
    throw optionError(
      "xdskit serve",
      "require-node-identity",
      "given with --tls-client-ca (node ids are checked against verified client certificates)",
      true,
    );
  }

  const workers = checkWorkers(o.workers);
  const transport = checkTransport(o.transport);
  if (o.store !== undefined && o.stateDir !== undefined)
    throw optionError("xdskit serve", "store", "not given with --state-dir (one store)", o.store);
  const etcd = o.store === undefined ? undefined : await EtcdConfigStore.connect(parseStoreUrl(o.store));
  const store: ConfigStore = etcd ?? (o.stateDir ? await DirectoryConfigStore.open({ directory: o.stateDir }) : new MemoryConfigStore());
  const plane = new ControlPlane(store, o.groupBy, o.history, logger, o.profile);
  const registry =
    o.meshInstances === undefined
      ? undefined
      : await FileServiceRegistry.open({
          path: o.meshInstances,
          watch: true,
          onError: (error) =>
            log("error", `mesh instances refused, the last good ones stay: ${(error as Error).message}`, { file: o.meshInstances }),
        }).catch(async (error: unknown) => {
          await store.close();
          throw error;
        });
  const mesh = new MeshLayer(store, registry);
  // The last file config read, so that a mesh change can be served with it.
  let fileGroups = new Map<string, GroupResources>();
  /** File config and the compiled mesh together; problems refuse both and the last good config keeps serving. */
  const withMesh = (
    files: Map<string, GroupResources>,
    meshDocs: readonly unknown[] | undefined,
  ): { groups: Map<string, GroupResources>; problems: ConfigProblem[] } => {
    try {
      if (meshDocs !== undefined) mesh.setFiles(meshModelOf(meshDocs));
      return withMeshGroups(files, mesh.groups());
    } catch (error) {
      const problems = meshProblems(error);
      if (problems) return { groups: files, problems };
      throw error;
    }
  };
  /** Serves a mesh change (API write, another replica's, instance churn) with the current file config. */
  const republishMesh = () => {
    const merged = withMesh(fileGroups, undefined);
    const problems = merged.problems.length > 0 ? merged.problems : plane.setFiles(merged.groups);
    for (const p of problems) log("error", `mesh config refused, the last good config keeps serving: ${describeProblem(p)}`, p);
    return problems;
  };
  let stopFollowing: (() => void) | undefined;
  etcd?.reachable.subscribe((reachable) =>
    log(
      reachable ? "info" : "warn",
      reachable ? "config store reachable again" : "config store unreachable: serving the last good config, writes refused",
      {
        store: store.description,
      },
    ),
  );
  let fileWatcher: FSWatcher | undefined;
  const loadFiles = () => {
    const files = readConfigFiles(o.config ? configFileList(o.config) : [], o.defaultGroup);
    if (files.problems.length > 0) return { files, problems: files.problems };
    const merged = withMesh(files.groups, files.mesh);
    const problems = merged.problems.length > 0 ? merged.problems : plane.setFiles(merged.groups);
    if (problems.length === 0) fileGroups = files.groups;
    return { files, problems };
  };
  let ready = false;
  try {
    const first = o.config
      ? readConfigFiles(configFileList(o.config), o.defaultGroup)
      : { groups: new Map<string, GroupResources>(), mesh: [], problems: [], files: [] };
    const meshFrom = await store.revision();
    await mesh.load();
    const merged = first.problems.length > 0 ? { groups: first.groups, problems: [] } : withMesh(first.groups, first.mesh);
    const refused = [...first.problems, ...merged.problems];
    if (refused.length > 0) {
      for (const p of refused) log("error", `config refused: ${describeProblem(p)}`, p);
      throw new Error(
        `xdskit serve: the config in ${o.config ?? "the store"} has ${refused.length} problem(s), listed above; nothing was served`,
      );
    }
    fileGroups = first.groups;
    const problems = await plane.load(merged.groups);
    if (problems.length > 0) {
      for (const p of problems) log("error", `config refused: ${describeProblem(p)}`, p);
      throw new Error(`xdskit serve: the config has ${problems.length} problem(s), listed above; nothing was served`);
    }
    // A shared store: apply what the other replicas write.
    if (etcd) {
      const stopGroups = plane.follow((error) => log("warn", `following the config store: ${(error as Error)?.message ?? error}`));
      const meshFollow = mesh.follow(meshFrom, republishMesh, (error) =>
        log("warn", `following the mesh model in the config store: ${(error as Error)?.message ?? error}`),
      );
      stopFollowing = () => {
        stopGroups();
        meshFollow.unsubscribe();
      };
    }
    // Instance churn recompiles the endpoints of the Services that changed.
    mesh.onChange(() => {
      if (ready) republishMesh();
    });
  } catch (error) {
    registry?.close();
    await store.close();
    throw error;
  }

  // Status groups nodes by the groupBy rule alone: a node in a canary still shows in its own group.
  const status = new NodeStatusTracker({ nodeGroup: plane.baseGroupOf });
  const xds = new XdsServer({
    cache: plane.watcher,
    status,
    logger,
    ...(o.requireNodeIdentity === true ? { callbacks: { onStreamOpen: requireNodeIdentity() } } : {}),
  });
  const canary = new CanaryController({
    plane,
    xds,
    logger,
    ...(workers > 1 ? { unavailable: `canaries need one xDS process; this serve runs ${workers} workers (--workers 1)` } : {}),
  });
  // With workers, the node status is theirs, read on demand (workers-status.ts); the pool starts below.
  let pool: WorkerPool | undefined;
  const workersStatus = workers > 1 ? new WorkersStatus(() => pool?.nodes() ?? Promise.resolve([])) : undefined;
  const shown: StatusView = workersStatus ?? status;
  // Replicas sharing etcd publish their nodes' status under a lease; /v1/status shows the whole fleet.
  const replicaId = o.replicaId ?? `${hostname()}-${process.pid}`;
  const publisher = etcd
    ? await FleetStatusPublisher.start({
        store: etcd,
        replicaId,
        source: workersStatus ?? status,
        onError: (error) => log("warn", `fleet status not published: ${error.message}`),
      }).catch((error: unknown) => {
        log("warn", `fleet status not published: ${(error as Error).message}`);
        return undefined;
      })
    : undefined;
  const fleetReader = etcd ? new FleetStatusReader(etcd) : undefined;
  const feed = new StatusFeed(plane, shown, canary);
  // CSDS on the xDS port: what each proxy was sent, ACKed and NACKed. With a
  // shared store, every proxy of the fleet, each with the replica serving it
  // in node.metadata["xdskit.replica"] (read from etcd at most once a second).
  const fleetCsds = fleetReader ? new FleetCsdsSource(fleetReader, status, replicaId) : undefined;
  const csds: CsdsOptions = {
    status: (fleetCsds ?? status) as NodeStatusTracker,
    cache: plane.watcher,
    ...(fleetCsds ? { nodeMetadata: (node: NodeStatus) => fleetCsds.metadataOf(node) } : {}),
  };
  const metrics = createXdsMetrics({ xds, cache: plane.cache });
  // One process: this one serves xDS (listening below). Workers: they do, from what this one publishes to them.
  let listener: XdsListener | undefined;
  let admin: HttpServer | undefined;
  let stopPublishing: (() => void) | undefined;
  // What the workers follow: each group's served snapshot. A short log (each entry is a whole group's
  // resources): a worker lists, then watches from the listing, and lists again if it ever falls behind.
  const served = new MemoryConfigStore({ maxLoggedEvents: 16 });
  try {
    if (workers > 1) {
      stopPublishing = publishServed(plane, served, (error) =>
        log("error", `publishing to the workers failed: ${(error as Error).message}`),
      );
      pool = await WorkerPool.start({
        count: workers,
        settings: {
          xdsAddress: o.xdsAddress,
          groupBy: o.groupBy,
          ...(o.tlsCert === undefined ? {} : { tlsCert: o.tlsCert }),
          ...(o.tlsKey === undefined ? {} : { tlsKey: o.tlsKey }),
          ...(o.tlsClientCa === undefined ? {} : { tlsClientCa: o.tlsClientCa }),
          requireNodeIdentity: o.requireNodeIdentity === true,
          transport,
        },
        served,
        fleet: async () => {
          await workersStatus?.refresh();
          return workersStatus?.nodes() ?? [];
        },
        onStatusChange: () => workersStatus?.changed(),
        log,
        write,
      });
    }
    if (pool === undefined) {
      listener = await listenXds(xds, {
        transport,
        address: o.xdsAddress,
        csds,
        onError: (error) => log("error", `xDS port: ${error.message}`),
        ...(o.tlsCert === undefined ? {} : { tlsCert: o.tlsCert }),
        ...(o.tlsKey === undefined ? {} : { tlsKey: o.tlsKey }),
        ...(o.tlsClientCa === undefined ? {} : { tlsClientCa: o.tlsClientCa }),
      });
    }
    const xdsPort = pool ? pool.port : (listener as XdsListener).port;
    admin = await startAdmin(
      {
        plane,
        canary,
        feed,
        mesh: { layer: mesh, republish: republishMesh },
        status: shown,
        metrics: pool ? workersMetricsHandler(metrics.registry, pool) : metrics.handler,
        token: o.adminToken,
        ready: () => ready && (etcd?.isReachable ?? true) && (pool?.ready ?? true),
        ...(pool ? { workers: () => (pool as WorkerPool).describe() } : {}),
        ...(fleetReader ? { fleet: () => fleetReader.nodes() } : {}),
      },
      o.adminHost,
      o.adminPort,
    );
    const adminPort = (admin.address() as AddressInfo).port;

    if (o.config) {
      let timer: NodeJS.Timeout | undefined;
      fileWatcher = watchFiles(o.config, () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          const { files, problems } = loadFiles();
          if (problems.length > 0) {
            for (const p of problems) log("error", `config refused, the last good config keeps serving: ${describeProblem(p)}`, p);
          } else log("info", "config reloaded", { files: files.files.length, groups: [...files.groups.keys()] });
        }, 100);
      });
    }
    ready = true;
    const groups = Object.fromEntries(
      plane
        .groups()
        .map((g) => [
          g,
          Object.fromEntries(
            Object.entries(plane.cache.getSnapshot(g)?.resources ?? {}).map(([t, r]) => [
              t.slice(t.lastIndexOf(".") + 1),
              Object.keys(r.entries).length,
            ]),
          ),
        ]),
    );
    log("info", "xdskit serve started", {
      xdsPort,
      adminPort,
      adminHost: o.adminHost,
      adminToken: o.adminToken !== undefined,
      tls: Boolean(o.tlsCert),
      clientCertificates: o.tlsClientCa !== undefined,
      requireNodeIdentity: o.requireNodeIdentity === true,
      groupBy: o.groupBy,
      profile: o.profile,
      workers,
      transport,
      config: o.config ?? null,
      meshObjects: mesh.model.objects.length,
      meshInstances: o.meshInstances ?? null,
      stateDir: o.stateDir ?? null,
      ...(etcd ? { replicaId } : {}),
      store: store.description,
      groups,
      resources: Object.values(groups).reduce((n, byType) => n + Object.values(byType).reduce((m, c) => m + c, 0), 0),
    });
    return {
      xdsPort,
      adminPort,
      plane,
      async close() {
        ready = false;
        // Workers first: they end their streams (UNAVAILABLE, so proxies reconnect elsewhere) and exit, not restarted.
        await pool?.close();
        stopPublishing?.();
        await served.close();
        workersStatus?.close();
        fileWatcher?.close();
        stopFollowing?.();
        fleetCsds?.close();
        await publisher?.close();
        await canary.abortAll();
        metrics.close();
        // GOAWAY (node:http2) and UNAVAILABLE on every stream, then the port closes.
        await xds.shutdown({ deadlineMs: 1000 }).catch(() => undefined);
        await listener?.close();
        feed.closeAll();
        await new Promise((resolve) => admin?.close(resolve));
        registry?.close();
        await store.close();
        plane.watcher.dispose();
        status.dispose();
      },
    };
  } catch (error) {
    fileWatcher?.close();
    stopFollowing?.();
    await publisher?.close();
    await listener?.close();
    stopPublishing?.();
    await pool?.close();
    admin?.close();
    registry?.close();
    await store.close();
    throw error;
  }
}

/** `etcd://host:port[,host:port...]/prefix` as EtcdConfigStore options. */
export function parseStoreUrl(url: string): { endpoints: string[]; prefix?: string } {
  const match = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(url);
  const hosts = match?.[1]?.split(",") ?? [];
  if (!match || hosts.some((h) => !/^[^:,]+:\d+$/.test(h))) {
    throw optionError("xdskit serve", "store", "etcd://host:port[,host:port...]/prefix (e.g. etcd://127.0.0.1:2379/xdskit/)", url);
  }
  const path = match[2];
  return {
    endpoints: hosts.map((h) => `http://${h}`),
    ...(path && path !== "/" ? { prefix: path.endsWith("/") ? path : `${path}/` } : {}),
  };
}

/**
 * Node status for CSDS across replicas sharing etcd: the fleet's entries
 * (refreshed from etcd at most once a second, in the background) with this
 * replica's own nodes as they are now. `nodes()` is synchronous, as CSDS asks.
 */
class FleetCsdsSource {
  #fleet: NodeStatus[] = [];
  readonly #replicaOf = new Map<string, string>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly reader: FleetStatusReader,
    readonly local: NodeStatusTracker,
    readonly replicaId: string,
  ) {
    const refresh = () => {
      reader.nodes().then(
        (nodes) => {
          this.#replicaOf.clear();
          for (const n of nodes) this.#replicaOf.set(n.nodeId, n.replicaId);
          this.#fleet = nodes.map((n) => n.status as unknown as NodeStatus);
        },
        () => undefined, // etcd away: keep the last view
      );
    };
    refresh();
    this.#timer = setInterval(refresh, 1000);
    this.#timer.unref();
  }

  nodes(): NodeStatus[] {
    const local = this.local.nodes();
    const mine = new Set(local.map((n) => n.nodeId));
    return [...this.#fleet.filter((n) => !mine.has(n.nodeId)), ...local];
  }

  metadataOf(node: NodeStatus): Record<string, string> {
    const served = this.local.nodeStatus(node.nodeId) ? this.replicaId : this.#replicaOf.get(node.nodeId);
    return served === undefined ? {} : { "xdskit.replica": served };
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
