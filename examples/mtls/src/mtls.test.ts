// FakeEnvoy (which subscribes to the secrets named by TLS transport sockets,
// as Envoy does) receives the certificates over SDS, then a rotated
// certificate on the same stream, with the listener untouched.
import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TypeUrl } from "@xdskit/envoy-api";
import { FakeEnvoy } from "@xdskit/testing";
import { afterEach, beforeEach, expect, it } from "vitest";
import { SecretName } from "./certificates.js";
import { startControlPlane } from "./mtls.js";

const certs = new URL("../certs/", import.meta.url).pathname;
const serialOf = (file: string) => new X509Certificate(readFileSync(join(certs, file))).serialNumber;

let dir: string;
let controlPlane: Awaited<ReturnType<typeof startControlPlane>>;
const lines: string[] = [];

const install = (generation: 1 | 2) => {
  // Key first, then certificate: the pair is briefly mismatched, as with any
  // two-file rotation; the control plane waits for a consistent pair.
  copyFileSync(join(certs, `server-${generation}-key.pem`), join(dir, "server-key.pem"));
  copyFileSync(join(certs, `server-${generation}.pem`), join(dir, "server.pem"));
};

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "xdskit-mtls-example-"));
  copyFileSync(join(certs, "ca.pem"), join(dir, "ca.pem"));
  install(1);
  lines.length = 0;
  controlPlane = await startControlPlane({ certDir: dir, port: 0, log: (line) => lines.push(line) });
});
afterEach(async () => {
  await controlPlane.close();
  rmSync(dir, { recursive: true, force: true });
});

const servedSerial = (envoy: FakeEnvoy) => {
  const pem = envoy.secrets.get(SecretName.serverCertificate)?.tlsCertificate?.certificateChain?.inlineString;
  return pem ? new X509Certificate(pem).serialNumber : undefined;
};

it("serves the listener's certificate and client CA over SDS", async () => {
  await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${controlPlane.port}`, node: { id: "edge-1" } });

  await envoy.waitForResource(TypeUrl.Secret, SecretName.clientCa);
  await envoy.waitFor((e) => servedSerial(e) === serialOf("server-1.pem"), { description: "certificate generation 1" });
  expect(envoy.subscription(TypeUrl.Secret).names).toEqual(new Set([SecretName.serverCertificate, SecretName.clientCa]));
  expect(envoy.nacks).toEqual([]);
});

it("rotates the certificate on the same stream, without touching the listener", async () => {
  await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${controlPlane.port}`, node: { id: "edge-1" } });
  await envoy.waitFor((e) => servedSerial(e) === serialOf("server-1.pem"), { description: "certificate generation 1" });
  const listenerVersion = envoy.version(TypeUrl.Listener);
  const after = envoy.seq;

  install(2);

  await envoy.waitFor((e) => servedSerial(e) === serialOf("server-2.pem"), { description: "certificate generation 2", timeoutMs: 10_000 });
  expect(envoy.version(TypeUrl.Listener)).toBe(listenerVersion);
  expect(envoy.history.filter((r) => r.seq > after).map((r) => r.typeUrl)).toEqual(expect.arrayContaining([TypeUrl.Secret]));
  expect(envoy.history.filter((r) => r.seq > after && r.typeUrl === TypeUrl.Listener)).toEqual([]);
  expect(envoy.streamEnds).toEqual([]);
  expect(lines.join("\n")).toContain(`rotated to certificate ${serialOf("server-2.pem")}`);
});

it("keeps the current certificate when the new files are broken", async () => {
  await using envoy = await FakeEnvoy.start({ address: `127.0.0.1:${controlPlane.port}`, node: { id: "edge-1" } });
  await envoy.waitFor((e) => servedSerial(e) === serialOf("server-1.pem"), { description: "certificate generation 1" });

  // A key that does not belong to the certificate.
  copyFileSync(join(certs, "server-2-key.pem"), join(dir, "server-key.pem"));
  await controlPlane.rotate();
  expect(lines).toContainEqual(expect.stringMatching(/keeping the current certificate: server-key.pem does not match server.pem/));

  writeFileSync(join(dir, "server.pem"), "not a certificate");
  await controlPlane.rotate();
  expect(lines).toContainEqual(expect.stringMatching(/keeping the current certificate: server.pem: not a PEM certificate/));
  expect(servedSerial(envoy)).toBe(serialOf("server-1.pem"));
});
