// The `xdskit` commands besides serve itself, run as a user runs them: the
// real binary; validate with both profiles; status and get against a running
// serve's admin API (with a token); /metrics; --help of every command.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { envoy, runXdskit, startServe, tempDir } from "./internal/serve-process.test.js";

// Valid for Envoy; gRPC clients NACK lb_policy RANDOM (gRFC A42/A48 allow ROUND_ROBIN, RING_HASH, LEAST_REQUEST).
const RANDOM_LB = `
group: mesh
clusters:
  - name: web
    connect_timeout: 1s
    lb_policy: RANDOM
    type: EDS
    eds_cluster_config: { eds_config: { ads: {} } }
endpoints:
  - cluster_name: web
    endpoints:
      - locality: { zone: a }
        load_balancing_weight: 1
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: 10.0.0.1, port_value: 8080 } } } }]
`;

const cluster = (name: string) => ({
  "@type": TypeUrl.Cluster,
  name,
  connect_timeout: "1s",
  type: "STATIC",
  load_assignment: {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.3.0.1", port_value: 80 } } } }] }],
  },
});

describe("xdskit validate", () => {
  it("checks with the Envoy profile by default and the gRPC profile on request; exit code and one line per problem", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "mesh.yaml"), RANDOM_LB);
    const envoyProfile = await runXdskit(["validate", dir]);
    expect(envoyProfile).toMatchObject({ code: 0 });
    expect(envoyProfile.stdout).toBe("ok: 1 file(s), 1 group(s), 2 resource(s), 0 problem(s) (profile envoy)\n");

    const grpc = await runXdskit(["validate", dir, "--profile", "grpc"]);
    expect(grpc.code).toBe(1);
    const lines = grpc.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^group mesh Cluster "web" lb_policy: must be ROUND_ROBIN/);
    expect(lines.at(-1)).toBe("invalid: 1 file(s), 1 group(s), 2 resource(s), 1 problem(s) (profile grpc)");

    const unknown = await runXdskit(["validate", dir, "--profile", "istio"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/--profile.*istio.*envoy, grpc/);
  });

  it("reports a dangling reference of a group's merged config, by group", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "a.yaml"),
      "group: g\nclusters:\n  - { name: c, connect_timeout: 1s, type: EDS, eds_cluster_config: { eds_config: { ads: {} } } }\n",
    );
    const result = await runXdskit(["validate", dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'group g Cluster "c" name: references endpoints "c" (ClusterLoadAssignment), which is not in the snapshot',
    );
  });
});

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
  });

  it("logs a startup summary with ports, groups, resource counts and the state directory", async () => {
    const state = tempDir();
    const config = tempDir();
    writeFileSync(join(config, "mesh.yaml"), RANDOM_LB);
    const serve = await startServe(["--config", config, "--state-dir", state]);
    expect(serve.summary).toMatchObject({
      level: "info",
      xdsPort: serve.xdsPort,
      adminPort: serve.adminPort,
      adminHost: "127.0.0.1",
      adminToken: false,
      tls: false,
      groupBy: "prefix",
      profile: "envoy",
      config,
      stateDir: state,
      groups: { mesh: { Cluster: 1, ClusterLoadAssignment: 1 } },
      resources: 2,
    });
    // The same config under the gRPC profile is refused at startup, with the reason.
    await expect(startServe(["--config", config, "--profile", "grpc"])).rejects.toThrow(/lb_policy: must be ROUND_ROBIN/);
  });
});

describe("--help", () => {
  it("every command has help with examples", async () => {
    const commands = [[], ["serve"], ["validate"], ["status"], ["get"]];
    const helps = await Promise.all(commands.map((command) => runXdskit([...command, "--help"])));
    helps.forEach((help, i) => {
      expect(help.code, commands[i]?.join(" ")).toBe(0);
      expect(help.stdout, commands[i]?.join(" ")).toMatch(/\nExamples:\n {2}xdskit /);
    });
  });
});

describe("docs/serve.md", () => {
  it("documents every flag of every command", async () => {
    const doc = readFileSync(new URL("../../../docs/serve.md", import.meta.url), "utf8");
    const commands = ["serve", "validate", "status", "get"];
    const helps = await Promise.all(commands.map((command) => runXdskit([command, "--help"])));
    const missing: string[] = [];
    helps.forEach((help, i) => {
      for (const [flag] of help.stdout.matchAll(/--[a-z][a-z-]+/g))
        if (flag !== "--help" && !doc.includes(flag)) missing.push(`${commands[i]} ${flag}`);
    });
    expect(missing).toEqual([]);
  });
});
