// Runs the canary against real backends and a real gRPC xDS client, printing
// the measured traffic shares after each step.
import { canarySnapshot, rollout, startControlPlane, useControlPlane } from "./canary.js";
import { greeterClient, startBackend } from "./greeter.js";

const NODE = "frontend-1";
const controlPlane = await startControlPlane(Number(process.env.PORT ?? 18000));
const [v1, v2] = await Promise.all([startBackend("greeter-v1"), startBackend("greeter-v2")]);
useControlPlane(controlPlane.port, NODE);
const client = greeterClient("xds:///greeter");
const share = (counts: Record<string, number>, total: number) => `${Math.round(((counts["greeter-v2"] ?? 0) / total) * 100)}%`;

const backends = { v1: [v1.address], v2: [v2.address] };

try {
  // Everyone on v1, and one RPC so that the client connects (channels are lazy).
  controlPlane.cache.setSnapshot(NODE, canarySnapshot("start", 0, backends));
  console.log(`before the rollout: ${JSON.stringify(await client.count(20))}`);
  await rollout({
    cache: controlPlane.cache,
    xds: controlPlane.xds,
    group: NODE,
    backends,
    afterStep: async (v2Percent) => {
      const web = await client.count(200);
      const mobile = await client.count(20, { "x-platform": "mobile" });
      console.log(`greeter-v2 target ${v2Percent}%: measured ${share(web, 200)} of 200 RPCs; mobile ${share(mobile, 20)} of 20`);
    },
  });
} finally {
  client.close();
  await controlPlane.close();
  v1.stop();
  v2.stop();
}
// grpc-js-xds keeps its xDS client alive for a while after the last channel closes.
process.exit(0);
