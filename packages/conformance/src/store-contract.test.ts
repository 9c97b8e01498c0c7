// Every ConfigStore keeps the same contract: the embedded stores of
// @xdskit/stores and the etcd store of @xdskit/store-etcd, the latter against
// a real etcd server started for this file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MessageChannel } from "node:worker_threads";
import { EtcdConfigStore } from "@xdskit/store-etcd";
import { EtcdTestServer, findEtcdBinary } from "@xdskit/store-etcd/testing";
import { ChannelConfigStore, DirectoryConfigStore, MemoryConfigStore, serveConfigStore } from "@xdskit/stores";
import { afterAll, beforeAll } from "vitest";
import { describeStoreContract } from "./support/store-contract.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeStoreContract("MemoryConfigStore", {
  make: async () => new MemoryConfigStore({ maxLoggedEvents: 3 }),
  forgetHistory: async () => {},
});

describeStoreContract("DirectoryConfigStore", {
  make: () => {
    const directory = mkdtempSync(join(tmpdir(), "xdskit-store-"));
    dirs.push(directory);
    return DirectoryConfigStore.open({ directory, maxLoggedEvents: 3 });
  },
  forgetHistory: async () => {},
});

// The store `xdskit serve --workers` gives its workers: a MemoryConfigStore
// reached over a MessageChannel (structured clone, as the cluster IPC channel
// with advanced serialization), served by serveConfigStore.
describeStoreContract("ChannelConfigStore", {
  make: async () => {
    const { port1, port2 } = new MessageChannel();
    const channelOf = (port: typeof port1) => ({
      send: (m: unknown) => port.postMessage(m),
      onMessage: (listener: (m: unknown) => void) => {
        port.on("message", listener);
        return () => port.off("message", listener);
      },
    });
    const served = serveConfigStore(new MemoryConfigStore({ maxLoggedEvents: 3 }), channelOf(port1));
    const store = new ChannelConfigStore({ channel: channelOf(port2) });
    const close = store.close.bind(store);
    store.close = async () => {
      await close();
      served.close();
      port1.close();
    };
    return store;
  },
  forgetHistory: async () => {},
});

// Without etcd the suite fails with the harness's message, unless XDSKIT_SKIP_TOOLS=1 says to skip.
const skipEtcd = process.env.XDSKIT_SKIP_TOOLS === "1" && findEtcdBinary() === undefined;
let etcd: EtcdTestServer | undefined;
let prefixes = 0;
beforeAll(async () => {
  if (!skipEtcd) etcd = await EtcdTestServer.start();
}, 30_000);
afterAll(async () => {
  await etcd?.destroy();
});

describeStoreContract(
  "EtcdConfigStore",
  {
    make: () => EtcdConfigStore.connect({ endpoints: [(etcd as EtcdTestServer).endpoint], prefix: `/contract-${++prefixes}/` }),
    forgetHistory: async (store, revision) => {
      await (store as EtcdConfigStore).client.kv.compact({ revision: String(revision), physical: true });
    },
  },
  { skip: skipEtcd },
);
