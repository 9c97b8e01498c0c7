// The xDS port of `xdskit serve` (and of each `--workers` worker): xDS and
// CSDS served on grpc-js (`--transport grpc`, xds.register + addCsdsService)
// or on node:http2 (`--transport http2`, xds.serveHttp2 with its csds
// option), plaintext or TLS/mTLS from the same flags. Both transports are the
// same XdsServer: streams, limits, hooks, status and CSDS answers do not
// depend on the choice (docs/serve.md, "Transports").
import { readFileSync } from "node:fs";
import type { Http2SecureServer, Http2Server, Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { optionError } from "@xdskit/envoy-api";
import { addCsdsService, type CsdsOptions, type XdsServer } from "@xdskit/server";

/** `--transport`: which gRPC implementation serves the xDS port. */
export type Transport = "grpc" | "http2";

/** The values of `--transport`, the default first. */
export const TRANSPORTS: readonly Transport[] = Object.freeze(["grpc", "http2"]);

/**
 * node:http2 settings of `--transport http2`. grpc-js serves without a
 * per-connection stream cap or session memory cap; these keep such bounds
 * generous for clients that multiplex many streams on one connection (grpc-js
 * channels, load generators), while xdskit's own limits (`maxConcurrentStreams`
 * and the per-peer ones) bound the server as on grpc-js.
 */
export const HTTP2_SETTINGS = Object.freeze({
  /** Streams one connection may open at once (Envoy opens one ADS stream per connection). */
  maxConcurrentStreamsPerConnection: 10_000,
  /** MiB of HTTP/2 state and queued data per connection (node's default, 10, refuses new streams past it). */
  maxSessionMemoryMiB: 1_000,
});

/** How long closing waits for the connections to deliver their streams' final status (after shutdown) before dropping them. */
export const CLOSE_GRACE_MS = 1_000;

/** Checks `--transport` (or the `transport:` setting): `grpc` or `http2`. */
export function checkTransport(value: unknown): Transport {
  if (typeof value !== "string" || !(TRANSPORTS as readonly string[]).includes(value)) {
    throw optionError("xdskit serve", "transport", `one of ${TRANSPORTS.join(", ")} (default grpc)`, value);
  }
  return value as Transport;
}

/** Where and how to serve the xDS port. */
export interface XdsListenerOptions {
  readonly transport: Transport;
  /** `host:port` (`[v6]:port` for IPv6); port 0 picks a free one. */
  readonly address: string;
  /** TLS: certificate chain and key files (PEM). Default: plaintext (h2c). */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** mTLS: clients must present a certificate this CA (PEM file) signed. */
  readonly tlsClientCa?: string;
  /** CSDS on the same port, answered from these options. */
  readonly csds: CsdsOptions;
  /** A failure of the listening socket after it listens (e.g. `accept` out of file descriptors); serving goes on. */
  readonly onError: (error: Error) => void;
}

/** A listening xDS port. */
export interface XdsListener {
  readonly port: number;
  /**
   * Stops listening and closes the connections; call after `xds.shutdown()`
   * (which sent GOAWAY and ended the streams). The connections get up to
   * {@link CLOSE_GRACE_MS} to deliver the streams' last status (UNAVAILABLE)
   * before they are dropped.
   */
  close(): Promise<void>;
}

/** Serves `xds` and CSDS on `options.address`; resolves once listening, rejects if it cannot bind. */
export async function listenXds(xds: XdsServer, options: XdsListenerOptions): Promise<XdsListener> {
  return options.transport === "http2" ? listenHttp2(xds, options) : listenGrpc(xds, options);
}

async function listenGrpc(xds: XdsServer, options: XdsListenerOptions): Promise<XdsListener> {
  const { Server, ServerCredentials } = await import("@grpc/grpc-js");
  const server = new Server();
  xds.register(server);
  addCsdsService(server, options.csds);
  const credentials =
    options.tlsCert && options.tlsKey
      ? ServerCredentials.createSsl(
          options.tlsClientCa ? readFileSync(options.tlsClientCa) : null,
          [{ cert_chain: readFileSync(options.tlsCert), private_key: readFileSync(options.tlsKey) }],
          options.tlsClientCa !== undefined,
        )
      : ServerCredentials.createInsecure();
  try {
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(options.address, credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    return {
      port,
      close: async () => {
        // tryShutdown lets the streams' last status leave (forceShutdown alone would cut them: CANCELLED, not UNAVAILABLE).
        await withinGrace(new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
        server.forceShutdown();
      },
    };
  } catch (error) {
    server.forceShutdown();
    throw error;
  }
}

/** Waits for `done`, at most {@link CLOSE_GRACE_MS}. */
async function withinGrace(done: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
  clearTimeout(timer);
}

/** `host:port` or `[v6]:port` as listen() arguments. */
function hostAndPort(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (match === null || port > 65_535) {
    throw optionError(
      "xdskit serve",
      "xds",
      "host:port, or [ipv6]:port, with --transport http2 (e.g. 0.0.0.0:18000 or [::]:18000)",
      address,
    );
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

async function listenHttp2(xds: XdsServer, options: XdsListenerOptions): Promise<XdsListener> {
  const { host, port } = hostAndPort(options.address);
  const http2 = await import("node:http2");
  const common = {
    maxSessionMemory: HTTP2_SETTINGS.maxSessionMemoryMiB,
    settings: { maxConcurrentStreams: HTTP2_SETTINGS.maxConcurrentStreamsPerConnection },
  };
  const server: Http2Server | Http2SecureServer =
    options.tlsCert && options.tlsKey
      ? http2.createSecureServer({
          ...common,
          cert: readFileSync(options.tlsCert),
          key: readFileSync(options.tlsKey),
          ...(options.tlsClientCa ? { ca: readFileSync(options.tlsClientCa), requestCert: true, rejectUnauthorized: true } : {}),
        })
      : http2.createServer(common);
  xds.serveHttp2(server, { csds: options.csds });
  // Kept to drop them on close: after shutdown's GOAWAY, a client that keeps its connection would hold server.close().
  const sessions = new Set<Http2Session>();
  server.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  // A session's protocol error is that client's problem (node then destroys the session); it never stops serve.
  server.on("sessionError", () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", options.onError);
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.close();
      // Each GOAWAY'd session closes by itself once its streams (ended with a status) are done.
      await withinGrace(Promise.all([...sessions].map((session) => new Promise((resolve) => session.once("close", resolve)))));
      for (const session of sessions) session.destroy();
    },
  };
}
