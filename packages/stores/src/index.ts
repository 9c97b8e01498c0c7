// @xdskit/stores: where a control plane keeps its config. The ConfigStore
// seam, an in-memory store and a crash-safe state-directory store.
// See docs/serve.md ("Persistence").

export type { ChannelConfigStoreOptions, ServedStore, StoreChannel } from "./channel-store.js";
export { ChannelConfigStore, serveConfigStore } from "./channel-store.js";
export type { ConfigStore, StoreEntry, StoreEvent, StoreListing, StoreWriteOptions } from "./config-store.js";
export type { DirectoryConfigStoreOptions } from "./directory-store.js";
export { DIRECTORY_STORE_DEFAULTS, DirectoryConfigStore } from "./directory-store.js";
export type { MemoryConfigStoreOptions } from "./memory-store.js";
export { MEMORY_STORE_DEFAULTS, MemoryConfigStore } from "./memory-store.js";
