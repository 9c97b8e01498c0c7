import { SnapshotCache } from "@xdskit/cache";
import { ErrorCode } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { Subject } from "rxjs";
import { describe, expect, it, vi } from "vitest";
import type { StreamFailure } from "./stream-rules.js";
import { TypeWatch } from "./type-watch.js";

const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

function harness() {
  const failures: StreamFailure[] = [];
  const env = { node: { id: "n1" } as never, fail: (f: StreamFailure) => failures.push(f) };
  const answers: { typeUrl: string }[] = [];
  const watch = new TypeWatch<{ typeUrl: string }>(env, CDS, "watch");
  return { watch, answers, failures, onResponse: (r: { typeUrl: string }) => answers.push(r) };
}

describe("TypeWatch", () => {
  it("delivers one answer, then is closed and unsubscribed", () => {
    const h = harness();
    const source = new Subject<{ typeUrl: string }>();
    h.watch.open(() => source, h.onResponse);
    expect(h.watch.isOpen).toBe(true);
    source.next({ typeUrl: CDS });
    source.next({ typeUrl: CDS });
    expect(h.answers).toHaveLength(1);
    expect(h.watch.isOpen).toBe(false);
    expect(source.observed).toBe(false);
  });

  it("delivers an answer emitted while subscribe is still running, once", () => {
    const h = harness();
    h.watch.open(
      () =>
        ({
          subscribe: (observer: { next(r: { typeUrl: string }): void }) => {
            observer.next({ typeUrl: CDS });
            observer.next({ typeUrl: CDS });
            return { unsubscribe() {} };
          },
        }) as never,
      h.onResponse,
    );
    expect(h.answers).toHaveLength(1);
    expect(h.watch.isOpen).toBe(false);
  });

  it("ignores whatever a cancelled or replaced watch emits later", () => {
    const h = harness();
    const first = new Subject<{ typeUrl: string }>();
    const second = new Subject<{ typeUrl: string }>();
    h.watch.open(() => first, h.onResponse);
    h.watch.open(() => second, h.onResponse);
    expect(first.observed).toBe(false);
    first.next({ typeUrl: CDS });
    h.watch.cancel();
    second.next({ typeUrl: CDS });
    second.error(new Error("late"));
    expect(h.answers).toEqual([]);
    expect(h.failures).toEqual([]);
  });

  it("ends the stream with INTERNAL when the cache answers for another type, errors, or throws", () => {
    const wrongType = harness();
    const source = new Subject<{ typeUrl: string }>();
    wrongType.watch.open(() => source, wrongType.onResponse);
    source.next({ typeUrl: EDS });
    expect(wrongType.answers).toEqual([]);
    expect(wrongType.failures[0]?.status.code).toBe(13);
    expect(wrongType.failures[0]?.error.code).toBe(ErrorCode.CACHE_FAILED);
    expect(wrongType.failures[0]?.error.message).toBe(`the cache failed a ${CDS} watch: watch for ${CDS} emitted a response for ${EDS}`);

    const errors = harness();
    const failing = new Subject<{ typeUrl: string }>();
    errors.watch.open(() => failing, errors.onResponse);
    failing.error(new Error("boom"));
    expect(errors.failures.map((f) => f.error.message)).toEqual([`the cache failed a ${CDS} watch: boom`]);
    expect(errors.watch.isOpen).toBe(false);

    const throws = harness();
    const cause = new Error("cannot watch");
    throws.watch.open(() => {
      throw cause;
    }, throws.onResponse);
    expect(throws.failures[0]?.error.cause).toBe(cause);
    expect(throws.failures[0]?.error.nodeId).toBe("n1");
  });

  it("opens a cache's own watch (CacheWatch) without subscribing, and a handler that throws ends only this stream", () => {
    const cache = new SnapshotCache();
    cache.setSnapshot("n1", {
      version: "1",
      resources: { [CDS]: [Cluster.fromPartial({ name: "web", type: 3, edsClusterConfig: { serviceName: "web" } })] },
    });
    const node = { id: "n1" } as never;
    const request = {
      streamId: 1,
      node,
      typeUrl: CDS,
      ads: true,
      wildcard: true,
      names: new Set<string>(),
      versionInfo: "",
      forceResponse: false,
    };
    const observable = cache.watchSotw(request);
    const subscribe = vi.spyOn(observable, "subscribe");
    const h = harness();
    h.watch.open(() => observable, h.onResponse);
    expect(subscribe).not.toHaveBeenCalled();
    expect(h.answers).toHaveLength(1);

    const throwing = harness();
    throwing.watch.open(
      () => cache.watchSotw(request),
      () => {
        throw new Error("handler bug");
      },
    );
    expect(throwing.failures[0]?.status.code).toBe(13);
    expect(throwing.failures[0]?.error.code).toBe(ErrorCode.INTERNAL);
    expect(throwing.failures[0]?.error.message).toBe(`internal error handling a ${CDS} response: handler bug`);
    expect(h.failures).toEqual([]);
  });
});
