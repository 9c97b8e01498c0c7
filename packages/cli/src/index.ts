// @xdskit/cli: `xdskit serve` as a library (the binary is dist/bin.js). See docs/serve.md.
export type { AdminClientOptions } from "./admin-client.js";
export { ADMIN_CLIENT_DEFAULTS, AdminRequestFailed, adminRequest, formatStatus, nodeNacking } from "./admin-client.js";
export type { CanarySpec, CanaryState, CanaryStatus } from "./canary.js";
export { CANARY_DEFAULTS, CanaryController, CanaryRefused, canaryScore, canarySelector } from "./canary.js";
export type { ConfigFiles } from "./config-files.js";
export { configFileList, readConfigFiles } from "./config-files.js";
export type { ConfigDiff, GroupBy, PlannedChange } from "./control-plane.js";
export { CanaryRunning, ConfigRefused, ControlPlane, canaryGroupOf, checkGroup } from "./control-plane.js";
export type { RegroupingCacheOptions } from "./regrouping-cache.js";
export { REGROUPING_CACHE_DEFAULTS, RegroupingCache } from "./regrouping-cache.js";
export type { ConfigProblem, GroupResources, ParsedResource } from "./resource-docs.js";
export { COLLECTIONS, describeProblem, typeUrlFor } from "./resource-docs.js";
export type { ServeOptions, Serving } from "./serve.js";
export { SERVE_DEFAULTS, serve } from "./serve.js";
export type { ValidateFilesOptions, ValidateFilesResult } from "./validate-files.js";
export { VALIDATE_FILES_DEFAULTS, validateFiles } from "./validate-files.js";
