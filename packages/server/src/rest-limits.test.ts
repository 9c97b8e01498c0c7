// REST listener hardening over real HTTP sockets (raw TCP clients, so the
// test sees exactly what a hostile client sees): an oversized body is refused
// and the connection closed without the server reading the rest; a client
// that never finishes its headers, or trickles its body, is cut off by the
// timeouts; connections beyond the cap are refused.
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { TypeUrl } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { entry, FakeWatcher } from "../test-support/fake-watcher.js";
import { DEFAULT_REST_SERVER_OPTIONS, XdsServer } from "./index.js";

const LIMIT = 64 * 1024;
const BODY = 64 * 1024 * 1024;

const open: Server[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of open.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

function xdsServer(): XdsServer {
  const cache = new FakeWatcher();
  cache.set(TypeUrl.Cluster, "v1", [entry(TypeUrl.Cluster, "web", "1")]);
  return new XdsServer({ cache, maxRequestBytes: LIMIT });
}

/** Listens on loopback; records the server side of every connection. */
async function listen(server: Server): Promise<{ port: number; sockets: Socket[] }> {
  open.push(server);
  const sockets: Socket[] = [];
  server.on("connection", (s: Socket) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, sockets };
}

/** A raw TCP client that records what it receives and when it was closed. */
class RawClient {
  readonly socket: Socket;
  received = "";
  closed = false;
  readonly whenClosed: Promise<void>;
  readonly connected: Promise<void>;
  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    clients.push(this.socket);
    this.socket.on("data", (d: Buffer) => {
      this.received += d.toString("latin1");
    });
    this.socket.on("error", () => {});
    this.connected = new Promise((resolve) => this.socket.once("connect", () => resolve()));
    this.whenClosed = new Promise((resolve) =>
      this.socket.once("close", () => {
        this.closed = true;
        resolve();
      }),
    );
  }
  /** Writes `total` bytes of body in 64 KiB chunks, honouring backpressure, until done or closed; returns bytes written. */
  async pump(total: number): Promise<number> {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let written = 0;
    while (written < total && !this.closed && !this.socket.destroyed) {
      const ok = this.socket.write(chunk);
      written += chunk.length;
      if (!ok) await Promise.race([new Promise((r) => this.socket.once("drain", r)), this.whenClosed]);
    }
    return written;
  }
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("REST listener limits", () => {
  const servers = {
    "xds.restServer()": (xds: XdsServer) => xds.restServer(),
    "a server of the user's own": (xds: XdsServer) => createServer(xds.restListener()),
  };
  for (const [label, make] of Object.entries(servers)) {
    for (const framing of ["content-length", "chunked"] as const) {
      it(`answers an oversized ${framing} body with 413 and closes the connection without reading the body (${label})`, async () => {
        const { port, sockets } = await listen(make(xdsServer()));
        const client = new RawClient(port);
        await client.connected;
        const head =
          framing === "content-length"
            ? `POST /v3/discovery:clusters HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY}\r\n\r\n`
            : `POST /v3/discovery:clusters HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${BODY.toString(16)}\r\n`;
        client.socket.write(head);
        const written = await client.pump(BODY);
        await within(client.whenClosed, 5_000, "the server closing the connection");
        expect(client.received).toMatch(/^HTTP\/1\.1 413 /);
        expect(client.received.toLowerCase()).toContain("connection: close");
        expect(client.received).toContain("maxRequestBytes");
        // The server read the limit and little more, not the 64 MiB the client offered.
        const serverSide = sockets[0]!;
        expect(serverSide.bytesRead).toBeLessThan(LIMIT + 4 * 1024 * 1024);
        expect(written).toBeLessThan(BODY);
      });
    }
  }

  it("closes a connection whose headers never finish (slowloris) after headersTimeoutMs", async () => {
    const { port } = await listen(xdsServer().restServer({ headersTimeoutMs: 200, requestTimeoutMs: 400 }));
    const client = new RawClient(port);
    await client.connected;
    client.socket.write("POST /v3/discovery:clusters HTTP/1.1\r\nHost: x\r\n");
    const start = Date.now();
    const trickle = setInterval(() => {
      if (!client.closed) client.socket.write(`x-slow-${Date.now()}: 1\r\n`);
    }, 50);
    try {
      await within(client.whenClosed, 5_000, "closing the slowloris connection");
    } finally {
      clearInterval(trickle);
    }
    expect(Date.now() - start).toBeGreaterThanOrEqual(150);
    expect(client.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("closes a connection that trickles its body after requestTimeoutMs", async () => {
    const { port } = await listen(xdsServer().restServer({ headersTimeoutMs: 200, requestTimeoutMs: 400 }));
    const client = new RawClient(port);
    await client.connected;
    client.socket.write("POST /v3/discovery:clusters HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{");
    const trickle = setInterval(() => {
      if (!client.closed) client.socket.write(" ");
    }, 50);
    try {
      await within(client.whenClosed, 5_000, "closing the slow-body connection");
    } finally {
      clearInterval(trickle);
    }
    expect(client.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("closes an idle keep-alive connection after keepAliveTimeoutMs", async () => {
    const { port } = await listen(xdsServer().restServer({ keepAliveTimeoutMs: 100 }));
    const client = new RawClient(port);
    await client.connected;
    const body = JSON.stringify({ node: { id: "n" } });
    client.socket.write(`POST /v3/discovery:clusters HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await within(client.whenClosed, 5_000, "closing the idle keep-alive connection");
    expect(client.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(client.received.toLowerCase()).toContain("keep-alive: timeout=");
  });

  it("refuses connections beyond maxConnections, and accepts again once one closes", async () => {
    const server = xdsServer().restServer({ maxConnections: 2 });
    const { port, sockets } = await listen(server);
    const dropped: unknown[] = [];
    server.on("drop", (d) => dropped.push(d));
    const first = new RawClient(port);
    const second = new RawClient(port);
    await Promise.all([first.connected, second.connected]);
    await within(
      (async () => {
        while (sockets.length < 2) await new Promise((r) => setTimeout(r, 10));
      })(),
      5_000,
      "the server accepting two connections",
    );
    const third = new RawClient(port);
    const body = JSON.stringify({ node: { id: "n" } });
    const request = `POST /v3/discovery:clusters HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    third.socket.write(request);
    await within(third.whenClosed, 5_000, "refusing the third connection");
    expect(third.received).toBe("");
    expect(dropped.length).toBe(1);
    expect(first.closed || second.closed).toBe(false);

    first.socket.destroy();
    await within(
      (async () => {
        while ((await new Promise<number>((r, j) => server.getConnections((e, n) => (e ? j(e) : r(n))))) > 1) {
          await new Promise((r) => setTimeout(r, 10));
        }
      })(),
      5_000,
      "the server seeing the first connection close",
    );
    const fourth = new RawClient(port);
    fourth.socket.write(request.replace("HTTP/1.1\r\n", "HTTP/1.1\r\nConnection: close\r\n"));
    await within(fourth.whenClosed, 5_000, "the fourth connection being answered");
    expect(fourth.received).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("applies documented defaults, and refuses bad options with XDSKIT_INVALID_OPTION", () => {
    const xds = xdsServer();
    const server = xds.restServer();
    expect(DEFAULT_REST_SERVER_OPTIONS).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 1_000,
    });
    expect(server.headersTimeout).toBe(10_000);
    expect(server.requestTimeout).toBe(30_000);
    expect(server.keepAliveTimeout).toBe(5_000);
    expect(server.maxConnections).toBe(1_000);
    const bad = [
      [{ headersTimeoutMs: 0 }, "headersTimeoutMs"],
      [{ requestTimeoutMs: -1 }, "requestTimeoutMs"],
      [{ headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 }, "at least headersTimeoutMs"],
      [{ keepAliveTimeoutMs: 1.5 }, "keepAliveTimeoutMs"],
      [{ maxConnections: "10" }, "maxConnections"],
      [{ maxConnection: 10 }, "unknown option"],
    ] as const;
    for (const [options, message] of bad) {
      expect(() => xds.restServer(options as never), message).toThrow(
        expect.objectContaining({ code: "XDSKIT_INVALID_OPTION", message: expect.stringContaining(message) }),
      );
    }
  });
});
