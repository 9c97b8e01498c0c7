import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { pack, TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { afterEach, beforeEach, expect, it } from "vitest";
import { MiniXdsServer } from "./internal/mini-xds-server.test-helper.js";

const dist = fileURLToPath(new URL("../dist/", import.meta.url));

let server: MiniXdsServer;
beforeEach(async () => {
  server = await new MiniXdsServer().start();
});
afterEach(async () => {
  await server.stop();
});

it("the built package runs from plain Node, without vitest", async () => {
  server.set(TypeUrl.Cluster, "v1", { a: pack(Cluster, { name: "a", connectTimeout: { seconds: 1 } }) });
  const script = `
    import { FakeEnvoy } from ${JSON.stringify(`${dist}index.js`)};
    const envoy = await FakeEnvoy.start({ address: process.env.XDS_ADDRESS, follow: false });
    await envoy.waitForVersion("${TypeUrl.Cluster}", "v1");
    console.log([...envoy.clusters.keys()].join(","));
    await envoy.close();
  `;
  const output = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ["--input-type=module", "-e", script],
      { env: { ...process.env, XDS_ADDRESS: server.address } },
      (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out)),
    ),
  );
  expect(output.trim()).toBe("a");
});

it("the built package does not import vitest", () => {
  const files = readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js"));
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) expect(readFileSync(`${dist}${file}`, "utf8"), file).not.toMatch(/from "vitest"/);
});
