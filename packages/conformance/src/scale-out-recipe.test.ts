// The library recipe of docs/scale-out.md ("A ConfigStore under your own
// cache"): two SnapshotCaches in two "replicas" follow one etcd through
// EtcdConfigStore; a snapshot saved through either is served by both, with
// the same versions; a stale compare-and-set is refused. The page shows
// recipes/store-backed-cache.ts verbatim (checked here).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { digestOf } from "@xdskit/cache";
import { ErrorCode, TypeUrl } from "@xdskit/envoy-api";
import { EtcdConfigStore } from "@xdskit/store-etcd";
import { EtcdTestServer, findEtcdBinary } from "@xdskit/store-etcd/testing";
import { FakeEnvoy } from "@xdskit/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { followStore, saveSnapshot } from "./recipes/store-backed-cache.js";
import { ControlPlane } from "./support/control-plane.js";

const skip = process.env.XDSKIT_SKIP_TOOLS === "1" && findEtcdBinary() === undefined;
let etcd: EtcdTestServer;
beforeAll(async () => {
  if (!skip) etcd = await EtcdTestServer.start();
});
afterAll(async () => {
  await etcd?.destroy();
});

const cluster = (name: string, timeout: string) => ({ "@type": TypeUrl.Cluster, name, connect_timeout: timeout, type: "STATIC" });

it("docs/scale-out.md shows the recipe verbatim", () => {
  const root = new URL("../../../", import.meta.url);
  const docs = readFileSync(new URL("docs/scale-out.md", root), "utf8");
  const file = "packages/conformance/src/recipes/store-backed-cache.ts";
  const block = new RegExp(`<!-- file: ${file} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(docs);
  expect(block?.[1]).toBe(readFileSync(new URL(file, root), "utf8"));
});

it.skipIf(skip)("two SnapshotCaches following one etcd serve the same snapshots, with the same versions", async () => {
  const stores = await Promise.all([1, 2].map(() => EtcdConfigStore.connect({ endpoints: [etcd.endpoint], prefix: "/recipe/" })));
  await using one = await ControlPlane.start();
  await using two = await ControlPlane.start();
  const [s1, s2] = stores as [EtcdConfigStore, EtcdConfigStore];
  const stops = [await followStore(s1, one.cache), await followStore(s2, two.cache)];
  try {
    const first = await saveSnapshot(s1, "edge", { version: "1", resources: [cluster("a", "1s")] }, 0);
    await using a = await FakeEnvoy.start({ address: one.address, node: { id: "edge" }, protocol: "delta", ads: true });
    await using b = await FakeEnvoy.start({ address: two.address, node: { id: "edge" }, protocol: "delta", ads: false });
    for (const e of [a, b]) await e.waitForResource(TypeUrl.Cluster, "a");
    // Through the other replica, on top of revision `first`.
    await saveSnapshot(s2, "edge", { version: "2", resources: [cluster("a", "2s"), cluster("b", "1s")] }, first);
    for (const e of [a, b]) await e.waitForResource(TypeUrl.Cluster, "b");
    await expect(saveSnapshot(s1, "edge", { version: "3", resources: [] }, first)).rejects.toMatchObject({
      code: ErrorCode.STORE_CONFLICT,
    });
    const versions = (e: FakeEnvoy) => [...e.resources(TypeUrl.Cluster).values()].map((r) => [r.name, digestOf(r.version)]);
    expect(versions(a)).toEqual(versions(b));
    expect(one.cache.getSnapshot("edge")?.version).toBe("2");
    expect(two.cache.getSnapshot("edge")?.version).toBe("2");
  } finally {
    for (const stop of stops) stop();
    await Promise.all(stores.map((s) => s.close()));
  }
});

it.skipIf(skip)(
  "scripts/scale-out-local.mjs starts etcd and three replicas that converge, and stops them",
  async () => {
    const script = fileURLToPath(new URL("../../../scripts/scale-out-local.mjs", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [script, "--once", "--ports", "0"], { timeout: 25_000 });
    expect(stdout).toMatch(/replica {3}r3: xDS 127\.0\.0\.1:\d+/);
    expect(stdout).toContain("converged: every replica serves the same version");
  },
  30_000,
);
