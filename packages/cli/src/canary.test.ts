// Config canaries end to end: the real `xdskit serve`, FakeEnvoys as the
// group's proxies, the admin API over HTTP. The canary's subset is a derived
// node group; these tests check what each proxy runs while it runs, after
// promotion, and after an automatic rollback on NACK or timeout.
import { TypeUrl } from "@xdskit/envoy-api";
import type { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { describe, expect, it } from "vitest";
import { canaryScore } from "./canary.js";
import { edsCluster, endpointsOf } from "./internal/fixtures.test.js";
import { envoy, type Running, startServe } from "./internal/serve-process.test.js";

const cluster = edsCluster("api");
const endpoints = (...addresses: string[]) => endpointsOf("api", ...addresses);

async function edge(serve: Running): Promise<void> {
  const put = await serve.admin("PUT", "/v1/groups/edge/resources", { resources: [cluster, endpoints("10.1.0.1")] });
  expect(put.status).toBe(200);
}

describe("config canary", () => {
  it("selector: only the selected nodes get the change while it runs; promoted to the group once they ACK", async () => {
    const serve = await startServe([]);
    await edge(serve);
    const picked = await envoy(serve.xdsPort, "edge-1", { node: { id: "edge-1", metadata: { canary: "true" } }, protocol: "delta" });
    const slow = await envoy(serve.xdsPort, "edge-2", { node: { id: "edge-2", metadata: { canary: true } } });
    const other = await envoy(serve.xdsPort, "edge-3");
    for (const e of [picked, slow, other]) await e.waitForEndpoints("api", 1);
    slow.pauseReading(); // it will not ACK until resumed: the canary stays running

    const started = await serve.admin("POST", "/v1/groups/edge/canary", {
      selector: { canary: "true" },
      endpoints: [endpoints("10.1.0.1", "10.1.0.2")],
    });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({
      group: "edge",
      canaryGroup: "edge~canary",
      state: "running",
      version: "files-1.api-2.canary-1",
      selector: { canary: "true" },
      diff: { added: [], changed: ["ClusterLoadAssignment/api"], removed: [] },
    });
    expect([...started.body.selected].sort()).toEqual(["edge-1", "edge-2"]);

    expect(await picked.waitForEndpoints("api", 2)).toEqual(["10.1.0.1:8080", "10.1.0.2:8080"]);
    await expect.poll(async () => (await serve.admin("GET", "/v1/groups/edge/canary")).body.acked).toEqual(["edge-1"]);
    const running = (await serve.admin("GET", "/v1/groups/edge/canary")).body;
    expect(running).toMatchObject({ state: "running", pending: ["edge-2"], nacked: [] });
    expect(other.endpointAddresses("api")).toEqual(["10.1.0.1:8080"]);
    // The group's own config changes only through the canary meanwhile.
    const write = await serve.admin("PATCH", "/v1/groups/edge/resources", { resources: [endpoints("10.9.9.9")] });
    expect(write.status).toBe(409);
    expect(write.body.error).toMatch(/canary running.*DELETE \/v1\/groups\/edge\/canary/);
    expect((await serve.admin("POST", "/v1/groups/edge/canary", { percentage: 50, endpoints: [endpoints("10.0.0.0")] })).status).toBe(409);

    slow.resumeReading();
    const ended = await serve.admin("GET", "/v1/groups/edge/canary?wait=1");
    expect(ended.body).toMatchObject({ state: "promoted", promotedVersion: 2, reason: "every selected node ACKed (2)" });
    expect(await other.waitForEndpoints("api", 2)).toEqual(["10.1.0.1:8080", "10.1.0.2:8080"]);
    expect(await slow.waitForEndpoints("api", 2)).toHaveLength(2);
    expect((await serve.admin("GET", "/v1/groups/edge/history")).body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect((await serve.admin("GET", "/v1/groups")).body.groups).toEqual([{ group: "edge", version: "files-1.api-2" }]);
    // Only the selected nodes ever saw the canary version.
    expect(other.history.some((r) => r.version.includes("canary"))).toBe(false);
    expect(picked.history.some((r) => r.version.startsWith("files-1.api-2.canary-1"))).toBe(true);
    expect(serve.logs.map((l) => l.msg)).toEqual(
      expect.arrayContaining(["canary started", "canary promoted: every selected node ACKed (2)"]),
    );
  });

  it("percentage: nodes chosen by hashing their ids; a NACK rolls the canary back at once and the group keeps its config", async () => {
    const serve = await startServe([]);
    await edge(serve);
    const ids = Array.from({ length: 6 }, (_, i) => `edge-${i}`);
    const inCanary = ids.filter((id) => canaryScore("edge", id) < 50);
    expect(inCanary.length).toBeGreaterThan(0); // the fixture needs both kinds of node
    expect(inCanary.length).toBeLessThan(ids.length);
    // Every node rejects two endpoints for "api" (only canary nodes will be offered them).
    const twoEndpoints = (m: unknown) => (m as ClusterLoadAssignment).endpoints?.[0]?.lbEndpoints?.length === 2;
    const envoys = await Promise.all(
      ids.map((id) =>
        envoy(serve.xdsPort, id, { nackRules: [{ typeUrl: TypeUrl.ClusterLoadAssignment, predicate: twoEndpoints, message: "too many" }] }),
      ),
    );
    for (const e of envoys) await e.waitForEndpoints("api", 1);

    const ended = await serve.admin("POST", "/v1/groups/edge/canary?wait=1", {
      percentage: 50,
      endpoints: [endpoints("10.1.0.1", "10.1.0.2")],
    });
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ state: "rolled-back", percentage: 50 });
    expect([...ended.body.selected].sort()).toEqual(inCanary);
    expect(ended.body.reason).toMatch(/^NACK from edge-\d for ClusterLoadAssignment: .*too many/);
    expect(inCanary).toContain(ended.body.nacked[0].nodeId);

    // Nothing was committed; the canary group is gone; every node runs the group's config.
    expect((await serve.admin("GET", "/v1/groups/edge/history")).body.versions.map((v: { version: number }) => v.version)).toEqual([1]);
    expect((await serve.admin("GET", "/v1/groups")).body.groups).toEqual([{ group: "edge", version: "files-1.api-1" }]);
    for (const e of envoys) expect(e.endpointAddresses("api")).toEqual(["10.1.0.1:8080"]);
    for (const [i, e] of envoys.entries())
      expect(
        e.history.some((r) => r.version.includes("canary")),
        ids[i],
      ).toBe(inCanary.includes(ids[i] as string));
    // The group takes changes again.
    expect((await serve.admin("PATCH", "/v1/groups/edge/resources", { resources: [endpoints("10.1.0.3")] })).body.version).toBe(2);
    for (const e of envoys) await expect.poll(() => e.endpointAddresses("api")).toEqual(["10.1.0.3:8080"]);
  });

  it("times out (rolled back) when the subset does not ACK; can be rolled back by hand; refuses bad requests with the reason", async () => {
    const serve = await startServe([]);
    await edge(serve);
    const stuck = await envoy(serve.xdsPort, "edge-1", { node: { id: "edge-1", metadata: { ring: { name: "zero" } } } });
    await stuck.waitForEndpoints("api", 1);
    stuck.pauseReading();
    const timedOut = await serve.admin("POST", "/v1/groups/edge/canary?wait=1", {
      selector: { "ring.name": "zero" },
      timeoutMs: 300,
      endpoints: [endpoints("10.1.0.2")],
    });
    expect(timedOut.body).toMatchObject({
      state: "rolled-back",
      pending: ["edge-1"],
      reason: "timeout: not every selected node ACKed within 300 ms",
    });
    stuck.resumeReading();
    await expect.poll(() => stuck.endpointAddresses("api")).toEqual(["10.1.0.1:8080"]);

    // Paused before the canary starts: a node that read and ACKed it at once would end the
    // canary (promoted) before the abort below, a race a fast server can win.
    stuck.pauseReading();
    const started = await serve.admin("POST", "/v1/groups/edge/canary", {
      selector: { "ring.name": "zero" },
      endpoints: [endpoints("10.1.0.4")],
    });
    expect(started.status).toBe(202);
    const aborted = await serve.admin("DELETE", "/v1/groups/edge/canary");
    expect(aborted.body).toMatchObject({ state: "rolled-back", reason: "aborted through the admin API" });
    stuck.resumeReading();
    await expect.poll(() => stuck.endpointAddresses("api")).toEqual(["10.1.0.1:8080"]);
    expect((await serve.admin("DELETE", "/v1/groups/edge/canary")).status).toBe(409);

    const refusals = await Promise.all([
      serve.admin("POST", "/v1/groups/edge/canary", { endpoints: [endpoints("10.1.0.5")] }),
      serve.admin("POST", "/v1/groups/edge/canary", { percentage: 0, endpoints: [endpoints("10.1.0.5")] }),
      serve.admin("POST", "/v1/groups/edge/canary", { selector: { ring: { name: "zero" } }, endpoints: [endpoints("10.1.0.5")] }),
      serve.admin("POST", "/v1/groups/edge/canary", { percentage: 100, endpoints: [endpoints("10.1.0.1")] }),
      serve.admin("POST", "/v1/groups/edge/canary", { percentage: 100, clusters: [{ name: "api", connect_timeout: "soon" }] }),
      serve.admin("POST", "/v1/groups/edge/canary", { selector: { ring: "one" }, endpoints: [endpoints("10.1.0.5")] }),
      serve.admin("POST", "/v1/groups/edge/canary", { percent: 10, endpoints: [endpoints("10.1.0.5")] }),
    ]);
    expect(refusals.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 409, 400]);
    expect(refusals[0]?.body.error).toMatch(/needs "percentage".*or "selector"/);
    expect(refusals[1]?.body.error).toMatch(/"percentage" must be a number above 0 and at most 100; got 0/);
    expect(refusals[2]?.body.error).toMatch(/"selector.ring" must be a string, number or boolean/);
    expect(refusals[3]?.body.error).toBe("the canary changes nothing in group edge");
    expect(refusals[4]?.body.violations[0]).toMatchObject({ resource: "api", path: "resources[0].connect_timeout" });
    expect(refusals[6]?.body.error).toMatch(/^unknown key\(s\) "percent"; expected .*percentage, selector, timeoutMs/);
    expect(refusals[5]?.body.error).toBe(
      'no connected node of group edge is selected (1 connected); raise "percentage", change "selector", or change the group directly',
    );
  });
});
