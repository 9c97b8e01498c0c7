// The status feed (GET /v1/events) of an in-process serve: the overview on
// connect and after a change, at most 16 streams at once, and a slot freed
// when a client goes away.
import { TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { type Serving, serve } from "./serve.js";
import { STATUS_FEED_DEFAULTS } from "./status-feed.js";

let running: Serving | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** Opens /v1/events; `next()` resolves with the next overview sent. */
async function events(port: number, signal?: AbortSignal) {
  const response = await fetch(`http://127.0.0.1:${port}/v1/events`, { ...(signal ? { signal } : {}) });
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    status: response.status,
    async next(): Promise<any> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").find((l) => l.startsWith("data: "));
          if (data) return JSON.parse(data.slice(6));
          continue;
        }
        const { value, done } = await (reader as ReadableStreamDefaultReader<string>).read();
        if (done) throw new Error("the stream ended");
        buffer += value;
      }
    },
  };
}

describe("GET /v1/events", () => {
  it("sends the overview on connect and after each change; at most 16 streams, and a closed one frees its slot", async () => {
    running = await serve({ xdsAddress: "127.0.0.1:0", adminPort: 0, log: () => undefined });
    const port = running.adminPort;
    const controllers = Array.from({ length: STATUS_FEED_DEFAULTS.maxClients }, () => new AbortController());
    const streams = await Promise.all(controllers.map((c) => events(port, c.signal)));
    expect(streams.map((s) => s.status)).toEqual(streams.map(() => 200));
    expect(await streams[0]?.next()).toEqual({ groups: [], nodes: [] });

    const change = await fetch(`http://127.0.0.1:${port}/v1/groups/edge/resources`, {
      method: "PUT",
      body: JSON.stringify({ resources: [{ "@type": TypeUrl.Cluster, name: "a", connect_timeout: "1s", type: "STATIC" }] }),
    });
    expect(change.status).toBe(200);
    expect(await streams[0]?.next()).toMatchObject({ groups: [{ group: "edge", version: "files-1.api-1", canary: null }] });

    const refused = await fetch(`http://127.0.0.1:${port}/v1/events`);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: string }).error).toMatch(/at most 16 event streams.*poll GET \/v1\/overview/);

    controllers[1]?.abort();
    await expect
      .poll(async () => {
        const again = await fetch(`http://127.0.0.1:${port}/v1/events`);
        const status = again.status;
        await again.body?.cancel();
        return status;
      })
      .toBe(200);
    for (const c of controllers) c.abort();
  });
});
