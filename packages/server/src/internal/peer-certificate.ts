// The key per-identity limits count a client under: taken from the client
// certificate its TLS connection presented and the server verified (mTLS).
// Only a limit key: hooks do not see it here.
import type { PeerCertificate } from "node:tls";

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

/** The identity of a grpc-js call's peer (see {@link certificateIdentity}); `undefined` on insecure connections. */
export function grpcCallIdentity(call: { getAuthContext?: () => { sslPeerCertificate?: PeerCertificate } }): string | undefined {
  try {
    return certificateIdentity(call.getAuthContext?.().sslPeerCertificate);
  } catch {
    return undefined;
  }
}
