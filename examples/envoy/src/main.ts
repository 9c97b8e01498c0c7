import { serveEnvoyConfig } from "./static-config.js";

const file = process.argv[2] ?? "static-resources.yaml";
const controlPlane = await serveEnvoyConfig({ file, port: Number(process.env.PORT ?? 18000) });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void controlPlane.close());
