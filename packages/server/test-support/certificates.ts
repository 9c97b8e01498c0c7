// Certificates for the server's own mTLS tests: a throwaway CA and leaf
// certificates made with the openssl CLI in a temporary directory. The public
// helper is TestCertificateAuthority in @xdskit/testing, which sits above this
// package in the package graph, so the server's tests keep this one copy.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** An EC P-256 key, unencrypted. */
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A test CA (`ca.crt`, `ca.key`) and the leaves it issued, each `<name>.crt` and `<name>.key`. */
export interface TestCertificates {
  /** The PEM file `name` of the directory (e.g. "ca.crt", "server.key"). */
  pem(name: string): Buffer;
  /** Removes the directory. */
  dispose(): void;
}

/**
 * Makes a CA valid for one day and issues a leaf for each `[name, subjectAltName]`
 * (openssl syntax: `DNS:localhost`, `URI:spiffe://td/ns/a/sa/b`).
 */
export function makeTestCertificates(leaves: ReadonlyArray<readonly [name: string, subjectAltName: string]>): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "xdskit-server-certs-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  openssl("req", "-x509", ...EC_KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=xdskit test CA");
  for (const [name, san] of leaves) {
    openssl("req", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    openssl(
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
  }
  return {
    pem: (name) => readFileSync(join(dir, name)),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
