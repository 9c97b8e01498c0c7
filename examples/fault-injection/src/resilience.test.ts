// Each feature measured on a real proxyless gRPC client (@grpc/grpc-js-xds)
// against real backends: the control plane's config is what the RPCs do.
import { status } from "@grpc/grpc-js";
import { expect, it } from "vitest";
import type { Outcome } from "./greeter.js";
import { RESILIENCE } from "./resilience.js";
import { measure } from "./run.js";

const failures = (outcomes: readonly Outcome[]) => outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);

it("delays and aborts, retries, times out and breaks the circuit as configured", async () => {
  const m = await measure();

  // Fault injection: 200 RPCs, each delayed, 50% aborted. Binomial(200, 0.5)
  // has sd 7.1; 75..125 is beyond 3.5 sd on both sides.
  const aborted = failures(m.faulty);
  expect(aborted.every((o) => o.code === status.UNAVAILABLE)).toBe(true);
  expect(aborted.length).toBeGreaterThanOrEqual(75);
  expect(aborted.length).toBeLessThanOrEqual(125);
  for (const o of m.faulty) expect(o.ms).toBeGreaterThanOrEqual(RESILIENCE.faultDelayMs - 5);

  // Retries: the backend fails every other call; every RPC succeeds, on its second attempt.
  expect(failures(m.flaky)).toEqual([]);
  expect(m.flakyBackendCalls).toBe(2 * m.flaky.length);

  // Timeout: the backend takes 1 s, the route allows 200 ms.
  for (const o of m.slow) {
    expect(o).toMatchObject({ ok: false, code: status.DEADLINE_EXCEEDED });
    expect(o.ms).toBeLessThan(900);
  }

  // Circuit breaking: 2 requests in flight at most; the others fail at once with UNAVAILABLE.
  const dropped = failures(m.guarded);
  expect(m.guarded.length - dropped.length).toBeGreaterThanOrEqual(RESILIENCE.maxRequests);
  expect(dropped.length).toBeGreaterThanOrEqual(1);
  for (const o of dropped) {
    expect(o.code).toBe(status.UNAVAILABLE);
    expect(o.ms).toBeLessThan(250);
  }
});
