import type { ConfigWatcher, DeltaResponse, DeltaWatchRequest } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { NEVER, Observable } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { entry } from "../test-support/fake-watcher.js";
import { adsClient, type Harness, NODE, openDelta, startServer, until } from "../test-support/harness.js";

const CDS = TypeUrl.Cluster;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A watcher whose delta watches are answered by the test, one emitter per watch. */
function scriptedDelta() {
  const watches: Array<{ request: DeltaWatchRequest; answer: (r: DeltaResponse) => void }> = [];
  const cache: ConfigWatcher = {
    watchSotw: () => NEVER,
    watchDelta: (request) =>
      new Observable<DeltaResponse>((subscriber) => {
        watches.push({
          request,
          answer: (r) => {
            subscriber.next(r);
            subscriber.complete();
          },
        });
      }),
    fetch: async () => undefined,
  };
  return { cache, watches };
}

describe("XdsServer TTL heartbeats", () => {
  it("delta: a heartbeat is a Resource with name, version and TTL but no body, and keeps what the client holds", async () => {
    const { cache, watches } = scriptedDelta();
    harness = await startServer(cache);
    const stream = openDelta(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNamesSubscribe: ["a"] });
    await until(() => watches.length === 1, 2000, "first watch");
    const a = entry(CDS, "a", "1", 0, 2000);
    watches[0]!.answer({ typeUrl: CDS, systemVersion: "s1", resources: [a], removed: [] });
    const first = await stream.next();
    expect(first.resources[0]!.resource?.typeUrl).toBe(CDS);
    stream.send({ typeUrl: CDS, responseNonce: first.nonce });
    await until(() => watches.length === 2, 2000, "watch after the first send");
    watches[1]!.answer({ typeUrl: CDS, systemVersion: "s1", resources: [a], removed: [], heartbeat: true });
    const beat = await stream.next();
    expect(beat.resources.length).toBe(1);
    const [refresh] = beat.resources;
    expect(refresh).toMatchObject({ name: "a", version: "1" });
    expect(refresh!.ttl!.seconds.toNumber()).toBe(2);
    expect(refresh!.resource).toBeUndefined();
    expect(beat.removedResources).toEqual([]);
    stream.send({ typeUrl: CDS, responseNonce: beat.nonce });
    await until(() => watches.length === 3, 2000, "watch after the heartbeat");
    expect([...watches[2]!.request.clientVersions]).toEqual([["a", "1"]]);
    stream.close();
  });
});
