import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hasOpenssl, TestCertificateAuthority } from "./test-certificates.js";

const skip = !hasOpenssl() && process.env.XDSKIT_SKIP_TOOLS === "1";

describe.skipIf(skip)("TestCertificateAuthority", () => {
  it("issues certificates signed by its CA with the SANs asked for, and removes its directory", () => {
    const ca = TestCertificateAuthority.create({ commonName: "unit CA" });
    const leaf = ca.issue("edge-1", "DNS:edge-1,URI:spiffe://cluster.local/ns/edge/sa/edge-1");
    const cert = new X509Certificate(leaf.cert);
    const authority = new X509Certificate(ca.cert);
    expect(cert.verify(authority.publicKey)).toBe(true);
    expect(authority.subject).toBe("CN=unit CA");
    expect(cert.subjectAltName).toBe("DNS:edge-1, URI:spiffe://cluster.local/ns/edge/sa/edge-1");
    expect(leaf.key.toString()).toMatch(/-----BEGIN PRIVATE KEY-----/);
    expect(() => ca.issue("../x", "DNS:x")).toThrow(/plain file name/);
    ca.dispose();
    expect(existsSync(ca.dir)).toBe(false);
  });
});
