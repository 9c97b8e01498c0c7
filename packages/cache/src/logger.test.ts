import { describe, expect, it } from "vitest";
import { CDS, cluster, EDS, node, record, sotw } from "./internal/fixtures.test.js";
import { stderrLogger, type XdsLogger } from "./logger.js";
import { SnapshotCache } from "./snapshot-cache.js";

function recorder(): XdsLogger & { lines: { level: string; bindings: object; message: string }[] } {
  const lines: { level: string; bindings: object; message: string }[] = [];
  const at = (level: string) => (bindings: object, message: string) => lines.push({ level, bindings, message });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

describe("cache warnings", () => {
  it("warns once when a node's group has no snapshot, naming the group key it computed and the groups that exist", () => {
    const logger = recorder();
    const cache = new SnapshotCache({ logger, nodeGroup: (n) => n.cluster });
    cache.setSnapshot("front", { version: "1", resources: { [CDS]: [cluster("a")] } });
    for (let i = 0; i < 3; i++) record(cache.watchSotw(sotw(node("n1", "frnt"), CDS, { wildcard: true }))).subscription.unsubscribe();
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({ level: "warn", bindings: { nodeId: "n1", typeUrl: CDS, group: "frnt" } });
    expect(logger.lines[0]!.message).toMatch(/node group "frnt", which has no snapshot.*groups with a snapshot: front/);
    cache.dispose();
  });

  it("warns once per group, type and names when a node asks for names the snapshot does not have", () => {
    const logger = recorder();
    const cache = new SnapshotCache({ logger });
    cache.setSnapshot("n1", { version: "v9", resources: { [CDS]: [cluster("a")] } });
    for (let i = 0; i < 2; i++) record(cache.watchSotw(sotw(node("n1"), EDS, { names: ["a", "ghost"] }))).subscription.unsubscribe();
    expect(logger.lines.map((l) => l.message)).toEqual([
      expect.stringMatching(/asks for .*ClusterLoadAssignment names that snapshot "v9" of group "n1" does not have: "a", "ghost"/),
    ]);
    cache.dispose();
  });

  it("is quiet for a well-served node, refuses a bad logger, and survives a throwing one", () => {
    const logger = recorder();
    const cache = new SnapshotCache({ logger });
    cache.setSnapshot("n1", { version: "1", resources: { [CDS]: [cluster("a")] } });
    record(cache.watchSotw(sotw(node("n1"), CDS, { wildcard: true }))).subscription.unsubscribe();
    expect(logger.lines).toEqual([]);
    expect(() => new SnapshotCache({ logger: console.log as never })).toThrow(/option "logger" must be a logger/);
    const throwing = new SnapshotCache({
      logger: {
        ...logger,
        warn: () => {
          throw new Error("disk full");
        },
      },
    });
    expect(() => record(throwing.watchSotw(sotw(node("zz"), CDS, { wildcard: true })))).not.toThrow();
    expect(new SnapshotCache().options.logger).toBe(stderrLogger);
    cache.dispose();
    throwing.dispose();
  });
});
