// The status page of one replica shows every replica's proxies (a shared etcd
// store), in a real browser: Debian's headless Chromium driven by playwright-core.
import { existsSync } from "node:fs";
import { TypeUrl } from "@xdskit/envoy-api";
import { EtcdTestServer, findEtcdBinary } from "@xdskit/store-etcd/testing";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envoy, startServe } from "./internal/serve-process.test.js";

const CHROMIUM = "/usr/bin/chromium";
const missing = !existsSync(CHROMIUM) || findEtcdBinary() === undefined;
const skip = missing && process.env.XDSKIT_SKIP_TOOLS === "1";

let browser: Browser | undefined;
let etcd: EtcdTestServer | undefined;
beforeAll(async () => {
  if (skip) return;
  if (missing) throw new Error("this test needs Chromium at /usr/bin/chromium and etcd (or set XDSKIT_SKIP_TOOLS=1 to skip)");
  etcd = await EtcdTestServer.start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
}, 30_000);
afterAll(async () => {
  await browser?.close();
  await etcd?.destroy();
});

describe("status page with replicas", () => {
  it.skipIf(skip)(
    "a replica's page lists the proxies another replica serves, with that replica and their ACKed versions",
    { timeout: 60_000 },
    async () => {
      const store = `etcd://${(etcd as EtcdTestServer).endpoint.replace("http://", "")}/page/`;
      const one = await startServe(["--store", store, "--replica-id", "r1"]);
      const two = await startServe(["--store", store, "--replica-id", "r2"]);
      const cluster = { "@type": TypeUrl.Cluster, name: "api", connect_timeout: "1s" };
      expect((await one.admin("PUT", "/v1/groups/edge/resources", { resources: [cluster] })).status).toBe(200);
      const proxy = await envoy(one.xdsPort, "edge-1");
      await proxy.waitForResource(TypeUrl.Cluster, "api");

      const page = await (browser as Browser).newPage();
      try {
        await page.goto(`${two.adminUrl}/ui/`);
        const row = page.locator('#fleet tr[data-fleet-node="edge-1"]');
        await expect.poll(() => row.count(), { timeout: 20_000 }).toBe(1);
        expect(await row.locator(".replica").textContent()).toBe("r1");
        // The entry may first be published before the ACK; the page catches up within a publish interval and a refresh.
        await expect.poll(() => row.locator(".acked").textContent(), { timeout: 20_000 }).toMatch(/^Cluster files-\d+\.api-1~/);
        expect(await page.locator("#fleet-section").isVisible()).toBe(true);
      } finally {
        await page.close();
      }
    },
  );
});
