// The status page in a real browser: Debian's headless Chromium driven by
// playwright-core, against the real `xdskit serve` with FakeEnvoys that ACK
// and NACK. Checks what a user sees: nodes by group, each type's versions and
// NACK reason, live updates without reloading, a group's config dump and the
// diff between two versions.
import { existsSync } from "node:fs";
import { TypeUrl } from "@xdskit/envoy-api";
import type { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edsCluster, endpointsOf } from "./internal/fixtures.test.js";
import { envoy, startServe } from "./internal/serve-process.test.js";

const cluster = edsCluster("api");
const endpoints = (...addresses: string[]) => endpointsOf("api", ...addresses);
const CHROMIUM = "/usr/bin/chromium";
const missing = !existsSync(CHROMIUM);
const skip = missing && process.env.XDSKIT_SKIP_TOOLS === "1";

let browser: Browser | undefined;
beforeAll(async () => {
  if (skip) return;
  if (missing)
    throw new Error(`the status-page test needs Chromium at ${CHROMIUM} (Debian package "chromium"; or set XDSKIT_SKIP_TOOLS=1 to skip)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
});
afterAll(async () => {
  await browser?.close();
});

describe("status page", () => {
  it.skipIf(skip)(
    "shows nodes by group with sent/ACKed/NACKed versions and reasons, updates live, dumps a group's config and diffs two versions",
    async () => {
      const serve = await startServe(["--admin-token", "s3cret"]);
      const auth = { authorization: "Bearer s3cret" };
      expect((await serve.admin("PUT", "/v1/groups/edge/resources", { resources: [cluster, endpoints("10.1.0.1")] }, auth)).status).toBe(
        200,
      );
      const good = await envoy(serve.xdsPort, "edge-1");
      // edge-2 refuses three endpoints for "api".
      const three = (m: unknown) => (m as ClusterLoadAssignment).endpoints?.[0]?.lbEndpoints?.length === 3;
      const picky = await envoy(serve.xdsPort, "edge-2", {
        nackRules: [{ typeUrl: TypeUrl.ClusterLoadAssignment, predicate: three, message: "three is a crowd" }],
      });
      await good.waitForEndpoints("api", 1);
      await picky.waitForEndpoints("api", 1);

      const page = await (browser as Browser).newPage();
      await page.goto(`${serve.adminUrl}/#token=s3cret`);
      expect(page.url()).toBe(`${serve.adminUrl}/ui/`); // redirected, and the token left the address bar
      await expect.poll(() => page.locator("#live").textContent()).toBe("live");

      const row = (node: string, type: string) => page.locator(`section[data-group="edge"] tr[data-node="${node}"][data-type="${type}"]`);
      await expect.poll(() => row("edge-1", "ClusterLoadAssignment").locator("td.acked").textContent()).toMatch(/^files-1\.api-1~/);
      expect(await page.locator('section[data-group="edge"] h2 .served').textContent()).toBe("serves files-1.api-1");
      expect(await row("edge-2", "Cluster").locator("td.sent").textContent()).toMatch(/^files-1\.api-1~/);

      // A change edge-1 takes and edge-2 NACKs: the page follows without a reload.
      expect(
        (await serve.admin("PATCH", "/v1/groups/edge/resources", { resources: [endpoints("10.1.0.1", "10.1.0.2", "10.1.0.3")] }, auth))
          .status,
      ).toBe(200);
      await picky.waitForNack({ resourceName: "api" });
      await expect
        .poll(() => row("edge-2", "ClusterLoadAssignment").locator("td.nacked").textContent())
        .toMatch(/^files-1\.api-2~\S+: Error adding\/updating cluster load assignment\(s\) api: api: three is a crowd$/);
      expect(await row("edge-2", "ClusterLoadAssignment").getAttribute("class")).toBe("nacking");
      expect(await row("edge-2", "ClusterLoadAssignment").locator("td.acked").textContent()).toMatch(/^files-1\.api-1~/);
      await expect.poll(() => row("edge-1", "ClusterLoadAssignment").locator("td.acked").textContent()).toMatch(/^files-1\.api-2~/);
      expect(await row("edge-1", "ClusterLoadAssignment").getAttribute("class")).toBeNull();
      expect(await page.locator('section[data-group="edge"] h2 .served').textContent()).toBe("serves files-1.api-2");

      // Config dump of the group.
      await page.selectOption("#dump-group", "edge");
      await page.click("#dump-show");
      await expect.poll(() => page.locator("#dump").textContent()).toContain('"address": "10.1.0.3"');
      const dump = JSON.parse((await page.locator("#dump").textContent()) as string);
      expect(dump).toMatchObject({ group: "edge", version: "files-1.api-2" });
      expect(dump.resources.map((r: { "@type": string }) => r["@type"]).sort()).toEqual([TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment]);

      // Diff between versions 1 and 2 (the defaults: the previous and the current).
      await expect.poll(() => page.locator("#diff-from option").count()).toBe(2);
      await page.click("#diff-show");
      const entry = page.locator('#diff .diff-entry[data-resource="ClusterLoadAssignment/api"][data-kind="changed"]');
      await expect.poll(() => page.locator("#diff").innerHTML()).toContain("diff-entry");
      await expect.poll(() => entry.count()).toBe(1);
      expect(await page.locator("#diff > p").textContent()).toBe("v1 → v2: 0 added, 1 changed, 0 removed");
      const added = await entry.locator("span.add").allTextContents();
      expect(added.join("")).toContain('"address": "10.1.0.3"');
      expect(added.join("")).not.toContain("10.1.0.1");
      expect(await entry.locator("span.del").count()).toBe(0); // two endpoints were added; the first one is context
      expect(await entry.locator("pre").textContent()).toContain('    "address": "10.1.0.1"');
      expect(await page.locator('#diff .diff-entry[data-resource="Cluster/api"]').count()).toBe(0);

      // A canary shows on its group, with its outcome.
      const started = await serve.admin(
        "POST",
        "/v1/groups/edge/canary?wait=1",
        { percentage: 100, endpoints: [endpoints("10.1.0.4")] },
        auth,
      );
      expect(started.body.state).toBe("promoted");
      await expect.poll(() => page.locator('section[data-group="edge"] .canary').getAttribute("data-state")).toBe("promoted");
      expect(await page.locator('section[data-group="edge"] .canary').textContent()).toMatch(
        /^canary #1 promoted: files-1\.api-3\.canary-1; selected edge-\d, edge-\d/,
      );
      // While one runs, its nodes carry a badge; rolled back by hand, the badge goes.
      good.pauseReading();
      const running = await serve.admin("POST", "/v1/groups/edge/canary", { percentage: 100, endpoints: [endpoints("10.1.0.5")] }, auth);
      expect(running.status).toBe(202);
      const canaryLine = page.locator('section[data-group="edge"] .canary');
      await expect.poll(() => canaryLine.getAttribute("data-state")).toBe("running");
      expect(await page.locator('section[data-group="edge"] tr[data-node="edge-1"] .badge').allTextContents()).toEqual(["canary"]);
      expect(await page.locator('section[data-group="edge"] tr[data-node="edge-2"] .badge').allTextContents()).toEqual(["canary"]);
      expect((await serve.admin("DELETE", "/v1/groups/edge/canary", undefined, auth)).body.state).toBe("rolled-back");
      good.resumeReading();
      await expect.poll(() => canaryLine.getAttribute("data-state")).toBe("rolled-back");
      expect(await canaryLine.textContent()).toMatch(/^canary #2 rolled-back: .*\(aborted through the admin API\)$/);
      expect(await page.locator('section[data-group="edge"] .badge').count()).toBe(0);
      await page.close();
    },
  );

  it.skipIf(skip)("asks for the token when the address has none, and the page itself holds no data", async () => {
    const serve = await startServe(["--admin-token", "s3cret"]);
    const response = await fetch(`${serve.adminUrl}/ui/`);
    expect(await response.text()).toContain("<title>xdskit serve: status</title>");
    // Only the page's own script runs (by hash), and it talks only to its origin.
    expect(response.headers.get("content-security-policy")).toMatch(
      /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*'; .*connect-src 'self'/,
    );
    const blocked: string[] = [];
    const page = await (browser as Browser).newPage();
    page.on("console", (m) => m.type() === "error" && blocked.push(m.text()));
    await page.goto(`${serve.adminUrl}/ui/`);
    await expect.poll(() => page.locator("#auth").isVisible()).toBe(true);
    expect(await page.locator("#live").textContent()).toBe("token needed");
    await page.fill("#token", "s3cret");
    await page.click("#auth button");
    await expect.poll(() => page.locator("#live").textContent()).toBe("live");
    expect(await page.locator("#groups").textContent()).toContain("No groups and no nodes yet.");
    // The policy lets the page work (its script ran, its fetches went through) and blocks what it does not allow.
    expect(blocked.filter((m) => !m.includes("401"))).toEqual([]);
    expect(await page.locator("script").count()).toBe(1);
    await page.close();
  });
});
