// @xdskit/resources: resource-type descriptors, typed builders for Envoy
// resources, and validation (protoc-gen-validate rules, gRPC profile,
// snapshot cross-references).

export type { ResourceReference, ResourceType, ResourceTypeDefinition } from "./resource-type.js";
export { defineResourceType } from "./resource-type.js";
export { registerResourceType, resourceTypeOf } from "./resource-type-registry.js";
export { ResourceTypes } from "./resource-types.js";
