// Runs inside a scratch project where the packed tarballs were installed with
// npm (see scripts/pack-test.mjs): imports every package by its public name.

import * as cache from "@xdskit/cache";
import { pack, TypeUrl, unpack } from "@xdskit/envoy-api";
import { Cluster } from "@xdskit/envoy-api/envoy/config/cluster/v3/cluster";
import * as resources from "@xdskit/resources";
import * as server from "@xdskit/server";
import * as testing from "@xdskit/testing";

const any = pack(Cluster, { name: "web" });
if (any.typeUrl !== TypeUrl.Cluster || unpack(any, Cluster).name !== "web") throw new Error("envoy-api round trip failed");
for (const [name, mod] of Object.entries({ cache, resources, server, testing })) {
  if (typeof mod !== "object") throw new Error(`@xdskit/${name} did not load`);
}
console.log("smoke: every package imported");
