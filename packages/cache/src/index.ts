export type {
  ConfigWatcher,
  DeltaResponse,
  DeltaWatchRequest,
  FetchRequest,
  ProtocolEvent,
  ResourceEntry,
  SotwResponse,
  SotwWatchRequest,
  WatchRequestBase,
  XdsProtocol,
} from "./types.js";
