// Conformance: a client that reads slowly. The server never waits for a
// consumer: it keeps at most one pending response per type and stream, the
// newest winning, so a slow client skips intermediate versions and ends on
// the latest.
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { describe, expect, it } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { cluster } from "./support/envoy-resources.js";
import { VARIANTS } from "./support/variants.js";

// ~200 clusters with 1 KiB of metadata each: ~200 KiB per SotW response, well
// over the 64 KiB HTTP/2 window, so a paused reader pushes back on the server.
function clusters(round: number) {
  return Array.from({ length: 200 }, (_, i) => cluster(`c${i}`, { altStatName: `${"x".repeat(1024)}-${round}` }));
}

describe.each(VARIANTS)("$name", (variant) => {
  it("never-blocks: a slow client gets the newest config, not every intermediate one", async () => {
    await using plane = await ControlPlane.start();
    plane.cache.setSnapshot("n1", { version: "0", resources: { [TypeUrl.Cluster]: clusters(0) } });
    await using envoy = await FakeEnvoy.start({
      address: plane.address,
      protocol: variant.protocol,
      ads: variant.ads,
      node: { id: "n1" },
      follow: false,
      types: [TypeUrl.Cluster],
      timeoutMs: 15_000,
    });
    await envoy.waitFor((e) => e.clusters.size === 200, { description: "200 clusters" });
    const after = envoy.seq;
    envoy.pauseReading();
    const ROUNDS = 30;
    for (let round = 1; round <= ROUNDS; round++)
      plane.cache.setSnapshot("n1", { version: String(round), resources: { [TypeUrl.Cluster]: clusters(round) } });
    await new Promise((r) => setTimeout(r, 200));
    envoy.resumeReading();
    await envoy.waitFor((e) => e.clusters.get("c199")?.altStatName.endsWith(`-${ROUNDS}`), {
      description: `round ${ROUNDS} of the clusters`,
    });
    const received = envoy.history.filter((r) => r.seq > after).length;
    console.info(`${variant.name}: ${received} responses for ${ROUNDS} rounds while paused`);
    expect(received).toBeLessThan(ROUNDS);
    expect(envoy.nacks).toEqual([]);
  });
});
