// Which node-status tracker a server feeds: the one passed in its `status`
// option, or one of its own grouping nodes as the cache does.
import { type ConfigWatcher, type NodeGroupKey, NodeStatusTracker } from "@xdskit/cache";
import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";

/**
 * The tracker a server uses: `given` when it is a tracker; none for `false`;
 * otherwise a new one (owned by the server, disposed at shutdown) whose node
 * groups are the cache's when the cache has a `groupOf(node)` method
 * (SnapshotCache does), else node ids.
 */
export function statusTrackerFor(
  given: NodeStatusTracker | false | undefined,
  cache: ConfigWatcher,
): { readonly tracker: NodeStatusTracker | undefined; readonly owned: boolean } {
  if (given === false) return { tracker: undefined, owned: false };
  if (given !== undefined) return { tracker: given, owned: false };
  const groupOf = (cache as { groupOf?: unknown }).groupOf;
  const nodeGroup: NodeGroupKey | undefined =
    typeof groupOf === "function" ? (node: Node) => (groupOf as (n: Node) => string).call(cache, node) : undefined;
  return { tracker: new NodeStatusTracker(nodeGroup ? { nodeGroup } : {}), owned: true };
}
