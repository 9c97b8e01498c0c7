import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromYaml, TypeUrl } from "@xdskit/envoy-api";
import { Bootstrap } from "@xdskit/envoy-api/envoy/config/bootstrap/v3/bootstrap";
import { FakeEnvoy } from "@xdskit/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { serveEnvoyConfig } from "./static-config.js";

const here = new URL("..", import.meta.url).pathname;

describe("serving an existing Envoy config", () => {
  let dir: string;
  let file: string;
  let controlPlane: Awaited<ReturnType<typeof serveEnvoyConfig>>;
  const lines: string[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "xdskit-envoy-example-"));
    file = join(dir, "envoy.yaml");
    copyFileSync(join(here, "static-resources.yaml"), file);
    lines.length = 0;
    controlPlane = await serveEnvoyConfig({ file, port: 0, log: (line) => lines.push(line) });
  });
  afterEach(async () => {
    await controlPlane.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the file's listeners and clusters to a proxy", async () => {
    await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${controlPlane.port}`, node: { id: "envoy-1" } });

    await envoy.waitForResource(TypeUrl.Listener, "http");
    await envoy.waitFor((e) => e.clusters.size === 2, { description: "clusters web and api" });
    expect([...envoy.clusters.keys()].sort()).toEqual(["api", "web"]);
    expect(envoy.nacks).toEqual([]);
  });

  it("serves the file again when it changes, and keeps the last good config when it breaks", async () => {
    await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${controlPlane.port}`, node: { id: "envoy-1" } });
    await envoy.waitFor((e) => e.clusters.size === 2, { description: "clusters web and api" });

    // Drop the api cluster (the route to it goes too): the proxy follows.
    const text = readFileSync(file, "utf8");
    writeFileSync(
      file,
      text.slice(0, text.indexOf("    - name: api\n      type: STRICT_DNS")).replace(/ {24}- match: \{ prefix: "\/api\/" \}\n.*\n/, ""),
    );
    await envoy.waitForAbsent(TypeUrl.Cluster, "api");

    // A duration without a unit: refused, reported, and the proxy keeps what it runs.
    writeFileSync(file, text.replace("connect_timeout: 1s", "connect_timeout: soon"));
    await expect.poll(() => lines.join("\n")).toMatch(/not serving .* \(still serving file-\d+\): .*connect_timeout/s);
    expect([...envoy.clusters.keys()]).toEqual(["web"]);
  });

  it("ships a bootstrap that points Envoy's ADS at the control plane", () => {
    const bootstrap = fromYaml(Bootstrap, readFileSync(join(here, "envoy-bootstrap.yaml"), "utf8"));
    const ads = bootstrap.dynamicResources?.adsConfig?.grpcServices[0]?.envoyGrpc?.clusterName;
    const xdsCluster = bootstrap.staticResources?.clusters.find((c) => c.name === ads);
    const address = xdsCluster?.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.endpoint?.address?.socketAddress;
    expect(`${address?.address}:${address?.portValue}`).toBe("127.0.0.1:18000");
    expect(bootstrap.dynamicResources?.cdsConfig?.ads).toBeDefined();
    expect(bootstrap.dynamicResources?.ldsConfig?.ads).toBeDefined();
  });
});
