// `xdskit status` and `xdskit get` against a running serve's admin API (with
// a token), and the admin port's /metrics: the real binary, FakeEnvoys that
// ACK and NACK.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { staticCluster as cluster } from "./internal/fixtures.test.js";
import { envoy, runXdskit, startServe, tempDir } from "./internal/serve-process.test.js";

describe("xdskit status, get and /metrics against a running serve", () => {
  it("status shows sent, ACKed and NACKed versions with the reason; get prints groups and a group's config; both need the token", async () => {
    const serve = await startServe(["--admin-token", "t0k"]);
    const auth = { authorization: "Bearer t0k" };
    expect((await serve.admin("PUT", "/v1/groups/shop/resources", { resources: [cluster("a")] }, auth)).status).toBe(200);
    const good = await envoy(serve.xdsPort, "shop-1");
    // shop-2 rejects cluster "b" when it arrives.
    const picky = await envoy(serve.xdsPort, "shop-2", { nackRules: [{ typeUrl: TypeUrl.Cluster, name: "b", message: "no thanks" }] });
    await good.waitForResource(TypeUrl.Cluster, "a");
    await picky.waitForResource(TypeUrl.Cluster, "a");
    const admin = ["--admin", serve.adminUrl, "--token", "t0k"];

    const synced = await runXdskit(["status", ...admin]);
    expect(synced.code).toBe(0);
    expect(synced.stdout).toMatch(
      /^shop-1 {2}group shop {2}1 stream\(s\)\n {2}Cluster +sent files-1\.api-1~\S+ {2}acked files-1\.api-1~\S+\n/,
    );

    expect((await serve.admin("PATCH", "/v1/groups/shop/resources", { resources: [cluster("b")] }, auth)).status).toBe(200);
    await good.waitForResource(TypeUrl.Cluster, "b");
    await picky.waitForNack({ resourceName: "b" });
    const nacking = await runXdskit(["status", ...admin, "--group", "shop"]);
    expect(nacking.code).toBe(2);
    expect(nacking.stdout).toMatch(
      /shop-2 {2}group shop {2}1 stream\(s\) {2}NACKING\n {2}Cluster +sent files-1\.api-2~\S+ {2}acked files-1\.api-1~\S+ {2}NACKED files-1\.api-2~\S+: Error adding\/updating cluster\(s\) b: b: no thanks/,
    );
    const json = JSON.parse((await runXdskit(["status", ...admin, "--json"])).stdout);
    expect(json.nodes.map((n: { nodeId: string }) => n.nodeId).sort()).toEqual(["shop-1", "shop-2"]);

    const groups = await runXdskit(["get", ...admin, "-o", "json"]);
    expect(JSON.parse(groups.stdout)).toEqual({ groups: [{ group: "shop", version: "files-1.api-2" }] });
    const yaml = await runXdskit(["get", "shop", ...admin]);
    expect(yaml.stdout).toMatch(
      /^# version files-1\.api-2\ngroup: shop\nresources:\n {2}- "@type": type\.googleapis\.com\/envoy\.config\.cluster\.v3\.Cluster\n {4}name: a\n/,
    );
    // What get prints is a config document: validate reads it back.
    const dir = tempDir();
    writeFileSync(join(dir, "shop.yaml"), yaml.stdout);
    expect((await runXdskit(["validate", dir])).stdout).toMatch(/^ok: 1 file\(s\), 1 group\(s\), 2 resource\(s\)/);
    const history = JSON.parse((await runXdskit(["get", "shop", "--history", "-o", "json", ...admin])).stdout);
    expect(history.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);

    const noToken = await runXdskit(["status", "--admin", serve.adminUrl], { XDSKIT_ADMIN_TOKEN: "" });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain("401 missing or wrong bearer token");
    expect(noToken.stderr).toContain("pass --token or set XDSKIT_ADMIN_TOKEN");
    const viaEnv = await runXdskit(["get", "nope"], { XDSKIT_ADMIN: serve.adminUrl, XDSKIT_ADMIN_TOKEN: "t0k" });
    expect(viaEnv).toMatchObject({ code: 1, stderr: "xdskit: GET /v1/groups/nope: 404 no config for group nope\n" });
    const unreachable = await runXdskit(["status", "--admin", "http://127.0.0.1:1"]);
    expect(unreachable.stderr).toMatch(/cannot reach the admin API at http:\/\/127\.0\.0\.1:1 .*is xdskit serve running/);

    const metrics = await fetch(`${serve.adminUrl}/metrics`, { headers: auth });
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/^xdskit_nacks_total\{type="type\.googleapis\.com\/envoy\.config\.cluster\.v3\.Cluster"\} 1$/m);
    expect(text).toMatch(/^xdskit_nodes\{group="shop",state="nacked"\} 1$/m);
    expect(text).toMatch(/^xdskit_snapshot_info\{group="shop",version="files-1\.api-2"\} 1$/m);
    expect((await fetch(`${serve.adminUrl}/metrics`)).status).toBe(401);
    // About a dozen CLI processes, each loading the packages: on a busy machine this passes 30 s.
  }, 90_000);
});
