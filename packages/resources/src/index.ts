// @xdskit/resources: resource-type descriptors, typed builders for Envoy
// resources, and validation (protoc-gen-validate rules, gRPC profile,
// snapshot cross-references).

export type { ResourceReference, ResourceType, ResourceTypeDefinition } from "./resource-type.js";
export { defineResourceType } from "./resource-type.js";
export { registerResourceType, resourceTypeOf } from "./resource-type-registry.js";
export { ResourceTypes } from "./resource-types.js";
export type {
  ResourceCollection,
  SnapshotResource,
  SnapshotResources,
  SnapshotValidator,
  SnapshotValidatorOptions,
} from "./snapshot-validator.js";
export { createSnapshotValidator, SNAPSHOT_VALIDATOR_DEFAULTS, validateSnapshot } from "./snapshot-validator.js";
export type { ValidateOptions, ValidationProfile } from "./validate.js";
export { assertValid, VALIDATE_DEFAULTS, validate } from "./validate.js";
export type { Violation, ViolationSource } from "./violation.js";
export { collectionNameOf, formatViolation, ValidationError } from "./violation.js";
