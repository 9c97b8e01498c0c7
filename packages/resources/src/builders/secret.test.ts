import { unpack } from "@xdskit/envoy-api";
import { SPIFFECertValidatorConfig } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config";
import { describe, expect, it } from "vitest";
import {
  formatViolation,
  ResourceTypes,
  runtimeLayer,
  spiffeValidationContextSecret,
  tlsCertificateSecret,
  validate,
  validationContextSecret,
} from "../index.js";

describe("secrets", () => {
  it("builds TLS certificates from files, inline PEM and environment variables", () => {
    const s = tlsCertificateSecret({ name: "web-cert", certificateChain: { file: "/certs/web.pem" }, privateKey: { env: "WEB_KEY" } });
    expect(validate(ResourceTypes.Secret, s)).toEqual([]);
    expect(s.tlsCertificate?.privateKey?.environmentVariable).toBe("WEB_KEY");
    const inline = tlsCertificateSecret({
      name: "i",
      certificateChain: { inline: "-----BEGIN CERTIFICATE-----" },
      privateKey: { bytes: new Uint8Array([1]) },
    });
    expect(ResourceTypes.Secret.messageType.decode(ResourceTypes.Secret.messageType.encode(inline).finish()).name).toBe("i");
  });

  it("builds validation contexts with SAN checks", () => {
    const s = validationContextSecret({
      name: "ca",
      trustedCa: { file: "/certs/ca.pem" },
      subjectAltNames: [{ prefix: "spiffe://mesh/" }, { exact: "api.internal", type: "DNS" }],
    });
    expect(validate(ResourceTypes.Secret, s)).toEqual([]);
    expect(s.validationContext?.matchTypedSubjectAltNames.map((m) => m.sanType)).toEqual([3, 2]);
  });

  it("builds SPIFFE validation contexts", () => {
    const s = spiffeValidationContextSecret({
      name: "spiffe",
      trustDomains: { "mesh.local": { file: "/bundles/mesh.pem" } },
      spiffeIds: [{ prefix: "spiffe://mesh.local/ns/web/" }],
    });
    expect(validate(ResourceTypes.Secret, s).map(formatViolation)).toEqual([]);
    const config = unpack(s.validationContext?.customValidatorConfig?.typedConfig as never, SPIFFECertValidatorConfig);
    expect(config.trustDomains[0]?.name).toBe("mesh.local");
  });

  it("reports an empty trust domain name inside the packed SPIFFE config", () => {
    const s = spiffeValidationContextSecret({ name: "bad", trustDomains: { "": { file: "/b.pem" } } });
    expect(validate(ResourceTypes.Secret, s).map(formatViolation)).toEqual([
      "secrets[bad].validation_context.custom_validator_config.typed_config.trust_domains[0].name: must be at least 1 character long",
    ]);
  });
});

describe("runtimeLayer", () => {
  it("builds an RTDS layer", () => {
    const r = runtimeLayer("overrides", { "health_check.min_interval": 5, feature: { enabled: true } });
    expect(validate(ResourceTypes.Runtime, r)).toEqual([]);
    const codec = ResourceTypes.Runtime.messageType;
    expect(codec.decode(codec.encode(r).finish()).layer).toEqual({ "health_check.min_interval": 5, feature: { enabled: true } });
  });
});
