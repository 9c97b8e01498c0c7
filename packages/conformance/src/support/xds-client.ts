// Proxyless gRPC clients configured by an xDS control plane: each channel gets
// its own bootstrap (and so its own xDS client, not grpc-js-xds's global
// singleton) through the bootstrap channel option grpc-js-xds reads.
import * as xds from "@grpc/grpc-js-xds";

/** The channel option under which grpc-js-xds 1.14 takes a per-channel bootstrap (JSON text). */
export const BOOTSTRAP_OPTION = "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config";

let registered = false;

/** Registers the `xds:` scheme with grpc-js (once per process). */
export function registerXds(): void {
  if (registered) return;
  xds.register();
  registered = true;
}

/**
 * A gRPC xDS bootstrap (gRFC A27) pointing at one control plane over
 * insecure credentials. `server_features` stays empty: xdskit never sends a
 * deletion grpc-js-xds must ignore.
 */
export function bootstrap(controlPlane: string, nodeId: string): Record<string, unknown> {
  return {
    xds_servers: [{ server_uri: controlPlane, channel_creds: [{ type: "insecure" }], server_features: [] }],
    node: { id: nodeId, cluster: "conformance", locality: { region: "local", zone: "a" } },
  };
}

/** Channel options that make a channel dial `xds:///...` through `controlPlane` as node `nodeId`. */
export function xdsChannelOptions(controlPlane: string, nodeId: string): Record<string, string> {
  registerXds();
  return { [BOOTSTRAP_OPTION]: JSON.stringify(bootstrap(controlPlane, nodeId)) };
}
