// One bidirectional xDS stream over grpc-js (ADS or per-type, SotW or delta).
// Requests may be messages or raw bytes (to send malformed requests).
import type { Client, ClientDuplexStream, StatusObject } from "@grpc/grpc-js";
import { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from "@xdskit/envoy-api";
import type { FakeEnvoyProtocol } from "../types.js";

export type AnyRequest = DiscoveryRequest | DeltaDiscoveryRequest | Uint8Array;
export type AnyResponse = DiscoveryResponse | DeltaDiscoveryResponse;

export interface StreamHandlers {
  onResponse(response: AnyResponse): void;
  onEnd(status: { code: number; details: string }): void;
}

export class XdsStream {
  readonly protocol: FakeEnvoyProtocol;
  /** Type URL of a per-type stream; undefined for ADS. */
  readonly typeUrl: string | undefined;
  /** The node was sent on this stream (it goes on the first request). */
  nodeSent = false;
  #call: ClientDuplexStream<AnyRequest, AnyResponse>;
  #ended = false;

  constructor(client: Client, path: string, protocol: FakeEnvoyProtocol, typeUrl: string | undefined, handlers: StreamHandlers) {
    this.protocol = protocol;
    this.typeUrl = typeUrl;
    const codec = protocol === "sotw" ? DiscoveryRequest : DeltaDiscoveryRequest;
    const responseCodec = protocol === "sotw" ? DiscoveryResponse : DeltaDiscoveryResponse;
    const serialize = (value: AnyRequest): Buffer =>
      value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(codec.encode(value as never).finish());
    const deserialize = (bytes: Buffer): AnyResponse => responseCodec.decode(bytes);
    this.#call = client.makeBidiStreamRequest(path, serialize, deserialize);
    this.#call.on("data", (response: AnyResponse) => handlers.onResponse(response));
    // 'status' always comes last; 'error' repeats it for non-OK ends.
    this.#call.on("error", () => {});
    this.#call.on("status", (status: StatusObject) => {
      if (this.#ended) return;
      this.#ended = true;
      handlers.onEnd({ code: status.code, details: status.details });
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  write(request: AnyRequest): void {
    if (!this.#ended) this.#call.write(request);
  }

  pause(): void {
    this.#call.pause();
  }

  resume(): void {
    this.#call.resume();
  }

  /** Ends the stream from the client side (cancels the call). */
  cancel(): void {
    if (this.#ended) return;
    this.#call.cancel();
  }
}
