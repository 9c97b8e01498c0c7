// docs/operations.md stays true: its metrics table lists exactly the metrics
// createXdsMetrics registers, and its Grafana dashboard is valid JSON whose
// queries use only those metrics.
import { readFileSync } from "node:fs";
import { SnapshotCache } from "@xdskit/cache";
import { XdsServer } from "@xdskit/server";
import { createXdsMetrics } from "@xdskit/server/metrics";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";

const page = readFileSync(new URL("../../../docs/operations.md", import.meta.url), "utf8");

function registered(): string[] {
  const cache = new SnapshotCache();
  const xds = new XdsServer({ cache });
  const metrics = createXdsMetrics({ xds, registry: new Registry() });
  const names = metrics.registry.getMetricsAsArray().map((m) => m.name);
  metrics.close();
  cache.dispose();
  return names.sort();
}

describe("docs/operations.md", () => {
  it("lists every registered metric in its table, and nothing else", () => {
    const documented = [...page.matchAll(/^\| `(xdskit_[a-z_]+)` \|/gm)].map((m) => m[1]!).sort();
    expect(documented).toEqual(registered());
  });

  it("has a Grafana dashboard that is valid JSON and queries only registered metrics", () => {
    const block = /```json\n([\s\S]*?)\n```/.exec(page)?.[1];
    expect(block).toBeDefined();
    const dashboard = JSON.parse(block!) as { title: string; panels: { title: string; targets: { expr: string }[] }[] };
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(6);
    const known = new Set(registered());
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        const used = [...target.expr.matchAll(/xdskit_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ""));
        expect(used.length, target.expr).toBeGreaterThan(0);
        for (const name of used) expect(known, `${panel.title}: ${name}`).toContain(name);
      }
    }
  });
});
