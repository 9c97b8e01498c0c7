// Which resources a NACK concerned, read from its error_detail message.
//
// Clients name the failing resources in two formats:
// - Envoy: "Error adding/updating cluster(s) web: <why>, api: <why>" (LDS
//   joins with newlines; FakeEnvoy with "; "): each failing resource's name
//   followed by ": ".
// - gRPC (gRFC A46: the valid resources of a response are used, the invalid
//   ones listed): "xDS response validation errors: [resource index 0: <why>;
//   resource index 3: <why>]", indexes into the rejected response.
// Only names of the rejected response count, so text that merely looks like a
// name is never reported.

/** At most this many names are recorded per NACK. */
export const MAX_NACKED_NAMES = 100;

const BOUNDARY_BEFORE = new Set(["", " ", ",", ";", "[", "\n", "\t", "("]);

/**
 * The names of `sent` (the resources of the rejected response, in response
 * order) that `message` says were rejected; empty when it names none.
 */
export function nackedResources(message: string, sent: readonly string[]): string[] {
  if (typeof message !== "string" || message === "" || sent.length === 0) return [];
  const found = new Set<string>();
  for (const match of message.matchAll(/resource index (\d+):/g)) {
    const name = sent[Number(match[1])];
    if (name !== undefined) found.add(name);
    if (found.size >= MAX_NACKED_NAMES) return [...found];
  }
  for (const name of sent) {
    if (found.size >= MAX_NACKED_NAMES) break;
    if (name === "" || found.has(name)) continue;
    let at = message.indexOf(`${name}:`);
    while (at >= 0) {
      if (BOUNDARY_BEFORE.has(at === 0 ? "" : message[at - 1]!)) {
        found.add(name);
        break;
      }
      at = message.indexOf(`${name}:`, at + 1);
    }
  }
  return [...found];
}
