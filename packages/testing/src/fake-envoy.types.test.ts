// Type tests: what FakeEnvoy's API infers is part of its API.
import type { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import type { Listener } from "@xdskit/envoy-api/envoy/config/listener/v3/listener";
import { describe, expectTypeOf, it } from "vitest";
import type { FakeEnvoy, ResponseRecord, RunningResource, StreamEnd } from "./index.js";

describe("FakeEnvoy types", () => {
  it("types the running config, waits and records", () => {
    expectTypeOf<FakeEnvoy["clusters"]>().toEqualTypeOf<ReadonlyMap<string, Cluster>>();
    expectTypeOf<FakeEnvoy["listeners"]>().toEqualTypeOf<ReadonlyMap<string, Listener>>();
    expectTypeOf<FakeEnvoy["waitForNack"]>().returns.toEqualTypeOf<Promise<ResponseRecord>>();
    expectTypeOf<FakeEnvoy["waitForStreamEnd"]>().returns.toEqualTypeOf<Promise<StreamEnd>>();
    expectTypeOf<FakeEnvoy["waitForEndpoints"]>().returns.toEqualTypeOf<Promise<string[]>>();
    // waitFor resolves with what the probe returns, minus the falsy "not yet" values.
    const waitForListener = (envoy: FakeEnvoy) => envoy.waitFor((e) => e.listeners.get("ingress"));
    expectTypeOf(waitForListener).returns.toEqualTypeOf<Promise<Listener>>();
    // waitForResource and resources take the message type.
    const cluster = (envoy: FakeEnvoy) => envoy.waitForResource<Cluster>("t", "a");
    expectTypeOf(cluster).returns.toEqualTypeOf<Promise<RunningResource<Cluster>>>();
    expectTypeOf<FakeEnvoy>().toHaveProperty(Symbol.asyncDispose);
  });
});
