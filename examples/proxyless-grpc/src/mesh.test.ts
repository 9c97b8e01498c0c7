// The control plane against a real proxyless gRPC client (@grpc/grpc-js-xds)
// and real backends: clients find services by name, follow instances as they
// come and go, and never see a config gRPC clients would reject.
import { XdskitError } from "@xdskit/envoy-api";
import { afterAll, beforeAll, expect, it } from "vitest";
import { greeterClient, startBackend } from "./greeter.js";
import { startControlPlane, useControlPlane } from "./mesh.js";

let controlPlane: Awaited<ReturnType<typeof startControlPlane>>;
let backends: Record<string, Awaited<ReturnType<typeof startBackend>>>;
let greeter: ReturnType<typeof greeterClient>;
let farewell: ReturnType<typeof greeterClient>;

beforeAll(async () => {
  controlPlane = await startControlPlane(0);
  const started = await Promise.all(["greeter-a", "greeter-b", "farewell-a"].map(startBackend));
  backends = Object.fromEntries(started.map((b) => [b.name, b]));
  useControlPlane(controlPlane.port, "client-1");
  greeter = greeterClient("xds:///greeter");
  farewell = greeterClient("xds:///farewell");
});
afterAll(async () => {
  greeter.close();
  farewell.close();
  await controlPlane.close();
  for (const b of Object.values(backends)) b.stop();
});

const at = (name: string) => backends[name]!.address;
const served = async (client: ReturnType<typeof greeterClient>) => Object.keys(await client.count(10)).sort();

it("routes each service name to its instances, and follows scale-out and drain", async () => {
  controlPlane.publish({ greeter: [at("greeter-a")], farewell: [at("farewell-a")] });
  expect(await greeter.count(10)).toEqual({ "greeter-a": 10 });
  expect(await farewell.count(10)).toEqual({ "farewell-a": 10 });

  controlPlane.publish({ greeter: [at("greeter-a"), at("greeter-b")], farewell: [at("farewell-a")] });
  await expect.poll(() => served(greeter), { timeout: 10_000 }).toEqual(["greeter-a", "greeter-b"]);

  controlPlane.publish({ greeter: [at("greeter-b")], farewell: [at("farewell-a")] });
  await expect.poll(() => served(greeter), { timeout: 10_000 }).toEqual(["greeter-b"]);
  expect(await farewell.count(5)).toEqual({ "farewell-a": 5 });
});

it("refuses a change gRPC clients would reject (a host name endpoint) and keeps serving the last good one", async () => {
  controlPlane.publish({ greeter: [at("greeter-b")], farewell: [at("farewell-a")] });
  const serving = controlPlane.cache.getSnapshot("grpc-clients")?.version;

  let refused: unknown;
  try {
    controlPlane.publish({ greeter: ["greeter.internal:8080"], farewell: [at("farewell-a")] });
  } catch (error) {
    refused = error;
  }
  expect(XdskitError.is(refused)).toBe(true);
  expect((refused as Error).message).toMatch(/"greeter" at endpoints\[0\].*must be an IPv4 or IPv6 literal/);
  expect(controlPlane.cache.getSnapshot("grpc-clients")?.version).toBe(serving);
  expect(await greeter.count(5)).toEqual({ "greeter-b": 5 });
});
