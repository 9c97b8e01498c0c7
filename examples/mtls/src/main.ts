// Serves the certificates in $CERT_DIR (default ./live-certs, seeded from
// certs/server-1*) and rotates them when the files change. Try:
//   cp certs/server-2.pem live-certs/server.pem && cp certs/server-2-key.pem live-certs/server-key.pem
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startControlPlane } from "./mtls.js";

const certDir = process.env.CERT_DIR ?? "live-certs";
if (!existsSync(join(certDir, "server.pem"))) {
  mkdirSync(certDir, { recursive: true });
  copyFileSync("certs/ca.pem", join(certDir, "ca.pem"));
  copyFileSync("certs/server-1-key.pem", join(certDir, "server-key.pem"));
  copyFileSync("certs/server-1.pem", join(certDir, "server.pem"));
}
const controlPlane = await startControlPlane({ certDir, port: Number(process.env.PORT ?? 18000) });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void controlPlane.close());
