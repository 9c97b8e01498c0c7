// `xdskit validate`: the checks `xdskit serve` makes before serving a config
// directory, offline, for CI.
import { optionError } from "@xdskit/envoy-api";
import { createSnapshotValidator, type ValidationProfile } from "@xdskit/resources";
import { MemoryConfigStore } from "@xdskit/stores";
import { configFileList, readConfigFiles } from "./config-files.js";
import { checkGroup } from "./control-plane.js";
import { MeshLayer, meshModelOf, meshProblems } from "./mesh-layer.js";
import type { ConfigProblem } from "./resource-docs.js";

/** Options of {@link validateFiles}. */
export interface ValidateFilesOptions {
  /** Group of documents without `group:`. Default `"default"`. */
  readonly defaultGroup?: string;
  /**
   * Which client's rules: `"envoy"` (protoc-gen-validate rules, what Envoy
   * enforces) or `"grpc"` (those plus what proxyless gRPC clients NACK:
   * gRFC A27 and later). Default `"envoy"`.
   */
  readonly profile?: ValidationProfile;
}

/** What {@link validateFiles} found. */
export interface ValidateFilesResult {
  readonly files: readonly string[];
  readonly groups: number;
  readonly resources: number;
  /** Every problem: per file and field first, then per group (references, profile rules). */
  readonly problems: readonly ConfigProblem[];
}

/** Defaults of {@link ValidateFilesOptions}. */
export const VALIDATE_FILES_DEFAULTS = Object.freeze({ defaultGroup: "default", profile: "envoy" as ValidationProfile });

/**
 * Reads files and directories as `xdskit serve --config` does and checks each
 * group's merged config as a snapshot with the chosen profile. Never stops at
 * the first problem.
 *
 * @example
 * const result = validateFiles(["config"], { profile: "grpc" });
 * // result.problems: [{ group: "front", typeUrl: ".../Cluster", resource: "web", path: "lb_policy", message: "must be ROUND_ROBIN, ..." }]
 */
export function validateFiles(paths: readonly string[], options: ValidateFilesOptions = {}): ValidateFilesResult {
  const o = { ...VALIDATE_FILES_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  if (o.profile !== "envoy" && o.profile !== "grpc") throw optionError("xdskit validate", "profile", '"envoy" or "grpc"', o.profile);
  const files = paths.flatMap((p) => configFileList(p));
  const read = readConfigFiles(files, o.defaultGroup);
  const validator = createSnapshotValidator({ profile: o.profile });
  const problems: ConfigProblem[] = [...read.problems];
  for (const [group, resources] of read.groups) problems.push(...checkGroup(resources, validator).map((p) => ({ group, ...p })));
  // Mesh model documents: the model's own rules, and each generated resource with its client's profile.
  if (read.mesh.length > 0) {
    try {
      const layer = new MeshLayer(new MemoryConfigStore());
      layer.setFiles(meshModelOf(read.mesh));
      layer.groups();
    } catch (error) {
      const mesh = meshProblems(error);
      if (!mesh) throw error;
      problems.push(...mesh);
    }
  }
  const resources = [...read.groups.values()].reduce((n, g) => n + [...g.values()].reduce((m, byName) => m + byName.size, 0), 0);
  return { files, groups: read.groups.size, resources, problems };
}
