// A carrier stream without gRPC, for testing the protocol state machines directly.
import type { ConfigWatcher } from "@xdskit/cache";
import { DeltaDiscoveryResponse, DiscoveryResponse } from "@xdskit/envoy-api";
import type { XdsServerEvent } from "../src/events.js";
import { OutgoingQueue } from "../src/internal/outgoing-queue.js";
import type { CarrierStream } from "../src/internal/stream-machine.js";
import { Nonces, type StreamFailure } from "../src/internal/stream-rules.js";
import { resolveServerOptions, type XdsServerOptions } from "../src/options.js";
import { NODE } from "./harness.js";

export function testEnv(cache: ConfigWatcher, options: Omit<XdsServerOptions, "cache"> = {}, ads = true, serviceTypeUrl?: string) {
  const resolved = resolveServerOptions({ cache, ...options });
  const events: XdsServerEvent[] = [];
  const messages: Buffer[] = [];
  const failures: StreamFailure[] = [];
  const queue = new OutgoingQueue({
    write: (message, done) => {
      messages.push(message);
      done();
    },
    rank: (t) => resolved.types.get(t)?.order ?? 100,
    ordered: resolved.ordered,
    onError: (e) => {
      throw e;
    },
  });
  const env: CarrierStream = {
    streamId: 1,
    node: NODE,
    ads,
    serviceTypeUrl,
    options: resolved,
    queue,
    nonces: new Nonces(),
    context: (typeUrl) => ({ streamId: 1, node: NODE, typeUrl, protocol: "sotw", ads, peer: "test", method: "test" }),
    emit: (e) => events.push(e),
    fail: (f) => failures.push(f),
  };
  const flush = async () => {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  };
  return {
    env,
    events,
    failures,
    flush,
    sotw: () => messages.splice(0).map((m) => DiscoveryResponse.decode(m)),
    delta: () => messages.splice(0).map((m) => DeltaDiscoveryResponse.decode(m)),
  };
}
