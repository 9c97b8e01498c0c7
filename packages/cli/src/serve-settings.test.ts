// `xdskit serve --settings <file>`: serve's flags from a YAML file (node
// grouping among them), with command-line flags winning and bad keys named.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startServe, tempDir } from "./internal/serve-process.test.js";

describe("xdskit serve --settings", () => {
  it("takes flags from the file; the command line wins; an unknown key or a wrong kind stops serve naming it", async () => {
    const dir = tempDir();
    const settings = join(dir, "serve.yaml");
    writeFileSync(settings, "group-by: cluster\nhistory: 3\nprofile: grpc\n");
    const fromFile = await startServe(["--settings", settings]);
    expect(fromFile.summary).toMatchObject({ groupBy: "cluster", profile: "grpc" });

    const overridden = await startServe(["--settings", settings, "--group-by", "id"]);
    expect(overridden.summary).toMatchObject({ groupBy: "id", profile: "grpc" });

    writeFileSync(settings, "group_by: cluster\n");
    await expect(startServe(["--settings", settings])).rejects.toThrow(/unknown setting \\"group_by\\" \(expected one of .*group-by/);
    writeFileSync(settings, "history: ten\n");
    await expect(startServe(["--settings", settings])).rejects.toThrow(/\\"history\\" must be a non-negative integer; got \\"ten\\"/);
  });
});
