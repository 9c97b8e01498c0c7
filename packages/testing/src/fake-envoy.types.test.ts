// Type tests: what FakeEnvoy's API infers is part of its API.
import { TypeUrl } from "@xdskit/envoy-api";
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
    // waitForResource resolves with the message its type URL names; resources take the message type.
    const cluster = (envoy: FakeEnvoy) => envoy.waitForResource(TypeUrl.Cluster, "a");
    expectTypeOf(cluster).returns.toEqualTypeOf<Promise<Cluster>>();
    const listener = (envoy: FakeEnvoy) => envoy.waitForResource(TypeUrl.Listener, "a");
    expectTypeOf(listener).returns.toEqualTypeOf<Promise<Listener>>();
    const unknownType = (envoy: FakeEnvoy) => envoy.waitForResource("type.googleapis.com/some.Other", "a");
    expectTypeOf(unknownType).returns.toEqualTypeOf<Promise<unknown>>();
    expectTypeOf<ReturnType<FakeEnvoy["resources"]>>().toEqualTypeOf<ReadonlyMap<string, RunningResource<unknown>>>();
    expectTypeOf<FakeEnvoy>().toHaveProperty(Symbol.asyncDispose);
  });
});
