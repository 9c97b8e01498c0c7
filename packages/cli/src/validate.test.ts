// `xdskit validate`, run as CI runs it: the real binary on files, with the
// Envoy and the gRPC profile; exit code and one line per problem.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RANDOM_LB } from "./internal/fixtures.test.js";
import { runXdskit, tempDir } from "./internal/serve-process.test.js";

describe("xdskit validate", () => {
  it("checks with the Envoy profile by default and the gRPC profile on request; exit code and one line per problem", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "mesh.yaml"), RANDOM_LB);
    const envoyProfile = await runXdskit(["validate", dir]);
    expect(envoyProfile).toMatchObject({ code: 0 });
    expect(envoyProfile.stdout).toBe("ok: 1 file(s), 1 group(s), 2 resource(s), 0 problem(s) (profile envoy)\n");

    const grpc = await runXdskit(["validate", dir, "--profile", "grpc"]);
    expect(grpc.code).toBe(1);
    const lines = grpc.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^group mesh Cluster "web" lb_policy: must be ROUND_ROBIN/);
    expect(lines.at(-1)).toBe("invalid: 1 file(s), 1 group(s), 2 resource(s), 1 problem(s) (profile grpc)");

    const unknown = await runXdskit(["validate", dir, "--profile", "istio"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/--profile.*istio.*envoy, grpc/);
  });

  it("reports a dangling reference of a group's merged config, by group", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "a.yaml"),
      "group: g\nclusters:\n  - { name: c, connect_timeout: 1s, type: EDS, eds_cluster_config: { eds_config: { ads: {} } } }\n",
    );
    const result = await runXdskit(["validate", dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'group g Cluster "c" name: references endpoints "c" (ClusterLoadAssignment), which is not in the snapshot',
    );
  });

  it("checks mesh model documents: the model's own rules, naming the object and field", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "mesh.yaml"),
      [
        "kind: Service",
        "metadata: { name: orders, namespace: shop }",
        "spec: { ports: [{ port: 9000 }] }",
        "---",
        "kind: HTTPRoute",
        "metadata: { name: to-orders, namespace: shop }",
        "spec:",
        "  parentRefs: [{ name: orders }]",
        "  rules: [{ backendRefs: [{ name: orders, weight: -1 }] }]",
        "",
      ].join("\n"),
    );
    const result = await runXdskit(["validate", dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^HTTPRoute shop\/to-orders spec\.rules\[0\]\.backendRefs\[0\]\.weight: /m);
    writeFileSync(
      join(dir, "mesh.yaml"),
      "kind: Service\nmetadata: { name: orders, namespace: shop }\nspec: { ports: [{ port: 9000 }] }\n",
    );
    expect((await runXdskit(["validate", dir])).code).toBe(0);
  });
});
