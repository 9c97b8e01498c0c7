// The `xdskit` command as a whole: the startup summary of serve, --help with
// examples for every command, and every flag documented in docs/serve.md.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RANDOM_LB } from "./internal/fixtures.test.js";
import { runXdskit, startServe, tempDir } from "./internal/serve-process.test.js";

describe("startup", () => {
  it("logs a startup summary with ports, groups, resource counts and the state directory", async () => {
    const state = tempDir();
    const config = tempDir();
    writeFileSync(join(config, "mesh.yaml"), RANDOM_LB);
    const serve = await startServe(["--config", config, "--state-dir", state]);
    expect(serve.summary).toMatchObject({
      level: "info",
      xdsPort: serve.xdsPort,
      adminPort: serve.adminPort,
      adminHost: "127.0.0.1",
      adminToken: false,
      tls: false,
      groupBy: "prefix",
      profile: "envoy",
      config,
      stateDir: state,
      groups: { mesh: { Cluster: 1, ClusterLoadAssignment: 1 } },
      resources: 2,
    });
    // The same config under the gRPC profile is refused at startup, with the reason.
    await expect(startServe(["--config", config, "--profile", "grpc"])).rejects.toThrow(/lb_policy: must be ROUND_ROBIN/);
  });
});

describe("--help", () => {
  it("every command has help with examples", async () => {
    const commands = [[], ["serve"], ["validate"], ["status"], ["get"], ["canary"]];
    const helps = await Promise.all(commands.map((command) => runXdskit([...command, "--help"])));
    helps.forEach((help, i) => {
      expect(help.code, commands[i]?.join(" ")).toBe(0);
      expect(help.stdout, commands[i]?.join(" ")).toMatch(/\nExamples:\n {2}xdskit /);
    });
  });
});

describe("docs/serve.md", () => {
  it("documents every flag of every command", async () => {
    const doc = readFileSync(new URL("../../../docs/serve.md", import.meta.url), "utf8");
    const commands = ["serve", "validate", "status", "get", "canary"];
    const helps = await Promise.all(commands.map((command) => runXdskit([command, "--help"])));
    const missing: string[] = [];
    helps.forEach((help, i) => {
      for (const [flag] of help.stdout.matchAll(/--[a-z][a-z-]+/g))
        if (flag !== "--help" && !doc.includes(flag)) missing.push(`${commands[i]} ${flag}`);
    });
    expect(missing).toEqual([]);
  });
});
