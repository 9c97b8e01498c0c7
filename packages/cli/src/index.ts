// @xdskit/cli: `xdskit serve` as a library (the binary is dist/bin.js). See docs/serve.md.
export type { ConfigFiles } from "./config-files.js";
export { configFileList, readConfigFiles } from "./config-files.js";
export type { ConfigDiff, GroupBy } from "./control-plane.js";
export { ConfigRefused, ControlPlane } from "./control-plane.js";
export type { ConfigProblem, GroupResources, ParsedResource } from "./resource-docs.js";
export { COLLECTIONS, describeProblem, typeUrlFor } from "./resource-docs.js";
export type { ServeOptions, Serving } from "./serve.js";
export { SERVE_DEFAULTS, serve } from "./serve.js";
