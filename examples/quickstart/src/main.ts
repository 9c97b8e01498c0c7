import { startControlPlane } from "./control-plane.js";

const controlPlane = await startControlPlane({ port: Number(process.env.PORT ?? 18000) });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void controlPlane.close());
