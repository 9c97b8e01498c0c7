// @xdskit/testing: a fake Envoy for testing xDS control planes.
export type { HistoryWaitOptions } from "./fake-envoy.js";
export { FakeEnvoy } from "./fake-envoy.js";
export type { FakeEnvoyOptions, ResolvedFakeEnvoyOptions } from "./options.js";
export { FAKE_ENVOY_DEFAULTS } from "./options.js";
export type { IssuedCertificate } from "./test-certificates.js";
export { hasOpenssl, TestCertificateAuthority } from "./test-certificates.js";
export type {
  FakeEnvoyClient,
  FakeEnvoyProtocol,
  MessageOf,
  NackRule,
  NodeStatusSource,
  ResourceMessages,
  ResourceProblem,
  ResourceValidator,
  ResponseDecision,
  ResponseRecord,
  RunningResource,
  StreamEnd,
  WaitOptions,
} from "./types.js";
