// The default validator: `validate` from @xdskit/resources with the "envoy"
// profile (the protoc-gen-validate rules Envoy enforces).
import { ErrorCode, XdskitError } from "@xdskit/envoy-api";
import { validate } from "@xdskit/resources";
import type { ResourceProblem, ResourceValidator } from "../types.js";

/** Checks a resource like Envoy; types @xdskit/resources does not know pass unchecked. */
export const envoyValidator: ResourceValidator = (typeUrl, message, resourceName) => {
  let violations: ReturnType<typeof validate>;
  try {
    violations = validate(typeUrl, message, { name: resourceName, profile: "envoy" });
  } catch (error) {
    if (XdskitError.is(error) && error.code === ErrorCode.UNKNOWN_TYPE) return [];
    throw error;
  }
  return violations.map((v): ResourceProblem => ({ message: v.path ? `${v.path}: ${v.message}` : v.message }));
};

/** The validator FakeEnvoy uses unless told otherwise. */
export function defaultValidator(): ResourceValidator {
  return envoyValidator;
}
