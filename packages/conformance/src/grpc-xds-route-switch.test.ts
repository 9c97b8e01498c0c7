// Real client, make before break by default (issue 9 point 13; protocol.md
// eventual-consistency rules): RPCs flow while the routes move from cluster a
// to cluster b and cluster a (with its endpoints) is deleted in the same
// snapshot. With the server's defaults not one RPC may fail: the client must
// get cluster b and the new routes before a's deletion.
import { afterAll, beforeAll, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { callInLoop, Echo, EchoBackend } from "./support/echo-backend.js";
import { echoSnapshot } from "./support/grpc-resources.js";
import { xdsChannelOptions } from "./support/xds-client.js";

const NODE = "client-route-switch";
let backends: EchoBackend[];
beforeAll(async () => {
  backends = await Promise.all(["a1", "b1"].map((name) => EchoBackend.start(name)));
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.stop()));
});

it("switches the routes from cluster a to b and deletes a in one snapshot, under load, without a failed RPC", async () => {
  const [a1, b1] = backends as [EchoBackend, EchoBackend];
  await using plane = await ControlPlane.start(); // defaults: make before break is on
  expect(plane.xds.options.makeBeforeBreak).toBe(true);
  plane.cache.setSnapshot(NODE, echoSnapshot("1", [a1.port], "a"));
  const echo = new Echo("xds:///echo", xdsChannelOptions(plane.address, NODE));
  const load = callInLoop(echo);
  const { answers } = load;
  try {
    await until("RPCs to a1", () => answers.includes("a1"));
    for (let round = 0; round < 3; round++) {
      const [from, to] = round % 2 === 0 ? (["a", "b"] as const) : (["b", "a"] as const);
      const backend = to === "a" ? a1 : b1;
      const version = String(round + 2);
      plane.cache.setSnapshot(NODE, echoSnapshot(version, [backend.port], to));
      const result = await plane.xds.waitForAck({ node: NODE, version, timeoutMs: 10_000 });
      expect(result.outcome, `switch ${from} -> ${to}`).toBe("acked");
      const seen = answers.length;
      await until(`RPCs to ${backend.name} after the switch`, () => answers.slice(seen).includes(backend.name));
    }
  } finally {
    await load.stop();
    echo.close();
  }
  expect(load.failures.map((e) => (e as Error).message)).toEqual([]);
  expect(answers.length).toBeGreaterThan(50);
});
