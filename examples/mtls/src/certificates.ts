// Certificates from a directory, checked before they are served: a broken or
// mismatched pair (say, the new certificate written before its key) is
// refused, so a proxy never gets a secret it cannot use.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tlsCertificateSecret, validationContextSecret } from "@xdskit/resources";

/** SDS names the listener refers to. */
export const SecretName = Object.freeze({ serverCertificate: "server-cert", clientCa: "client-ca" });

/** What is served, and a summary for logs. */
export interface LoadedCertificates {
  readonly secrets: ReturnType<typeof tlsCertificateSecret>[];
  /** Serial number of the server certificate (changes on every rotation). */
  readonly serial: string;
  /** The certificate's expiry, as printed by Node. */
  readonly validTo: string;
}

/**
 * Reads `server.pem`, `server-key.pem` and `ca.pem` from `dir` and returns the
 * secrets to serve. Certificates travel inline, so proxies need no access to
 * the files.
 * @throws Error naming the file and the problem: unreadable, not PEM, expired,
 * not signed by the CA, or a key that does not match the certificate.
 */
export async function loadCertificates(dir: string, now = new Date()): Promise<LoadedCertificates> {
  const read = (file: string) => readFile(join(dir, file), "utf8");
  const [certPem, keyPem, caPem] = await Promise.all([read("server.pem"), read("server-key.pem"), read("ca.pem")]);
  const parse = (pem: string, file: string) => {
    try {
      return new X509Certificate(pem);
    } catch (error) {
      throw new Error(`${file}: not a PEM certificate (${(error as Error).message})`);
    }
  };
  const cert = parse(certPem, "server.pem");
  const ca = parse(caPem, "ca.pem");
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new Error(`server-key.pem: not a PEM private key (${(error as Error).message})`);
  }
  if (!cert.checkPrivateKey(key)) throw new Error("server-key.pem does not match server.pem (write the key and certificate together)");
  if (!cert.verify(ca.publicKey)) throw new Error("server.pem is not signed by ca.pem");
  if (new Date(cert.validTo) < now) throw new Error(`server.pem expired on ${cert.validTo}`);
  return {
    secrets: [
      tlsCertificateSecret({ name: SecretName.serverCertificate, certificateChain: { inline: certPem }, privateKey: { inline: keyPem } }),
      validationContextSecret({ name: SecretName.clientCa, trustedCa: { inline: caPem } }),
    ],
    serial: cert.serialNumber,
    validTo: cert.validTo,
  };
}
