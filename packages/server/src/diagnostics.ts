// Tracing and metrics through node:diagnostics_channel: one channel per event
// kind, named by area and event, published only when someone listens.
import diagnosticsChannel from "node:diagnostics_channel";
import type { XdsServerEvent } from "./events.js";

/**
 * The diagnostics channel names the server publishes on. Each message is the
 * {@link XdsServerEvent} itself.
 *
 * @example
 * import diagnosticsChannel from "node:diagnostics_channel";
 * diagnosticsChannel.subscribe(ServerChannels.nack, (event) => console.log("NACK", event));
 */
export const ServerChannels = Object.freeze({
  streamOpened: "xdskit:server:stream-opened",
  streamClosed: "xdskit:server:stream-closed",
  streamRejected: "xdskit:server:stream-rejected",
  request: "xdskit:server:request",
  response: "xdskit:server:response",
  ack: "xdskit:server:ack",
  nack: "xdskit:server:nack",
  fetch: "xdskit:server:fetch",
  error: "xdskit:server:error",
});

const channels = new Map<string, diagnosticsChannel.Channel>(
  Object.values(ServerChannels).map((name) => [name.slice("xdskit:server:".length), diagnosticsChannel.channel(name)]),
);

/** Publishes an event on its channel if anyone subscribed. */
export function publishDiagnostics(event: XdsServerEvent): void {
  const channel = channels.get(event.kind);
  if (channel?.hasSubscribers) channel.publish(event);
}
