// Observers are isolated from the server (issue 9 point 2): an `xds.events`
// subscriber (direct or through a pipe) and a node:diagnostics_channel
// subscriber that throw are reported as `error` events (XDSKIT_HOOK_FAILED)
// and dropped after 3 failures in a row; nothing reaches the process as an
// uncaught exception, and streams keep being served. Real gRPC on loopback.
import diagnosticsChannel from "node:diagnostics_channel";
import { ErrorCode, TypeUrl } from "@xdskit/envoy-api";
import { filter, map } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { adsClient, type Harness, NODE, node, openSotw, startServer, until } from "../test-support/harness.js";
import { ServerChannels, type XdsServerEvent } from "./index.js";

const CDS = TypeUrl.Cluster;

let harness: Harness | undefined;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);
beforeEach(() => {
  uncaught.length = 0;
  process.prependListener("uncaughtException", onUncaught);
});
afterEach(async () => {
  process.off("uncaughtException", onUncaught);
  await harness?.close();
  harness = undefined;
});

function cache(): FakeWatcher {
  const watcher = new FakeWatcher();
  watcher.set(CDS, "v1", [entry(CDS, "a", "1")]);
  return watcher;
}

/** Opens `count` streams in turn, each answered before the next; returns them. */
async function serveStreams(address: string, count: number, prefix: string) {
  const streams = [];
  for (let i = 0; i < count; i++) {
    const stream = openSotw(adsClient(address));
    stream.send({ node: node(`${prefix}-${i}`), typeUrl: CDS });
    expect((await stream.next()).versionInfo).toBe("v1");
    streams.push(stream);
  }
  return streams;
}

const hookFailures = (events: readonly XdsServerEvent[], pattern: RegExp) =>
  events.filter((e) => e.kind === "error" && e.error.code === ErrorCode.HOOK_FAILED && pattern.test(e.error.message));

describe("xds.events subscribers", () => {
  it("a throwing subscriber is reported, dropped after 3 failures in a row, and never ends the process; others keep their events", async () => {
    harness = await startServer(cache());
    let calls = 0;
    harness.xds.events.subscribe(() => {
      calls += 1;
      throw new Error("subscriber bug");
    });
    let piped = 0;
    harness.xds.events.pipe(filter((e) => e.kind === "response")).subscribe(() => {
      piped += 1;
      throw new Error("piped subscriber bug");
    });
    const good: XdsServerEvent[] = [];
    harness.xds.events.subscribe((e) => good.push(e));

    const streams = await serveStreams(harness.address, 5, "n");
    await until(() => hookFailures(harness!.events, /dropped after 3/).length === 2, 3000, "both subscribers to be dropped");
    expect(calls).toBe(3);
    expect(piped).toBe(3);
    const reports = hookFailures(harness.events, /^an xds\.events subscriber threw on a \S+ event: (piped )?subscriber bug/);
    expect(reports.length).toBeGreaterThanOrEqual(4);
    expect(reports.find((e) => /piped/.test((e as { error: Error }).error.message))?.context?.node.id).toBe("n-0");
    // The good subscriber saw every response, and the reports themselves.
    expect(good.filter((e) => e.kind === "response").length).toBe(5);
    expect(hookFailures(good, /dropped after 3/).length).toBe(2);
    expect(uncaught).toEqual([]);
    for (const s of streams) s.close();
  });

  it("an operator that throws inside a subscriber's pipe is reported, not rethrown", async () => {
    harness = await startServer(cache());
    harness.xds.events
      .pipe(
        map((e) => {
          if (e.kind === "response") throw new Error("map bug");
          return e;
        }),
      )
      .subscribe(() => {});
    const streams = await serveStreams(harness.address, 2, "m");
    await until(() => hookFailures(harness!.events, /map bug/).length === 1, 3000, "the pipe error to be reported");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(uncaught).toEqual([]);
    for (const s of streams) s.close();
  });
});

describe("diagnostics_channel subscribers", () => {
  it("a throwing subscriber is reported, dropped after 3 failures in a row, and never ends the process; unsubscribe still works", async () => {
    harness = await startServer(cache());
    let calls = 0;
    const faulty = () => {
      calls += 1;
      throw new Error("tracer bug");
    };
    const seen: unknown[] = [];
    const healthy = (message: unknown) => seen.push(message);
    diagnosticsChannel.subscribe(ServerChannels.response, faulty);
    diagnosticsChannel.subscribe(ServerChannels.response, healthy);
    try {
      const streams = await serveStreams(harness.address, 5, "d");
      await until(() => hookFailures(harness!.events, /dropped after 3/).length === 1, 3000, "the subscriber to be dropped");
      expect(calls).toBe(3);
      expect(seen.length).toBe(5);
      const report = hookFailures(
        harness.events,
        /^a diagnostics_channel subscriber of xdskit:server:response threw on a response event: tracer bug/,
      );
      expect(report.length).toBe(3);
      expect(report[0]?.context?.node.id).toBe("d-0");
      expect(uncaught).toEqual([]);
      for (const s of streams) s.close();
    } finally {
      expect(diagnosticsChannel.unsubscribe(ServerChannels.response, healthy)).toBe(true);
      diagnosticsChannel.unsubscribe(ServerChannels.response, faulty);
    }
    expect(diagnosticsChannel.channel(ServerChannels.response).hasSubscribers).toBe(false);
    const after = openSotw(adsClient(harness.address));
    after.send({ node: NODE, typeUrl: CDS });
    await after.next();
    expect(seen.length).toBe(5);
    after.close();
  });
});
