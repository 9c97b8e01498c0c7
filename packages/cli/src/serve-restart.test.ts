// `xdskit serve` restarts: killed with SIGKILL and started again on the same
// state directory and xDS port, reconnecting proxies get nothing new.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { edsCluster, endpointsOf as endpoints, FRONT_AND_BACK } from "./internal/fixtures.test.js";
import { envoy, startServe, tempDir } from "./internal/serve-process.test.js";

describe("xdskit serve restarts", () => {
  it("after kill -9 and a restart, reconnecting proxies (SotW and delta) are sent nothing when nothing changed", async () => {
    const state = tempDir();
    const config = tempDir();
    writeFileSync(join(config, "front.yaml"), FRONT_AND_BACK);
    const first = await startServe(["--config", config, "--state-dir", state]);
    const port = first.xdsPort;
    const api = {
      resources: [edsCluster("api"), endpoints("api", "10.2.0.1")],
    };
    expect((await first.admin("PUT", "/v1/groups/front/resources", api)).status).toBe(200);
    const sotw = await envoy(port, "front-1");
    const delta = await envoy(port, "front-2", { protocol: "delta" });
    for (const e of [sotw, delta]) {
      await e.waitForEndpoints("web", 1);
      await e.waitForEndpoints("api", 1);
    }
    const seen = [sotw.history.length, delta.history.length];
    const heldBefore = sotw.version(TypeUrl.ClusterLoadAssignment);

    first.child.kill("SIGKILL");
    await first.exited;
    const again = await startServe(["--config", config, "--state-dir", state, "--xds", `127.0.0.1:${port}`]);
    expect(again.xdsPort).toBe(port);
    await Promise.all([sotw.reconnect(), delta.reconnect()]);
    // A SotW stream's named subscription is always answered on a new stream (protocol.md, reconnect-version).
    await sotw.waitFor((e) => e.history.length > (seen[0] as number), { description: "the named endpoints answered again" });
    // The new process has both nodes' requests for every type they run...
    const types = [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment];
    await expect
      .poll(async () => {
        const { body } = await again.admin("GET", "/v1/status");
        return body.nodes
          .filter((n: { openStreams: number }) => n.openStreams > 0)
          .flatMap((n: { nodeId: string; types: Record<string, { lastRequestAt?: number }> }) =>
            types.filter((t) => n.types[t]?.lastRequestAt !== undefined).map((t) => `${n.nodeId} ${t}`),
          )
          .sort();
      })
      .toHaveLength(4);
    // ...and sent them nothing new (same labels, same content): delta streams nothing at all (an empty answer to a
    // wildcard type the group has none of, Listener here, at most); SotW streams only their named subscriptions'
    // resources again, with the versions the proxy holds (protocol.md, reconnect-version), and nothing wildcard.
    const after = (e: typeof sotw, from: number) =>
      e.history.slice(from).filter((r) => r.resourceNames.length > 0 || r.removedNames.length > 0);
    expect(after(delta, seen[1] as number)).toEqual([]);
    const resent = after(sotw, seen[0] as number);
    expect(resent.length).toBeGreaterThan(0);
    for (const r of resent) expect(r.typeUrl).toBe(TypeUrl.ClusterLoadAssignment);
    for (const r of resent) expect(r.version).toBe(heldBefore);
    expect(sotw.version(TypeUrl.ClusterLoadAssignment)).toBe(heldBefore);
    expect(sotw.endpointAddresses("api")).toEqual(["10.2.0.1:8080"]);
  });
});
