import type { DeepPartial } from "@xdskit/envoy-api/core";
import { TransportSocket } from "@xdskit/envoy-api/envoy/config/core/v3/base";
import type { CommonTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import { DownstreamTlsContext, UpstreamTlsContext } from "@xdskit/envoy-api/envoy/extensions/transport_sockets/tls/v3/tls";
import { type ConfigSourceInput, configSource, type StringMatch, stringMatcher, typedExtension } from "./common.js";
import { WellKnownName } from "./well-known.js";

/** A match on one subject alternative name type. */
export type SanMatch = StringMatch & { readonly type?: "URI" | "DNS" | "EMAIL" | "IP_ADDRESS" };
const SAN_TYPES = { EMAIL: 1, DNS: 2, URI: 3, IP_ADDRESS: 4 } as const;

/** A TLS protocol version, as Envoy names it. */
export type TlsVersion = "TLSv1_2" | "TLSv1_3";
const VERSIONS: Readonly<Record<TlsVersion, number>> = { TLSv1_2: 3, TLSv1_3: 4 };

/** Certificates and trust from SDS, shared by both directions. */
export interface TlsCommonOptions {
  /** SDS name of the TLS certificate (our certificate chain and key). */
  readonly certificateSecret?: string;
  /** SDS name of the validation context (trusted CAs) for the peer's certificate. */
  readonly validationContextSecret?: string;
  /**
   * Accepted peer identities, checked with the validation context: string
   * matches on a SAN of `type` (default `"URI"`, what SPIFFE IDs are).
   * Default: any identity the CA signed.
   */
  readonly subjectAltNames?: readonly SanMatch[];
  /** Where secrets come from. Default `"ads"`. */
  readonly sdsConfig?: ConfigSourceInput;
  /** ALPN protocols to offer. Default none (Envoy's default). */
  readonly alpn?: readonly string[];
  /** Minimum TLS version. Default Envoy's (TLS 1.2). */
  readonly minVersion?: TlsVersion;
}

function commonTlsContext(options: TlsCommonOptions): DeepPartial<CommonTlsContext> {
  const sds = configSource(options.sdsConfig);
  const sans = (options.subjectAltNames ?? []).map((m) => ({ sanType: SAN_TYPES[m.type ?? "URI"], matcher: stringMatcher(m) }));
  const validation =
    options.validationContextSecret === undefined
      ? {}
      : sans.length > 0
        ? {
            combinedValidationContext: {
              defaultValidationContext: { matchTypedSubjectAltNames: sans },
              validationContextSdsSecretConfig: { name: options.validationContextSecret, sdsConfig: sds },
            },
          }
        : { validationContextSdsSecretConfig: { name: options.validationContextSecret, sdsConfig: sds } };
  return {
    tlsCertificateSdsSecretConfigs: options.certificateSecret === undefined ? [] : [{ name: options.certificateSecret, sdsConfig: sds }],
    ...validation,
    alpnProtocols: [...(options.alpn ?? [])],
    ...(options.minVersion ? { tlsParams: { tlsMinimumProtocolVersion: VERSIONS[options.minVersion] } } : {}),
  };
}

/** TLS termination on a listener: our certificate from SDS; with `validationContextSecret`, mutual TLS. */
export interface DownstreamTlsOptions extends TlsCommonOptions {
  readonly certificateSecret: string;
  /** Require a client certificate. Default: true when `validationContextSecret` is set (mTLS), else false. */
  readonly requireClientCertificate?: boolean;
}

/**
 * A `envoy.transport_sockets.tls` transport socket terminating TLS.
 * @example downstreamTls({ certificateSecret: "web-cert", validationContextSecret: "mesh-ca" }) // mTLS
 */
export function downstreamTls(options: DownstreamTlsOptions): TransportSocket {
  return TransportSocket.fromPartial(
    typedExtension(WellKnownName.Tls, DownstreamTlsContext, {
      commonTlsContext: commonTlsContext(options),
      requireClientCertificate: options.requireClientCertificate ?? options.validationContextSecret !== undefined,
    }),
  );
}

/** TLS to upstreams: verify the server with `validationContextSecret`; present `certificateSecret` for mTLS. */
export interface UpstreamTlsOptions extends TlsCommonOptions {
  /** SNI to send. Default none. */
  readonly sni?: string;
}

/**
 * A `envoy.transport_sockets.tls` transport socket originating TLS.
 * @example upstreamTls({ sni: "api.internal", certificateSecret: "client-cert", validationContextSecret: "mesh-ca" })
 */
export function upstreamTls(options: UpstreamTlsOptions): TransportSocket {
  return TransportSocket.fromPartial(
    typedExtension(WellKnownName.Tls, UpstreamTlsContext, { commonTlsContext: commonTlsContext(options), sni: options.sni ?? "" }),
  );
}
