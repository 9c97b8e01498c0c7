// Certificates for mTLS tests: a throwaway CA and leaf certificates made with
// the openssl CLI in a temporary directory, so a test can serve xDS over TLS,
// require client certificates, and bind node ids to SANs or SPIFFE ids.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Whether the `openssl` CLI is on the PATH (Debian package `openssl`). */
export function hasOpenssl(): boolean {
  return spawnSync("sh", ["-c", "command -v openssl"]).status === 0;
}

/** A key and certificate issued by a {@link TestCertificateAuthority}: file paths and PEM contents. */
export interface IssuedCertificate {
  readonly keyPath: string;
  readonly certPath: string;
  readonly key: Buffer;
  readonly cert: Buffer;
}

/** An EC P-256 key, unencrypted: quick to make and accepted by grpc-js, Envoy and Go alike. */
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/**
 * A certificate authority for tests, valid for one day, in a temporary
 * directory (`dir`, holding `ca.crt`, `ca.key` and every `<name>.crt` and
 * `<name>.key` it issues). Needs the `openssl` CLI; {@link hasOpenssl} tells.
 *
 * @example
 * const ca = TestCertificateAuthority.create();
 * const server = ca.issue("server", "DNS:localhost");
 * const proxy = ca.issue("edge-1", "URI:spiffe://cluster.local/ns/edge/sa/edge-1");
 * ServerCredentials.createSsl(ca.cert, [{ cert_chain: server.cert, private_key: server.key }], true);
 * // ...
 * ca.dispose();
 */
export class TestCertificateAuthority {
  private constructor(readonly dir: string) {}

  /**
   * Makes the CA's key and self-signed certificate.
   * @throws Error naming the openssl package when the CLI is missing.
   */
  static create(options: { readonly commonName?: string } = {}): TestCertificateAuthority {
    if (!hasOpenssl()) throw new Error('TestCertificateAuthority needs the openssl CLI (Debian package "openssl")');
    const ca = new TestCertificateAuthority(mkdtempSync(join(tmpdir(), "xdskit-ca-")));
    ca.#openssl(
      "req",
      "-x509",
      ...EC_KEY,
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "1",
      "-subj",
      `/CN=${options.commonName ?? "xdskit test CA"}`,
    );
    return ca;
  }

  /** Path of the CA certificate (PEM), for `--tls-client-ca` or a trust bundle. */
  get certPath(): string {
    return join(this.dir, "ca.crt");
  }

  /** The CA certificate (PEM). */
  get cert(): Buffer {
    return readFileSync(this.certPath);
  }

  /**
   * Issues a key and certificate named `name` (its CN), with `subjectAltName`
   * in openssl's syntax: `DNS:localhost`, `URI:spiffe://td/ns/a/sa/b`, or
   * several joined by commas.
   */
  issue(name: string, subjectAltName: string): IssuedCertificate {
    if (!/^[\w.-]+$/.test(name))
      throw new Error(`TestCertificateAuthority.issue: name must be a plain file name; got ${JSON.stringify(name)}`);
    this.#openssl("req", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    writeFileSync(join(this.dir, `${name}.ext`), `subjectAltName=${subjectAltName}\n`);
    this.#openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    );
    const keyPath = join(this.dir, `${name}.key`);
    const certPath = join(this.dir, `${name}.crt`);
    return { keyPath, certPath, key: readFileSync(keyPath), cert: readFileSync(certPath) };
  }

  /** Removes the directory and everything in it. Idempotent. */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  #openssl(...args: string[]): void {
    execFileSync("openssl", args, { cwd: this.dir, stdio: "ignore" });
  }
}
