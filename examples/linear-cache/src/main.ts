// Simulates a registry feed (instances coming and going every 2 s) and serves
// it to Envoys over xDS on $PORT (default 18000). Ctrl-C to stop.
import { startControlPlane } from "./endpoints.js";
import { ServiceRegistry } from "./registry.js";

const registry = new ServiceRegistry();
registry.register("payments", "10.0.0.1:8080");
const controlPlane = await startControlPlane(registry, ["payments"], Number(process.env.PORT ?? 18000));
console.log(`xDS on port ${controlPlane.port}; cluster "payments" follows the registry`);

let n = 1;
const feed = setInterval(() => {
  n = (n % 5) + 1;
  const address = `10.0.0.${n}:8080`;
  if (registry.instances("payments").includes(address)) registry.deregister("payments", address);
  else registry.register("payments", address);
  console.log(`payments: ${registry.instances("payments").join(", ") || "(none)"} (endpoints version ${controlPlane.endpoints.version})`);
}, 2000);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    clearInterval(feed);
    void controlPlane.close();
  });
}
