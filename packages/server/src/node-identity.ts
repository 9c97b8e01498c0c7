// A ready authorization policy: a node may only ask for its own config.
import type { PeerIdentity, XdsContext, XdsStatus } from "./events.js";

/** Options of {@link requireNodeIdentity}. */
export interface RequireNodeIdentityOptions {
  /**
   * Whether `nodeId` may be used by a client with `identity`. Default: the
   * node id equals the certificate's SPIFFE id, one of its URI SANs or one of
   * its DNS SANs.
   */
  readonly matches?: (nodeId: string, identity: PeerIdentity) => boolean;
}

const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;

/** The default match: the node id is the SPIFFE id, a URI SAN or a DNS SAN of the certificate. */
export function nodeIdNamedByCertificate(nodeId: string, identity: PeerIdentity): boolean {
  return nodeId === identity.spiffeId || identity.uris.includes(nodeId) || identity.dnsNames.includes(nodeId);
}

/**
 * An `onStreamOpen` hook that binds node ids to client certificates: a
 * stream or fetch without a verified client certificate is refused with
 * UNAUTHENTICATED, one whose node id the certificate does not name with
 * PERMISSION_DENIED, so one proxy cannot fetch another's config by claiming
 * its node id. It runs before the stream takes a slot of
 * `maxConcurrentStreams`. Needs a server that verifies client certificates
 * (`ServerCredentials.createSsl(ca, keyCerts, true)`, or an https server that
 * requests and checks them for REST).
 *
 * @example
 * new XdsServer({ cache, callbacks: { onStreamOpen: requireNodeIdentity() } });
 * // a node whose id is its SPIFFE id, spiffe://example.org/ns/shop/sa/orders, is served; others are refused
 */
export function requireNodeIdentity(options: RequireNodeIdentityOptions = {}): (event: { context: XdsContext }) => XdsStatus | undefined {
  const matches = options.matches ?? nodeIdNamedByCertificate;
  return ({ context }) => {
    const identity = context.identity;
    const nodeId = context.node.id;
    if (identity === undefined) {
      return {
        code: UNAUTHENTICATED,
        details: `node ${JSON.stringify(nodeId)}: no verified client certificate; this control plane binds node ids to certificates (requireNodeIdentity)`,
      };
    }
    if (!matches(nodeId, identity)) {
      return {
        code: PERMISSION_DENIED,
        details: `node id ${JSON.stringify(nodeId)} is not named by the client certificate (${identity.key}); use the certificate's SPIFFE id or a SAN as the node id`,
      };
    }
    return undefined;
  };
}
