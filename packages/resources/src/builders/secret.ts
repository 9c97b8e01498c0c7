import type { DataSource } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import { Secret } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/secret";
import { SPIFFECertValidatorConfig } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config";
import { Runtime } from "@xdskit/envoy-api/envoy/service/runtime/v3/rtds";
import { builderError, type StringMatch, stringMatcher, typedExtension } from "./common.js";
import type { SanMatch } from "./tls.js";
import { WellKnownName } from "./well-known.js";

/** Secret material: inline PEM text, a file Envoy reads (and watches), or an environment variable. */
export type DataSourceInput =
  | { readonly inline: string }
  | { readonly file: string }
  | { readonly env: string }
  | { readonly bytes: Uint8Array };

export function dataSource(input: DataSourceInput, option = "dataSource"): DataSource {
  if ("inline" in input) return { inlineString: input.inline };
  if ("file" in input) return { filename: input.file };
  if ("env" in input) return { environmentVariable: input.env };
  if ("bytes" in input) return { inlineBytes: input.bytes };
  throw builderError("dataSource", option, "{ inline } | { file } | { env } | { bytes }", input);
}

/** Options of {@link tlsCertificateSecret}. */
export interface TlsCertificateSecretOptions {
  /** The SDS name listeners and clusters refer to. */
  readonly name: string;
  readonly certificateChain: DataSourceInput;
  readonly privateKey: DataSourceInput;
  /** Password of an encrypted private key. */
  readonly password?: DataSourceInput;
}

/** An SDS secret with a certificate chain and private key. @example tlsCertificateSecret({ name: "web-cert", certificateChain: { file: "/certs/web.pem" }, privateKey: { file: "/certs/web.key" } }) */
export function tlsCertificateSecret(options: TlsCertificateSecretOptions): Secret {
  return Secret.fromPartial({
    name: options.name,
    tlsCertificate: {
      certificateChain: dataSource(options.certificateChain, "certificateChain"),
      privateKey: dataSource(options.privateKey, "privateKey"),
      ...(options.password ? { password: dataSource(options.password, "password") } : {}),
    },
  });
}

/** Options of {@link validationContextSecret}. */
export interface ValidationContextSecretOptions {
  readonly name: string;
  /** Trusted CA certificates (PEM). */
  readonly trustedCa: DataSourceInput;
  /** Accepted peer SANs (default type URI). Default: any the CA signed. */
  readonly subjectAltNames?: readonly SanMatch[];
  /** A certificate revocation list. */
  readonly crl?: DataSourceInput;
}

const SAN_TYPES = { EMAIL: 1, DNS: 2, URI: 3, IP_ADDRESS: 4 } as const;

/** An SDS secret with a validation context (trusted CAs, accepted SANs). */
export function validationContextSecret(options: ValidationContextSecretOptions): Secret {
  return Secret.fromPartial({
    name: options.name,
    validationContext: {
      trustedCa: dataSource(options.trustedCa, "trustedCa"),
      matchTypedSubjectAltNames: (options.subjectAltNames ?? []).map((m) => ({
        sanType: SAN_TYPES[m.type ?? "URI"],
        matcher: stringMatcher(m),
      })),
      ...(options.crl ? { crl: dataSource(options.crl, "crl") } : {}),
    },
  });
}

/** Options of {@link spiffeValidationContextSecret}. */
export interface SpiffeValidationOptions {
  readonly name: string;
  /** Trust bundles per SPIFFE trust domain, e.g. `{ "mesh.local": { file: "/bundles/mesh.pem" } }`. */
  readonly trustDomains: Readonly<Record<string, DataSourceInput>>;
  /** Accepted SPIFFE IDs. Default: any ID of the trust domains. */
  readonly spiffeIds?: readonly StringMatch[];
}

/**
 * An SDS validation context that verifies peers by SPIFFE trust domain (the
 * `envoy.tls.cert_validator.spiffe` validator), as service meshes use.
 */
export function spiffeValidationContextSecret(options: SpiffeValidationOptions): Secret {
  const config = {
    trustDomains: Object.entries(options.trustDomains).map(([name, bundle]) => ({
      name,
      trustBundle: dataSource(bundle, `trustDomains.${name}`),
    })),
  };
  return Secret.fromPartial({
    name: options.name,
    validationContext: {
      customValidatorConfig: typedExtension(WellKnownName.SpiffeCertValidator, SPIFFECertValidatorConfig, config),
      matchTypedSubjectAltNames: (options.spiffeIds ?? []).map((m) => ({ sanType: SAN_TYPES.URI, matcher: stringMatcher(m) })),
    },
  });
}

/** A runtime value: numbers, booleans, strings, or nested objects (flattened into dotted keys by Envoy). */
export type RuntimeValue = string | number | boolean | { readonly [key: string]: RuntimeValue };

/**
 * A runtime layer (RTDS resource).
 * @example runtimeLayer("overrides", { "health_check.min_interval": 5, "envoy.reloadable_features.foo": false })
 */
export function runtimeLayer(name: string, values: Readonly<Record<string, RuntimeValue>>): Runtime {
  return Runtime.fromPartial({ name, layer: { ...values } });
}
