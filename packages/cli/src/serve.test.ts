// `xdskit serve` end to end: the real binary on real ports, FakeEnvoy as the
// proxy, the admin API over HTTP, files edited on disk, restarts and kill -9.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { endpointsOf as endpoints, FRONT_AND_BACK } from "./internal/fixtures.test.js";
import { bin, envoy, startServe, tempDir } from "./internal/serve-process.test.js";

describe("xdskit serve", () => {
  it("serves a directory of Envoy YAML by node-id prefix, over SotW ADS and delta per-type streams", async () => {
    const config = tempDir();
    writeFileSync(join(config, "front.yaml"), FRONT_AND_BACK);
    const serve = await startServe(["--config", config]);
    expect(serve.logs.at(-1)).toMatchObject({
      groups: { front: { Cluster: 1, ClusterLoadAssignment: 1 }, back: { Cluster: 1 } },
      groupBy: "prefix",
    });

    const front = await envoy(serve.xdsPort, "front-1");
    expect(await front.waitForEndpoints("web", 1)).toEqual(["10.0.0.1:8080"]);
    const back = await envoy(serve.xdsPort, "back-7", { protocol: "delta", ads: false });
    await back.waitForResource(TypeUrl.Cluster, "db");
    expect([...back.clusters.keys()]).toEqual(["db"]);
  });

  it("reloads edited files; a bad file is refused with file, resource and field while the last good config serves", async () => {
    const config = tempDir();
    writeFileSync(join(config, "front.yaml"), FRONT_AND_BACK);
    const serve = await startServe(["--config", config]);
    const front = await envoy(serve.xdsPort, "front-1");
    await front.waitForEndpoints("web", 1);

    writeFileSync(
      join(config, "front.yaml"),
      FRONT_AND_BACK.replace(
        "port_value: 8080 } } }",
        "port_value: 8080 } } }\n          - endpoint: { address: { socket_address: { address: 10.0.0.2, port_value: 8080 } } }",
      ),
    );
    expect(await front.waitForEndpoints("web", 2)).toEqual(["10.0.0.1:8080", "10.0.0.2:8080"]);

    writeFileSync(join(config, "front.yaml"), FRONT_AND_BACK.replace("connect_timeout: 1s", "connect_timeout: -1s"));
    await expect.poll(() => serve.logs.find((l) => String(l.msg).startsWith("config refused"))).toBeTruthy();
    const refused = serve.logs.find((l) => String(l.msg).startsWith("config refused")) as Record<string, unknown>;
    expect(refused).toMatchObject({ resource: "web", typeUrl: TypeUrl.Cluster });
    expect(String(refused.msg)).toMatch(/Cluster "web" connect_timeout/);
    expect(front.endpointAddresses("web")).toEqual(["10.0.0.1:8080", "10.0.0.2:8080"]);
    expect(front.nacks).toEqual([]);
  });

  it("admin API: put (sxds path), dry run with a diff, 400 with every violation, history and rollback", async () => {
    const serve = await startServe([]);
    const edge = await envoy(serve.xdsPort, "edge-1");

    const first = await serve.admin("PUT", "/resources/edge", {
      clusters: [{ name: "api", connect_timeout: "1s", type: "EDS", eds_cluster_config: { eds_config: { ads: {} } } }],
      endpoints: [
        {
          cluster_name: "api",
          endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.1.0.1", port_value: 8080 } } } }] }],
        },
      ],
    });
    expect(first).toMatchObject({ status: 200, body: { version: 1, added: ["Cluster/api", "ClusterLoadAssignment/api"] } });
    expect(await edge.waitForEndpoints("api", 1)).toEqual(["10.1.0.1:8080"]);

    const dry = await serve.admin("PATCH", "/v1/groups/edge/resources?dryRun=1", { resources: [endpoints("api", "10.1.0.1", "10.1.0.2")] });
    expect(dry).toEqual({ status: 200, body: { added: [], changed: ["ClusterLoadAssignment/api"], removed: [] } });
    expect(edge.endpointAddresses("api")).toEqual(["10.1.0.1:8080"]);

    const bad = await serve.admin("PATCH", "/v1/groups/edge/resources", {
      resources: [
        { "@type": TypeUrl.Cluster, name: "x", connect_timeout: "1s", type: "EDS" },
        { "@type": TypeUrl.Cluster, name: "y", connect_timeout: "oops" },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.violations.length).toBeGreaterThanOrEqual(1);
    expect(bad.body.violations[0]).toMatchObject({ resource: "y", path: "resources[1].connect_timeout" });
    // A typo is refused, not taken as an empty change; a config document for another group too.
    const typo = await serve.admin("PATCH", "/v1/groups/edge/resources", { endpoint: [endpoints("api", "10.1.0.9")] });
    expect(typo).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^unknown key\(s\) "endpoint"; expected resources, group, listeners, clusters/) },
    });
    const elsewhere = await serve.admin("PUT", "/v1/groups/edge/resources", { group: "back", resources: [] });
    expect(elsewhere.body.error).toBe('the body is for group "back", the path for group "edge"');

    expect(
      (await serve.admin("PATCH", "/v1/groups/edge/resources", { resources: [endpoints("api", "10.1.0.1", "10.1.0.2")] })).body.version,
    ).toBe(2);
    expect(await edge.waitForEndpoints("api", 2)).toHaveLength(2);
    expect((await serve.admin("GET", "/v1/groups/edge/history")).body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);

    const back = await serve.admin("POST", "/v1/groups/edge/rollback", { version: 1 });
    expect(back.body).toMatchObject({ version: 3, changed: ["ClusterLoadAssignment/api"] });
    expect(await edge.waitForEndpoints("api", 1)).toEqual(["10.1.0.1:8080"]);

    const dump = await serve.admin("GET", "/v1/groups/edge");
    expect(dump.body.resources.map((r: { "@type": string }) => r["@type"]).sort()).toEqual([
      TypeUrl.Cluster,
      TypeUrl.ClusterLoadAssignment,
    ]);
    const status = await serve.admin("GET", "/v1/status");
    expect(status.body.nodes.map((n: { nodeId: string }) => n.nodeId ?? (n as any).id)).toContain("edge-1");
    // Deleting the endpoints alone would leave the cluster pointing at nothing: refused, by reference.
    const dangling = await serve.admin("DELETE", "/v1/groups/edge/resources/endpoints/api");
    expect(dangling.status).toBe(400);
    expect(dangling.body.violations[0].text).toBe(
      'Cluster "api" name: references endpoints "api" (ClusterLoadAssignment), which is not in the snapshot',
    );
    const removed = await serve.admin("PATCH", "/v1/groups/edge/resources", {
      remove: [
        { type: "endpoints", name: "api" },
        { type: "clusters", name: "api" },
      ],
    });
    expect(removed.body).toMatchObject({ removed: ["Cluster/api", "ClusterLoadAssignment/api"], version: 4 });
    await edge.waitForAbsent(TypeUrl.Cluster, "api");
  });

  it("state survives kill -9 and restart; a second serve on the same state directory is refused", async () => {
    const state = tempDir();
    const first = await startServe(["--state-dir", state]);
    const cluster = {
      "@type": TypeUrl.Cluster,
      name: "api",
      connect_timeout: "1s",
      type: "EDS",
      eds_cluster_config: { eds_config: { ads: {} } },
    };
    expect((await first.admin("PUT", "/v1/groups/edge/resources", { resources: [cluster, endpoints("api", "10.2.0.1")] })).status).toBe(
      200,
    );

    const second = spawn(process.execPath, [bin, "serve", "--state-dir", state, "--xds", "127.0.0.1:0", "--admin-port", "0"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    second.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    expect(await new Promise((resolve) => second.once("exit", resolve))).toBe(1);
    expect(err).toContain(`in use by process ${first.child.pid}`);

    first.child.kill("SIGKILL");
    await first.exited;
    const again = await startServe(["--state-dir", state]);
    const edge = await envoy(again.xdsPort, "edge-1");
    expect(await edge.waitForEndpoints("api", 1)).toEqual(["10.2.0.1:8080"]);
    expect((await again.admin("GET", "/v1/groups/edge/resources")).body).toMatchObject({ version: 1 });
  });

  it("refuses to bind the admin API beyond loopback without a token; with one, requests need it", async () => {
    const refused = spawn(process.execPath, [bin, "serve", "--admin-host", "0.0.0.0", "--xds", "127.0.0.1:0", "--admin-port", "0"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    refused.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    expect(await new Promise((resolve) => refused.once("exit", resolve))).toBe(1);
    expect(err).toMatch(/admin-host.*--admin-token/);

    const serve = await startServe(["--admin-token", "s3cret"]);
    expect((await serve.admin("GET", "/v1/groups")).status).toBe(401);
    const ok = await fetch(`http://127.0.0.1:${serve.adminPort}/v1/groups`, { headers: { authorization: "Bearer s3cret" } });
    expect(ok.status).toBe(200);
    expect((await serve.admin("GET", "/healthz")).status).toBe(200);
  });
});
