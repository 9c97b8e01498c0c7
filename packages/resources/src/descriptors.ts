// @xdskit/resources/descriptors: the resource-type descriptors and their
// registry alone, without the builders and validation of the root entry.
// What @xdskit/cache and @xdskit/server import: the root entry imports the
// message modules every builder uses (about 100 generated modules), these
// import none (a built-in descriptor looks its codec up when first read).
// The same modules the root entry re-exports: one registry, the same objects.
export type {
  LegacyWildcardMode,
  ResourceReference,
  ResourceType,
  ResourceTypeDefinition,
  XdsServiceDefinition,
} from "./resource-type.js";
export { defineResourceType } from "./resource-type.js";
export type { ResourceTypeLookup } from "./resource-type-registry.js";
export { registerResourceType, resourceTypeOf } from "./resource-type-registry.js";
export { ResourceTypes } from "./resource-types.js";
