import type { Node } from "@xdskit/envoy-api/envoy/config/core/v3/base";

/**
 * Maps a node to the key of the group whose snapshot it gets. Nodes of one
 * group share one snapshot (and its entries). Must be a pure function of the
 * node: the same node always lands in the same group.
 */
export type NodeGroupKey = (node: Node) => string;

/**
 * Groups by node id: every node has its own snapshot. The default.
 * @example groupByNodeId({ id: "front-1", cluster: "front" }); // "front-1"
 */
export const groupByNodeId: NodeGroupKey = (node) => node.id ?? "";

/**
 * Groups by the node's cluster (`--service-cluster`): every Envoy of a service shares one snapshot.
 * @example groupByNodeCluster({ id: "front-1", cluster: "front" }); // "front"
 */
export const groupByNodeCluster: NodeGroupKey = (node) => node.cluster ?? "";

/**
 * Groups by the node id's prefix before the first `-` (as sxds does); an id
 * without `-` is its own group.
 * @example groupByIdPrefix({ id: "front-7f9c", cluster: "" }); // "front"
 */
export const groupByIdPrefix: NodeGroupKey = (node) => {
  const id = node.id ?? "";
  const dash = id.indexOf("-");
  return dash < 0 ? id : id.slice(0, dash);
};
