// The identity of a client from the certificate its TLS connection presented
// and the server verified (mTLS): what hooks see as `context.identity`, and
// the key per-identity limits count a client under.
import type { PeerCertificate } from "node:tls";
import type { PeerIdentity } from "../events.js";

/** The verified identity a client certificate names; `undefined` without one. */
export function peerIdentityOf(certificate: PeerCertificate | undefined | null): PeerIdentity | undefined {
  const key = certificateIdentity(certificate);
  if (key === undefined) return undefined;
  const names = (certificate!.subjectaltname ?? "").split(/,\s*/);
  const uris = names.filter((n) => n.startsWith("URI:")).map((n) => n.slice(4));
  const dnsNames = names.filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4));
  const cn = certificate!.subject?.CN;
  const subject = Array.isArray(cn) ? cn[0] : cn;
  const spiffeId = uris.find((u) => u.startsWith("spiffe://"));
  return Object.freeze({
    key,
    ...(spiffeId === undefined ? {} : { spiffeId }),
    uris: Object.freeze(uris),
    dnsNames: Object.freeze(dnsNames),
    ...(subject === undefined || subject === "" ? {} : { subject }),
  });
}

/**
 * The identity a verified client certificate names, for counting: its first
 * URI SAN (a SPIFFE id such as `spiffe://example.org/ns/a/sa/b`), else its
 * first DNS SAN, else its subject CN. `undefined` without a certificate.
 */
export function certificateIdentity(certificate: PeerCertificate | undefined | null): string | undefined {
  if (certificate === undefined || certificate === null || Object.keys(certificate).length === 0) return undefined;
  const names = (certificate.subjectaltname ?? "").split(/,\s*/);
  const uri = names.find((n) => n.startsWith("URI:"));
  if (uri !== undefined) return uri.slice(4);
  const dns = names.find((n) => n.startsWith("DNS:"));
  if (dns !== undefined) return `dns:${dns.slice(4)}`;
  const cn = certificate.subject?.CN;
  const subject = Array.isArray(cn) ? cn[0] : cn;
  return subject === undefined || subject === "" ? undefined : `cn:${subject}`;
}

/** The verified identity of a grpc-js call's peer; `undefined` on insecure connections or without a client certificate. */
export function grpcCallIdentity(call: { getAuthContext?: () => { sslPeerCertificate?: PeerCertificate } }): PeerIdentity | undefined {
  try {
    return peerIdentityOf(call.getAuthContext?.().sslPeerCertificate);
  } catch {
    return undefined;
  }
}
