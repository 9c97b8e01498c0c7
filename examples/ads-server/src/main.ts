import { startAdsServer } from "./ads-server.js";

const { port, close } = await startAdsServer(Number(process.env.PORT ?? 18000));
console.log(`xDS (ADS) server listening on port ${port}; point Envoy's ads_config at it`);
process.once("SIGINT", () => void close());
process.once("SIGTERM", () => void close());
