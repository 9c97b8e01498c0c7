// The only place that knows the JSON form of DiscoveryRequest and
// DiscoveryResponse for the REST-JSON API (canonical proto3 JSON from
// @xdskit/envoy-api, as Envoy's REST subscriptions read and write it).
// The JSON codec is envoy-api's root entry, required the first time a REST
// request is answered rather than imported with @xdskit/server: most servers
// never serve REST-JSON (docs/benchmarks.md, "Import time"). require() of an
// ES module shares it with `import`, so it is the codec the application has.
import { createRequire } from "node:module";
import type { SotwResponse } from "@xdskit/cache";
import type * as EnvoyApi from "@xdskit/envoy-api";
import type { DiscoveryRequest, DiscoveryResponse } from "@xdskit/envoy-api/core";
import { sotwAny } from "./response-encoding.js";

const requireHere = createRequire(import.meta.url);
let envoyApi: typeof EnvoyApi | undefined;
function api(): typeof EnvoyApi {
  envoyApi ??= requireHere("@xdskit/envoy-api") as typeof EnvoyApi;
  return envoyApi;
}

/** Reads a DiscoveryRequest from a JSON text (JSON or proto field names; unknown fields ignored). */
export function requestFromJson(text: string): DiscoveryRequest {
  const { fromJson, DiscoveryRequest } = api();
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
  const { toJson, DiscoveryResponse } = api();
  return JSON.stringify(toJson(DiscoveryResponse, message));
}
