// The only place that knows the JSON form of DiscoveryRequest and
// DiscoveryResponse for the REST-JSON API (canonical proto3 JSON from
// @xdskit/envoy-api, as Envoy's REST subscriptions read and write it).
import type { SotwResponse } from "@xdskit/cache";
import { DiscoveryRequest, DiscoveryResponse, fromJson, toJson } from "@xdskit/envoy-api";
import { sotwAny } from "./response-encoding.js";

/** Reads a DiscoveryRequest from a JSON text (JSON or proto field names; unknown fields ignored). */
export function requestFromJson(text: string): DiscoveryRequest {
  return fromJson(DiscoveryRequest, JSON.parse(text), { ignoreUnknownFields: true });
}

/** Writes a DiscoveryResponse as JSON text; each resource is decoded from its stored encoding only for this. */
export function responseToJson(response: SotwResponse): string {
  const message: DiscoveryResponse = {
    versionInfo: response.version,
    resources: response.resources.map((e) => sotwAny(e, response.heartbeat === true)),
    canary: false,
    typeUrl: response.typeUrl,
    nonce: "",
    controlPlane: undefined,
  };
  return JSON.stringify(toJson(DiscoveryResponse, message));
}
