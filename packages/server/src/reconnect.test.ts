// Reconnects over loopback gRPC with the real SnapshotCache (docs/protocol.md: reconnect-version).
import { SnapshotCache } from "@xdskit/cache";
import { TypeUrl } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import { ClusterLoadAssignment } from "@xdskit/envoy-api/envoy/config/endpoint/v3/endpoint";
import { afterEach, describe, expect, it } from "vitest";
import { adsClient, type Harness, NODE, names, openSotw, startServer, until } from "../test-support/harness.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;

let harness: Harness | undefined;
let cache: SnapshotCache | undefined;
afterEach(async () => {
  await harness?.close();
  cache?.dispose();
  harness = undefined;
  cache = undefined;
});

describe("XdsServer SotW reconnect", () => {
  it("answers a named subscription on a new stream even when its version_info is current; a wildcard one stays quiet", async () => {
    cache = new SnapshotCache();
    cache.setSnapshot(NODE.id, {
      version: "1",
      resources: {
        [CDS]: [Cluster.fromPartial({ name: "a" }), Cluster.fromPartial({ name: "b" })],
        [EDS]: [ClusterLoadAssignment.fromPartial({ clusterName: "a" }), ClusterLoadAssignment.fromPartial({ clusterName: "b" })],
      },
    });
    harness = await startServer(cache);
    const client = adsClient(harness.address);
    const before = openSotw(client);
    before.send({ node: NODE, typeUrl: CDS });
    const cds = await before.next();
    before.send({ typeUrl: CDS, versionInfo: cds.versionInfo, responseNonce: cds.nonce });
    before.send({ typeUrl: EDS, resourceNames: ["a", "b"] });
    const eds = await before.next();
    expect(names(eds).sort()).toEqual(["a", "b"]);
    before.send({ typeUrl: EDS, resourceNames: ["a", "b"], versionInfo: eds.versionInfo, responseNonce: eds.nonce });
    await until(() => harness!.events.filter((e) => e.kind === "ack").length === 2, 2000, "two ACKs");
    before.close();

    // While away, the client dropped "b" (its watcher went away) and asked for it again (a new
    // watcher): it holds only "a", but version_info is per type and still names the set with "b".
    // The server cannot know that, so it must answer the named subscription (xDS spec, "ACK/NACK and
    // resource type instance version": skip only when the client is known not to subscribe to new
    // resources). The wildcard cluster subscription is complete by definition: nothing to resend.
    const after = openSotw(client);
    after.send({ node: NODE, typeUrl: CDS, versionInfo: cds.versionInfo });
    after.send({ typeUrl: EDS, resourceNames: ["a", "b"], versionInfo: eds.versionInfo });
    const again = await after.next();
    expect(again.typeUrl).toBe(EDS);
    expect(again.versionInfo).toBe(eds.versionInfo);
    expect(names(again).sort()).toEqual(["a", "b"]);
    expect(await after.quiet(200)).toBe(true);
    after.close();
  });
});
