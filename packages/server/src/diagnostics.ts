// Tracing and metrics through node:diagnostics_channel: one channel per event
// kind, named by area and event, published only when someone listens.
import diagnosticsChannel from "node:diagnostics_channel";
import type { XdsServerEvent } from "./events.js";
import { type FaultSink, guardChannel, publishGuarded } from "./internal/observer-guard.js";

/**
 * The diagnostics channel names the server publishes on. Each message is the
 * {@link XdsServerEvent} itself. A subscriber that throws does not reach the
 * process: the failure is an `error` event of the publishing server (code
 * `XDSKIT_HOOK_FAILED`), and after 3 failures in a row the subscriber is
 * unsubscribed (subscribers added before `@xdskit/server` was loaded are not
 * guarded).
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
  Object.values(ServerChannels).map((name) => {
    const channel = diagnosticsChannel.channel(name);
    guardChannel(channel);
    return [name.slice("xdskit:server:".length), channel];
  }),
);

/** Publishes an event on its channel if anyone subscribed; a subscriber's failure goes to `sink`. */
export function publishDiagnostics(event: XdsServerEvent, sink: FaultSink): void {
  const channel = channels.get(event.kind);
  if (channel?.hasSubscribers) publishGuarded(channel, event, sink);
}
