// Two services, a client for each, and instances coming and going.
import { greeterClient, startBackend } from "./greeter.js";
import { startControlPlane, useControlPlane } from "./mesh.js";

const controlPlane = await startControlPlane(Number(process.env.PORT ?? 18000));
const [a, b, c] = await Promise.all([startBackend("greeter-a"), startBackend("greeter-b"), startBackend("farewell-a")]);
useControlPlane(controlPlane.port, "client-1");
const greeter = greeterClient("xds:///greeter");
const farewell = greeterClient("xds:///farewell");

try {
  controlPlane.publish({ greeter: [a.address], farewell: [c.address] });
  console.log("greeter on one instance: ", await greeter.count(10), "; farewell:", await farewell.count(10));
  controlPlane.publish({ greeter: [a.address, b.address], farewell: [c.address] });
  await new Promise((r) => setTimeout(r, 200)); // the client picks up new endpoints asynchronously
  console.log("greeter scaled out:      ", await greeter.count(10));
  controlPlane.publish({ greeter: [b.address], farewell: [c.address] });
  await new Promise((r) => setTimeout(r, 200));
  console.log("greeter-a drained:       ", await greeter.count(10));
  try {
    controlPlane.publish({ greeter: ["greeter.internal:8080"], farewell: [c.address] });
  } catch (error) {
    console.log(`refused before any client saw it:\n${(error as Error).message}`);
  }
} finally {
  greeter.close();
  farewell.close();
  await controlPlane.close();
  for (const backend of [a, b, c]) backend.stop();
}
// grpc-js-xds keeps its xDS client alive for a while after the last channel closes.
process.exit(0);
