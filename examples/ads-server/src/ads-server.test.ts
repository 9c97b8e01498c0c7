import { credentials } from "@grpc/grpc-js";
import { AggregatedDiscoveryServiceClient, DiscoveryRequest, type DiscoveryResponse, TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it, vi } from "vitest";
import { startAdsServer } from "./ads-server.js";

describe("example ads-server", () => {
  it("serves its snapshot over ADS and prints the ACK", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const server = await startAdsServer(0);
    const client = new AggregatedDiscoveryServiceClient(`127.0.0.1:${server.port}`, credentials.createInsecure());
    const call = client.streamAggregatedResources();
    call.on("error", () => {}); // the cancel below ends the call with CANCELLED
    const response = await new Promise<DiscoveryResponse>((resolve) => {
      call.once("data", resolve);
      call.write(DiscoveryRequest.fromPartial({ node: { id: "envoy-1" }, typeUrl: TypeUrl.Cluster }));
    });
    expect(response.resources.length).toBe(1);
    call.write(
      DiscoveryRequest.fromPartial({ typeUrl: TypeUrl.Cluster, versionInfo: response.versionInfo, responseNonce: response.nonce }),
    );
    await vi.waitFor(() => expect(log).toHaveBeenCalledWith(`ACK  envoy-1 ${TypeUrl.Cluster} ${response.versionInfo}`));
    call.cancel();
    client.close();
    await server.close();
    log.mockRestore();
  });
});
