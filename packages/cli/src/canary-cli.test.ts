// `xdskit canary`: the config canary from the terminal, against the real
// `xdskit serve` and a FakeEnvoy that ACKs one change and NACKs another.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { edsCluster, endpointsOf } from "./internal/fixtures.test.js";
import { envoy, type Running, runXdskit, startServe, tempDir } from "./internal/serve-process.test.js";

const cluster = edsCluster("api");
const endpoints = (...addresses: string[]) => endpointsOf("api", ...addresses);

async function edge(serve: Running): Promise<void> {
  const put = await serve.admin("PUT", "/v1/groups/edge/resources", { resources: [cluster, endpoints("10.1.0.1")] });
  expect(put.status).toBe(200);
}

describe("xdskit canary", () => {
  it("xdskit canary: from a config document, waits for the outcome; exit code 2 when rolled back", async () => {
    const serve = await startServe([]);
    await edge(serve);
    const picked = await envoy(serve.xdsPort, "edge-1", {
      node: { id: "edge-1", metadata: { canary: "true" } },
      nackRules: [{ typeUrl: TypeUrl.ClusterLoadAssignment, predicate: (m) => JSON.stringify(m).includes("10.1.0.66"), message: "no 66" }],
    });
    await picked.waitForEndpoints("api", 1);
    const dir = tempDir();
    const file = join(dir, "change.yaml");
    const admin = ["--admin", serve.adminUrl];
    writeFileSync(
      file,
      "group: edge\nendpoints:\n  - cluster_name: api\n    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 10.1.0.7, port_value: 8080 } } } }] }]\n",
    );
    const promoted = await runXdskit(["canary", "edge", "-f", file, "--selector", "canary=true", ...admin]);
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toBe(
      "canary #1 of group edge: promoted (every selected node ACKed (1))\n" +
        "  version files-1.api-2.canary-1; changes ClusterLoadAssignment/api\n" +
        "  selected edge-1; ACKed edge-1; pending none\n" +
        "  the group now serves API version 2\n",
    );
    expect(await picked.waitForEndpoints("api", 1)).toEqual(["10.1.0.7:8080"]);

    writeFileSync(file, JSON.stringify({ resources: [endpoints("10.1.0.66")] }));
    const refused = await runXdskit(["canary", "edge", "-f", file, "--percentage", "100", "--json", ...admin]);
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout)).toMatchObject({
      state: "rolled-back",
      nacked: [{ nodeId: "edge-1", message: expect.stringContaining("no 66") }],
    });
    expect((await runXdskit(["canary", "edge", "--status", ...admin])).stdout).toMatch(
      /^canary #2 of group edge: rolled-back \(NACK from edge-1 for ClusterLoadAssignment: /,
    );
    const none = await runXdskit(["canary", "edge", "--abort", ...admin]);
    expect(none).toMatchObject({ code: 1, stderr: "xdskit: DELETE /v1/groups/edge/canary: 409 group edge has no canary running\n" });
    expect(picked.endpointAddresses("api")).toEqual(["10.1.0.7:8080"]);
  });
});
