import { status } from "@grpc/grpc-js";
import type { Outcome } from "./greeter.js";
import { RESILIENCE } from "./resilience.js";
import { measure } from "./run.js";

const summary = (outcomes: readonly Outcome[]) => {
  const byResult: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.ok ? "OK" : status[o.code];
    byResult[key] = (byResult[key] ?? 0) + 1;
  }
  const slowest = Math.max(...outcomes.map((o) => o.ms));
  return `${JSON.stringify(byResult)}, slowest ${slowest} ms`;
};

const m = await measure(Number(process.env.PORT ?? 0));
console.log(
  `faulty  (${RESILIENCE.faultDelayMs} ms delay, ${RESILIENCE.faultAbortPercent}% aborted), 200 RPCs at once: ${summary(m.faulty)}`,
);
console.log(
  `flaky   (backend fails every other call; ${RESILIENCE.retries} retries), 20 RPCs: ${summary(m.flaky)}; the backend saw ${m.flakyBackendCalls} calls`,
);
console.log(`slow    (backend takes 1 s; ${RESILIENCE.timeoutMs} ms max stream duration), 3 RPCs: ${summary(m.slow)}`);
console.log(`guarded (${RESILIENCE.maxRequests} requests in flight at most), 6 RPCs 20 ms apart: ${summary(m.guarded)}`);
// grpc-js-xds keeps its xDS client alive for a while after the last channel closes.
process.exit(0);
