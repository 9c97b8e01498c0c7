// What the server reports: one context object per stream or fetch, events
// that carry it, and the callbacks that receive them.
import type { XdsProtocol } from "@xdskit/cache";
import type { XdskitError } from "@xdskit/envoy-api/core";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";

/** How a client talks to the server: a SotW or delta stream, a gRPC `Fetch*` call, or REST-JSON. */
export type XdsTransportKind = XdsProtocol | "fetch" | "rest";

/**
 * Who and what an event is about. One object, so that fields can be added
 * without breaking callbacks.
 */
export interface XdsContext {
  /** Server-wide unique id of the stream (or fetch), starting at 1. */
  readonly streamId: number;
  /** The node from the stream's first request. */
  readonly node: Node;
  /** The type URL the event is about; `undefined` for stream-level events on ADS. */
  readonly typeUrl: string | undefined;
  /** SotW, delta, gRPC fetch or REST. */
  readonly protocol: XdsTransportKind;
  /** True on an ADS stream. */
  readonly ads: boolean;
  /**
   * The client's address: as grpc-js reports it for gRPC (e.g.
   * `127.0.0.1:53122`, `[::1]:53122`), `host:port` for REST. Not an identity:
   * anyone can connect from anywhere; see `identity`.
   */
  readonly peer: string;
  /**
   * The client certificate the server verified (mTLS), for gRPC streams,
   * gRPC fetches and REST over TLS; `undefined` on insecure connections or
   * when the client sent none. Bind node ids to it in `onStreamOpen` (see
   * `requireNodeIdentity`).
   */
  readonly identity?: PeerIdentity;
  /** The gRPC method path, e.g. `/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources`, or the REST path. */
  readonly method: string;
}

/** What a verified client certificate says about the client. */
export interface PeerIdentity {
  /** One string for the client: the first URI SAN, else `dns:<first DNS SAN>`, else `cn:<subject CN>` (what maxStreamsPerIdentity counts). */
  readonly key: string;
  /** The first URI SAN that is a SPIFFE id (`spiffe://trust-domain/path`), if any. */
  readonly spiffeId?: string;
  /** Every URI SAN. */
  readonly uris: readonly string[];
  /** Every DNS SAN. */
  readonly dnsNames: readonly string[];
  /** The subject's common name, if any. */
  readonly subject?: string;
}

/** A gRPC status: what a rejected or closed stream ends with. */
export interface XdsStatus {
  /** A gRPC status code (`status` from @grpc/grpc-js), e.g. 7 for PERMISSION_DENIED. */
  readonly code: number;
  /** A human-readable message sent to the client. */
  readonly details: string;
}

/** Every event the server emits, on `XdsServer.events` and to the callbacks. */
export type XdsServerEvent =
  | { readonly kind: "stream-opened"; readonly context: XdsContext; readonly at: number }
  | { readonly kind: "stream-closed"; readonly context: XdsContext; readonly status: XdsStatus; readonly at: number }
  | {
      readonly kind: "request";
      readonly context: XdsContext;
      /** SotW: the full name list; delta: the names subscribed by this request. */
      readonly resourceNames: readonly string[];
      /** Delta only: names unsubscribed by this request. */
      readonly unsubscribed: readonly string[];
      readonly versionInfo: string;
      readonly nonce: string;
      readonly at: number;
    }
  | {
      readonly kind: "response";
      readonly context: XdsContext;
      readonly version: string;
      readonly nonce: string;
      readonly resourceNames: readonly string[];
      /** Delta only: names removed by this response. */
      readonly removed: readonly string[];
      /** Encoded size of the response message in bytes. */
      readonly bytes: number;
      readonly at: number;
    }
  | { readonly kind: "ack"; readonly context: XdsContext; readonly version: string; readonly nonce: string; readonly at: number }
  | {
      readonly kind: "nack";
      readonly context: XdsContext;
      /** The version the client rejected. */
      readonly rejectedVersion: string;
      /** The version the client keeps running. */
      readonly keptVersion: string;
      readonly nonce: string;
      readonly error: { readonly code: number; readonly message: string };
      readonly at: number;
    }
  | {
      readonly kind: "fetch";
      readonly context: XdsContext;
      readonly resourceNames: readonly string[];
      /** The version answered, or `undefined` when the client was up to date. */
      readonly version: string | undefined;
      readonly at: number;
    }
  | { readonly kind: "stream-rejected"; readonly context: XdsContext | undefined; readonly status: XdsStatus; readonly at: number }
  | { readonly kind: "error"; readonly context: XdsContext | undefined; readonly error: XdskitError; readonly at: number };

/** The event of one kind. */
export type XdsServerEventOf<K extends XdsServerEvent["kind"]> = Extract<XdsServerEvent, { kind: K }>;

/**
 * Hooks the server calls; fill in only those you need. Every hook receives one
 * object (the event, with its `context`) and may be async. A hook that throws,
 * or returns a promise that rejects, is reported as an `error` event (to
 * `onError`, `xds.events` and the logs) and never affects the stream or the
 * process, except `onStreamOpen`, whose failure rejects the stream with
 * INTERNAL. A failing `onError` itself is not reported again (that could loop).
 * The server does not wait for an async hook's promise.
 */
export interface XdsServerCallbacks {
  /**
   * The authorization hook. Called when a stream's first request (or a fetch)
   * arrived, before anything is answered and before the stream takes a slot
   * of `maxConcurrentStreams`: authenticate here, with `context.identity` (the
   * verified client certificate) and `context.node`. Return (or resolve to)
   * an {@link XdsStatus} to reject the stream with that status; return
   * nothing to accept it. Requests arriving meanwhile wait (bounded by
   * `maxBufferedRequestBytes`). `requireNodeIdentity()` is a ready policy.
   *
   * @example
   * onStreamOpen: ({ context }) =>
   *   context.node.id.startsWith("trusted-") ? undefined : { code: status.PERMISSION_DENIED, details: "unknown node" }
   */
  onStreamOpen?(event: { readonly context: XdsContext }): XdsStatus | undefined | Promise<XdsStatus | undefined>;
  /** A stream ended (client closed, error, shutdown, max age). */
  onStreamClosed?(event: XdsServerEventOf<"stream-closed">): unknown;
  /** A request arrived (after validation). */
  onRequest?(event: XdsServerEventOf<"request">): unknown;
  /** A response was handed to grpc-js. */
  onResponse?(event: XdsServerEventOf<"response">): unknown;
  /** The client accepted a response. */
  onAck?(event: XdsServerEventOf<"ack">): unknown;
  /** The client rejected a response. */
  onNack?(event: XdsServerEventOf<"nack">): unknown;
  /** A gRPC `Fetch*` call or REST request was answered. */
  onFetch?(event: XdsServerEventOf<"fetch">): unknown;
  /** Something went wrong on the server side (a response too large, a cache error, a throwing hook). */
  onError?(event: XdsServerEventOf<"error">): unknown;
}
