// Real client: endpoints are added and removed through EDS while RPCs flow,
// and no RPC fails during the change.
import { sameContentVersion } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { callInLoop, Echo, EchoBackend } from "./support/echo-backend.js";
import { echoSnapshot } from "./support/grpc-resources.js";
import { xdsChannelOptions } from "./support/xds-client.js";

const NODE = "client-churn";
let backends: EchoBackend[];
beforeAll(async () => {
  backends = await Promise.all(["b1", "b2", "b3"].map((name) => EchoBackend.start(name)));
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.stop()));
});

it("adds and removes endpoints while RPCs flow, without a failed RPC", async () => {
  const [b1, b2, b3] = backends as [EchoBackend, EchoBackend, EchoBackend];
  await using plane = await ControlPlane.start();
  plane.cache.setSnapshot(NODE, echoSnapshot("1", [b1.port]));
  const echo = new Echo("xds:///echo", xdsChannelOptions(plane.address, NODE));
  // Four callers in a loop, like a busy client.
  const load = callInLoop(echo);
  const { answers } = load;
  try {
    await until("RPCs to b1", () => answers.includes("b1"));
    plane.cache.setSnapshot(NODE, echoSnapshot("2", [b1.port, b2.port]));
    await until("RPCs to b2 after adding it", () => answers.includes("b2"));
    plane.cache.setSnapshot(NODE, echoSnapshot("3", [b1.port, b2.port, b3.port]));
    await until("RPCs to b3 after adding it", () => answers.includes("b3"));
    plane.cache.setSnapshot(NODE, echoSnapshot("4", [b3.port]));
    // Once the client runs the new endpoints, b1 and b2 get nothing more.
    const ack = (version: string) => {
      const acked = plane.status.nodeStatus(NODE)?.types[TypeUrl.ClusterLoadAssignment]?.lastAck?.version;
      return acked !== undefined && sameContentVersion(acked, version);
    };
    const removedAt = await until(
      "the EDS ACK of the removal",
      () => ack(plane.cache.getSnapshot(NODE)!.resources[TypeUrl.ClusterLoadAssignment]!.version) && answers.length,
    );
    await until("100 more RPCs", () => answers.length >= removedAt + 100);
    // Skip 20 answers after the ACK: up to 4 RPCs were in flight on the old
    // picker, and the new picker is installed just after the ACK is sent.
    const settled = answers.slice(removedAt + 20);
    expect(new Set(settled)).toEqual(new Set(["b3"]));
  } finally {
    await load.stop();
    echo.close();
  }
  expect(load.failures).toEqual([]);
  expect(answers.length).toBeGreaterThan(100);
});
