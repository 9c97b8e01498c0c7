// Fetch (gRPC Fetch*) and REST-JSON go through the admission control of
// streams (issue 9 point 8): an answered fetch holds a slot of
// maxConcurrentStreams, and spends a token of newStreamsPerSecond; over
// either, RESOURCE_EXHAUSTED / HTTP 429 naming the option. Real sockets.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { credentials, status } from "@grpc/grpc-js";
import { ClusterDiscoveryServiceClient, DiscoveryRequest, type DiscoveryResponse, TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { adsClient, type Harness, NODE, openSotw, startServer, until } from "../test-support/harness.js";
import type { XdsServerOptions } from "./index.js";

const CDS = TypeUrl.Cluster;

let harness: Harness | undefined;
let http: Server | undefined;
let base = "";
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  if (http !== undefined) await new Promise<void>((resolve) => http!.close(() => resolve()));
  http = undefined;
});

async function start(options: Omit<XdsServerOptions, "cache">): Promise<Harness> {
  const watcher = new FakeWatcher();
  watcher.set(CDS, "v1", [entry(CDS, "a", "1")]);
  harness = await startServer(watcher, options);
  http = createServer(harness.xds.restListener());
  await new Promise<void>((resolve) => http!.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return harness;
}

type Outcome = { ok: true; response: DiscoveryResponse } | { ok: false; code: number; details: string };

async function grpcFetch(address: string): Promise<Outcome> {
  const client = new ClusterDiscoveryServiceClient(address, credentials.createInsecure());
  try {
    return await new Promise<Outcome>((resolve) =>
      client.fetchClusters(DiscoveryRequest.fromPartial({ node: NODE }), (error, response) =>
        resolve(error ? { ok: false, code: error.code!, details: error.details! } : { ok: true, response: response! }),
      ),
    );
  } finally {
    client.close();
  }
}

async function restFetch(): Promise<{ status: number; error?: string }> {
  const response = await fetch(`${base}/v3/discovery:clusters`, { method: "POST", body: JSON.stringify({ node: { id: "node-1" } }) });
  const text = await response.text();
  return { status: response.status, ...(response.status === 200 ? {} : { error: JSON.parse(text).error }) };
}

describe("fetches under admission control", () => {
  it("maxConcurrentStreams: a fetch is refused while streams hold every slot, and answered once one is free", async () => {
    const h = await start({ maxConcurrentStreams: 1 });
    const stream = openSotw(adsClient(h.address));
    stream.send({ node: NODE, typeUrl: CDS });
    await stream.next();
    const viaGrpc = await grpcFetch(h.address);
    expect(viaGrpc).toMatchObject({
      ok: false,
      code: status.RESOURCE_EXHAUSTED,
      details: expect.stringContaining("maxConcurrentStreams = 1"),
    });
    const viaRest = await restFetch();
    expect(viaRest.status).toBe(429);
    expect(viaRest.error).toContain("maxConcurrentStreams = 1");
    expect(h.events.filter((e) => e.kind === "stream-rejected").length).toBe(2);
    stream.close();
    await until(() => h.xds.stats.streams === 0, 3000, "the stream to be released");
    expect((await grpcFetch(h.address)).ok).toBe(true);
    expect((await restFetch()).status).toBe(200);
  });

  it("a fetch waiting for onStreamOpen holds its slot; streams are refused meanwhile; the slot is given back after the answer", async () => {
    let release: () => void = () => {};
    const gate = new Promise<undefined>((resolve) => {
      release = () => resolve(undefined);
    });
    const h = await start({ maxConcurrentStreams: 1, callbacks: { onStreamOpen: () => gate } });
    const pending = grpcFetch(h.address);
    await until(() => h.xds.stats.fetches === 1, 3000, "the fetch to be admitted");
    const stream = openSotw(adsClient(h.address));
    stream.send({ node: NODE, typeUrl: CDS });
    expect(await stream.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    release();
    expect((await pending).ok).toBe(true);
    expect(h.xds.stats.fetches).toBe(0);
  });

  it("newStreamsPerSecond: fetches and streams spend the same tokens", async () => {
    const h = await start({ newStreamsPerSecond: 0.01, newStreamBurst: 2 });
    expect((await grpcFetch(h.address)).ok).toBe(true);
    expect((await restFetch()).status).toBe(200);
    const viaGrpc = await grpcFetch(h.address);
    expect(viaGrpc).toMatchObject({ ok: false, code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining("newStreamsPerSecond") });
    const viaRest = await restFetch();
    expect(viaRest.status).toBe(429);
    expect(viaRest.error).toContain("newStreamsPerSecond");
    const stream = openSotw(adsClient(h.address));
    stream.send({ node: NODE, typeUrl: CDS });
    expect(await stream.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringContaining("newStreamsPerSecond") });
  });
});
