// Three `xdskit serve` replicas sharing one real etcd (--store etcd://…):
// writes through any replica reach all of them from the etcd watch, in
// revision order, and every replica serves identical snapshot versions;
// two operators writing the same group at once cannot lose an update (the
// second gets 409); while etcd is away every replica keeps serving its last
// good config, reports not-ready and refuses writes with 503, and resyncs
// when etcd returns. docs/scale-out.md.
import { type Serving, serve } from "@xdskit/cli";
import { TypeUrl } from "@xdskit/envoy-api";
import { EtcdTestServer, findEtcdBinary } from "@xdskit/store-etcd/testing";
import { FakeEnvoy } from "@xdskit/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

const skip = process.env.XDSKIT_SKIP_TOOLS === "1" && findEtcdBinary() === undefined;
let etcd: EtcdTestServer;
beforeAll(async () => {
  if (!skip) etcd = await EtcdTestServer.start();
});
afterAll(async () => {
  await etcd?.destroy();
});

const running: Serving[] = [];
const envoys: FakeEnvoy[] = [];
afterEach(async () => {
  await Promise.all(envoys.splice(0).map((e) => e.close()));
  await Promise.all(running.splice(0).map((r) => r.close()));
});

let nextPrefix = 0;
async function replicas(n: number): Promise<Serving[]> {
  const store = `etcd://${etcd.endpoint.replace("http://", "")}/replicas-${nextPrefix++}/`;
  const started = await Promise.all(
    Array.from({ length: n }, () => serve({ store, xdsAddress: "127.0.0.1:0", adminPort: 0, log: () => undefined })),
  );
  running.push(...started);
  return started;
}

async function admin(replica: Serving, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`http://127.0.0.1:${replica.adminPort}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const cluster = (name: string, timeout = "1s") => ({
  "@type": TypeUrl.Cluster,
  name,
  connect_timeout: timeout,
  type: "EDS",
  eds_cluster_config: { eds_config: { ads: {} } },
});
const endpoints = (name: string, ...ports: number[]) => ({
  "@type": TypeUrl.ClusterLoadAssignment,
  cluster_name: name,
  endpoints: [
    { lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: port } } } })) },
  ],
});

async function envoy(replica: Serving, id: string): Promise<FakeEnvoy> {
  const e = await FakeEnvoy.start({ address: `127.0.0.1:${replica.xdsPort}`, node: { id }, protocol: "delta", ads: true });
  envoys.push(e);
  return e;
}

/** Every replica's snapshot version and resources of `group` (they must be equal). */
const views = (all: Serving[], group: string) => all.map((r) => JSON.stringify(r.plane.dump(group) ?? null));

describe.skipIf(skip)("xdskit serve replicas sharing etcd", () => {
  it("writes through each replica converge on all three: identical versions and resources, served to proxies on every replica", async () => {
    const all = await replicas(3);
    const proxies = await Promise.all(all.map((r, i) => envoy(r, `front-${i}`)));
    // Replica i writes cluster c<i> (and its endpoints), each on top of what it has seen.
    for (const [i, r] of all.entries()) {
      await expect.poll(() => new Set(views(all, "front")).size).toBe(1);
      const result = await admin(r, "PATCH", "/v1/groups/front/resources", { resources: [cluster(`c${i}`), endpoints(`c${i}`, 8000 + i)] });
      expect(result.status).toBe(200);
      expect(result.body.version).toBe(i + 1);
    }
    await expect.poll(() => new Set(views(all, "front")).size, { timeout: 10_000 }).toBe(1);
    const dump = all[0]?.plane.dump("front");
    expect(dump?.version).toBe("files-1.api-3");
    expect(dump?.resources).toHaveLength(6);
    for (const proxy of proxies) {
      for (let i = 0; i < 3; i++) expect(await proxy.waitForEndpoints(`c${i}`, 1)).toEqual([`10.0.0.1:${8000 + i}`]);
    }
    // Each proxy, on its own replica, runs the same resource versions.
    const versionsOf = (p: FakeEnvoy) =>
      JSON.stringify([...p.resources(TypeUrl.Cluster).values()].map((r) => [r.name, r.version.split("/").pop()]));
    expect(new Set(proxies.map(versionsOf)).size).toBe(1);
    // The history (for rollback) is shared too.
    for (const r of all)
      expect((await admin(r, "GET", "/v1/groups/front/history")).body.versions.map((v: any) => v.version)).toEqual([3, 2, 1]);
  });

  it("two operators writing the same group at once through different replicas: one wins, the other gets 409 and nothing is lost", async () => {
    const [one, two, three] = await replicas(3);
    if (!one || !two || !three) throw new Error("three replicas");
    expect(await admin(one, "PUT", "/v1/groups/edge/resources", { resources: [cluster("api"), endpoints("api", 7000)] })).toMatchObject({
      status: 200,
    });
    await expect.poll(() => two.plane.apiResources("edge")?.version).toBe(1);
    const { body } = await admin(two, "GET", "/v1/groups/edge/resources");
    const ifMatch = { "if-match": String(body.revision) };
    const [a, b] = await Promise.all([
      admin(one, "PATCH", "/v1/groups/edge/resources", { resources: [cluster("api", "2s")] }, ifMatch),
      admin(two, "PATCH", "/v1/groups/edge/resources", { resources: [cluster("api", "3s")] }, ifMatch),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(loser.body.error).toMatch(/expected revision \d+ but the key is at revision \d+/);
    const winner = a.status === 200 ? "2s" : "3s";
    for (const r of [one, two, three]) {
      await expect.poll(() => JSON.stringify(r.plane.dump("edge")?.resources)).toContain(`"connect_timeout":"${winner}"`);
    }
    expect(new Set(views([one, two, three], "edge")).size).toBe(1);
  });

  it("etcd stopped: replicas keep serving the last good config, report not-ready and refuse writes with 503; etcd back: ready, writable, resynced", async () => {
    const [one, two] = await replicas(2);
    if (!one || !two) throw new Error("two replicas");
    await admin(one, "PUT", "/v1/groups/edge/resources", { resources: [cluster("api"), endpoints("api", 9000)] });
    const proxy = await envoy(two, "edge-1");
    expect(await proxy.waitForEndpoints("api", 1)).toEqual(["10.0.0.1:9000"]);
    expect((await admin(one, "GET", "/readyz")).status).toBe(200);

    await etcd.stop();
    for (const r of [one, two]) await expect.poll(async () => (await admin(r, "GET", "/readyz")).status, { timeout: 10_000 }).toBe(503);
    const refused = await admin(one, "PATCH", "/v1/groups/edge/resources", { resources: [endpoints("api", 9001)] });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatch(/config store is unreachable/);
    // The last good config keeps serving: a proxy that connects now gets it.
    const late = await envoy(one, "edge-2");
    expect(await late.waitForEndpoints("api", 1)).toEqual(["10.0.0.1:9000"]);

    await etcd.resume();
    for (const r of [one, two]) await expect.poll(async () => (await admin(r, "GET", "/readyz")).status, { timeout: 15_000 }).toBe(200);
    const accepted = await admin(one, "PATCH", "/v1/groups/edge/resources", { resources: [endpoints("api", 9001)] });
    expect(accepted.status).toBe(200);
    expect(
      await proxy
        .waitForEndpoints("api", 1, { timeoutMs: 10_000 })
        .then(() => proxy.waitFor((p) => p.endpointAddresses("api")[0] === "10.0.0.1:9001")),
    ).toBe(true);
    await late.waitFor((p) => p.endpointAddresses("api")[0] === "10.0.0.1:9001");
    expect(new Set(views([one, two], "edge")).size).toBe(1);
  });
});
