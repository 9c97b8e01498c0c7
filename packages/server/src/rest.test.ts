import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { XdsServer } from "./index.js";

let http: Server | undefined;
afterEach(() => {
  http?.close();
  http = undefined;
});

async function serve(xds: XdsServer): Promise<string> {
  http = createServer(xds.restListener());
  await new Promise<void>((resolve) => http!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

describe("XdsServer REST-JSON", () => {
  it("answers POST /v3/discovery:clusters with JSON, and 304 when the client is current", async () => {
    const cache = new FakeWatcher();
    cache.set(TypeUrl.Cluster, "v1", [entry(TypeUrl.Cluster, "web", "1")]);
    const xds = new XdsServer({ cache });
    const events: string[] = [];
    xds.events.subscribe((e) => events.push(e.kind));
    const base = await serve(xds);
    const response = await fetch(`${base}/v3/discovery:clusters`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ node: { id: "n1", cluster: "c" }, resource_names: [] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { versionInfo: string; resources: Array<Record<string, unknown>>; typeUrl: string };
    expect(body.versionInfo).toBe("v1");
    expect(body.typeUrl).toBe(TypeUrl.Cluster);
    expect(body.resources).toEqual([{ "@type": TypeUrl.Cluster, name: "web" }]);
    const current = await fetch(`${base}/v3/discovery:clusters`, {
      method: "POST",
      body: JSON.stringify({ node: { id: "n1" }, versionInfo: "v1" }),
    });
    expect(current.status).toBe(304);
    expect(events).toEqual(["fetch", "fetch"]);
  });

  it("refuses bad input with clear HTTP errors", async () => {
    const cache = new FakeWatcher();
    const xds = new XdsServer({ cache, maxRequestBytes: 2048 });
    const base = await serve(xds);
    const notJson = await fetch(`${base}/v3/discovery:clusters`, { method: "POST", body: "{nope" });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toContain("DiscoveryRequest");
    const noNode = await fetch(`${base}/v3/discovery:clusters`, { method: "POST", body: "{}" });
    expect(noNode.status).toBe(400);
    expect(((await noNode.json()) as { error: string }).error).toContain("node");
    const wrongType = await fetch(`${base}/v3/discovery:clusters`, {
      method: "POST",
      body: JSON.stringify({ node: { id: "n" }, typeUrl: TypeUrl.Listener }),
    });
    expect(wrongType.status).toBe(400);
    const unknown = await fetch(`${base}/v3/discovery:nothing`, { method: "POST", body: "{}" });
    expect(unknown.status).toBe(404);
    const get = await fetch(`${base}/v3/discovery:clusters`);
    expect(get.status).toBe(405);
    const huge = await fetch(`${base}/v3/discovery:clusters`, { method: "POST", body: "x".repeat(10_000) });
    expect(huge.status).toBe(413);
  });

  it("serves every type at its Envoy REST path", async () => {
    const cache = new FakeWatcher();
    const xds = new XdsServer({ cache });
    const base = await serve(xds);
    for (const path of ["clusters", "endpoints", "listeners", "routes", "scoped-routes", "secrets", "runtime", "extension_configs"]) {
      const response = await fetch(`${base}/v3/discovery:${path}`, { method: "POST", body: JSON.stringify({ node: { id: "n" } }) });
      // The cache has nothing for the node: a miss the endpoint itself answers (not "no xDS REST endpoint").
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: string }).error, path).not.toContain("no xDS REST endpoint");
    }
  });
});
