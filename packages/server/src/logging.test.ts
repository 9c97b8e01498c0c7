// What the server logs, over real gRPC streams.
import type { XdsLogger } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { adsClient, type Harness, NODE, openSotw, startServer, until } from "../test-support/harness.js";
import { serverEventLogger } from "./logging.js";

const CDS = TypeUrl.Cluster;

function recorder(): XdsLogger & { lines: { level: string; bindings: Record<string, unknown>; message: string }[] } {
  const lines: { level: string; bindings: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (bindings: object, message: string) =>
    lines.push({ level, bindings: bindings as Record<string, unknown>, message });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("server logging", () => {
  it("logs a NACK once with its detail (not on every retry), and a response over the client's limit once, each with node, stream and type", async () => {
    const logger = recorder();
    const cache = new FakeWatcher();
    cache.set(CDS, "v1", [entry(CDS, "a", "1")]);
    harness = await startServer(cache, { logger, maxResponseBytes: 8 * 1024 });
    const stream = openSotw(adsClient(harness.address));
    stream.send({ node: NODE, typeUrl: CDS, resourceNames: ["a"] });
    const first = await stream.next();
    stream.send({ typeUrl: CDS, versionInfo: "v1", resourceNames: ["a"], responseNonce: first.nonce });
    cache.set(CDS, "v2", [entry(CDS, "a", "2")]);
    const second = await stream.next();
    const nack = {
      typeUrl: CDS,
      versionInfo: "v1",
      resourceNames: ["a"],
      responseNonce: second.nonce,
      errorDetail: { code: 3, message: "bad a" },
    };
    stream.send(nack);
    stream.send(nack); // the client retries with the same NACK
    await until(() => harness!.events.filter((e) => e.kind === "nack" || e.kind === "request").length >= 4);
    cache.set(CDS, "v3", [entry(CDS, "a", "3", 20_000)]); // over maxResponseBytes: not sent, reported
    await until(() => harness!.events.some((e) => e.kind === "error"), 2000, "the too-large error");
    cache.set(CDS, "v3", [entry(CDS, "a", "3", 20_000)]);

    const warnings = logger.lines.filter((l) => l.level === "warn");
    const nacks = warnings.filter((l) => /rejected \(NACK\)/.test(l.message));
    expect(nacks).toHaveLength(1);
    expect(nacks[0]!.message).toBe(`node "${NODE.id}" rejected (NACK) version v2 of ${CDS} and keeps v1: bad a`);
    expect(nacks[0]!.bindings).toMatchObject({ nodeId: NODE.id, streamId: expect.any(Number), typeUrl: CDS, rejectedVersion: "v2" });
    const tooLarge = warnings.filter((l) => l.bindings.code === "XDSKIT_RESPONSE_TOO_LARGE");
    expect(tooLarge).toHaveLength(1);
    expect(tooLarge[0]!.bindings).toMatchObject({ nodeId: NODE.id, typeUrl: CDS });
    expect(logger.lines.filter((l) => l.level === "debug").map((l) => l.message)).toContain("stream opened");
    stream.close();
  });

  it("refuses a logger without the four methods", async () => {
    const cache = new FakeWatcher();
    await expect(startServer(cache, { logger: { warn() {} } as never })).rejects.toThrow(/option "logger"/);
  });

  it("asks a pino-style logger whether debug is on at each event, and builds no debug line while it is off", () => {
    const logger = Object.assign(recorder(), {
      level: "info",
      isLevelEnabled(level: string) {
        return level !== "debug" || this.level === "debug";
      },
    });
    const log = serverEventLogger(logger);
    const context = { streamId: 1, node: NODE, typeUrl: CDS, protocol: "sotw", ads: true, peer: "p", method: "m" } as never;
    log({ kind: "ack", context, version: "v1", nonce: "1", at: 0 } as never);
    expect(logger.lines).toEqual([]);
    logger.level = "debug";
    log({ kind: "ack", context, version: "v2", nonce: "2", at: 0 } as never);
    expect(logger.lines.map((l) => [l.level, l.message, l.bindings.version])).toEqual([["debug", "ACK", "v2"]]);
  });
});
