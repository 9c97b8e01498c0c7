// Starts the backends, the control plane and one client per service, and
// measures what each feature does to real RPCs. Used by main.ts and the test.
import { greeterClient, type Outcome, startBackend } from "./greeter.js";
import { resilienceSnapshot, startControlPlane, useControlPlane } from "./resilience.js";

export interface Measured {
  readonly faulty: readonly Outcome[];
  readonly flaky: readonly Outcome[];
  readonly flakyBackendCalls: number;
  readonly slow: readonly Outcome[];
  readonly guarded: readonly Outcome[];
}

export async function measure(port = 0): Promise<Measured> {
  const controlPlane = await startControlPlane(port);
  const backends = {
    faulty: await startBackend("faulty"),
    flaky: await startBackend("flaky", { failEvery: 2 }),
    slow: await startBackend("slow", { delayMs: 1000 }),
    guarded: await startBackend("guarded", { delayMs: 300 }),
  };
  useControlPlane(controlPlane.port, "client-1");
  const clients = {
    faulty: greeterClient("xds:///faulty"),
    flaky: greeterClient("xds:///flaky"),
    slow: greeterClient("xds:///slow"),
    guarded: greeterClient("xds:///guarded"),
  };
  try {
    controlPlane.cache.setSnapshot(
      "clients",
      resilienceSnapshot("1", {
        faulty: backends.faulty.address,
        flaky: backends.flaky.address,
        slow: backends.slow.address,
        guarded: backends.guarded.address,
      }),
    );
    // One RPC each first, so that every channel has its config before we measure.
    await clients.flaky.sequence(1);
    await clients.guarded.sequence(1);
    const before = backends.flaky.calls();
    const flaky = await clients.flaky.sequence(20);
    return {
      faulty: await clients.faulty.burst(200),
      flaky,
      flakyBackendCalls: backends.flaky.calls() - before,
      slow: await clients.slow.sequence(3),
      guarded: await clients.guarded.staggered(6, 20),
    };
  } finally {
    for (const client of Object.values(clients)) client.close();
    await controlPlane.close();
    for (const backend of Object.values(backends)) backend.stop();
  }
}
