// The default validators: `validate` from @xdskit/resources with the "envoy"
// profile (the protoc-gen-validate rules Envoy enforces) for an Envoy, and
// with the "grpc" profile (those rules plus what gRPC clients NACK) for a
// proxyless gRPC client.
import { ErrorCode, XdskitError } from "@xdskit/envoy-api";
import { validate } from "@xdskit/resources";
import type { FakeEnvoyClient, ResourceProblem, ResourceValidator } from "../types.js";

/** Checks a resource like the given client; types @xdskit/resources does not know pass unchecked. */
function validatorFor(profile: "envoy" | "grpc"): ResourceValidator {
  return (typeUrl, message, resourceName) => {
    let violations: ReturnType<typeof validate>;
    try {
      violations = validate(typeUrl, message, { name: resourceName, profile });
    } catch (error) {
      if (XdskitError.is(error) && error.code === ErrorCode.UNKNOWN_TYPE) return [];
      throw error;
    }
    return violations.map((v): ResourceProblem => ({ message: v.path ? `${v.path}: ${v.message}` : v.message }));
  };
}

/** Checks a resource like Envoy. */
export const envoyValidator: ResourceValidator = validatorFor("envoy");
/** Checks a resource like a proxyless gRPC client. */
export const grpcValidator: ResourceValidator = validatorFor("grpc");

/** The validator FakeEnvoy uses for a client unless told otherwise. */
export function defaultValidator(client: FakeEnvoyClient): ResourceValidator {
  return client === "grpc" ? grpcValidator : envoyValidator;
}
