// Per-type client state of a FakeEnvoy and the pure part of handling a
// response: decode every resource, build the config the client would run if
// it accepted the response, and list the problems that make it NACK instead.
import { type DeltaDiscoveryResponse, type DiscoveryResponse, messageTypeOf, Resource, TypeUrl } from "@xdskit/envoy-api";
import type { Any } from "@xdskit/envoy-api/google/protobuf/any";
import type { ResourceProblem, RunningResource } from "../types.js";
import { nameOfMessage, type TypeFacts, typeFacts } from "./type-table.js";

export class TypeState {
  readonly typeUrl: string;
  readonly facts: TypeFacts;
  /** Subscribed to every resource of the type. */
  wildcard = false;
  /** Names subscribed by the test through `subscribe()`. */
  readonly manual = new Set<string>();
  /** Names Envoy-like following derived from clusters and listeners. */
  auto = new Set<string>();
  /** A request for this type was sent on the current stream. */
  requested = false;
  /** What the server was last told: names and wildcard. */
  sentNames = new Set<string>();
  sentWildcard = false;
  /** SotW: accepted `version_info`; delta: `system_version_info` of the last accepted response. */
  version = "";
  /** Nonce of the last response received for the type. */
  nonce = "";
  resources = new Map<string, RunningResource>();

  constructor(typeUrl: string) {
    this.typeUrl = typeUrl;
    this.facts = typeFacts(typeUrl);
  }

  /**
   * The type's stream ended: nothing is requested on the next one yet, and
   * the last nonce belonged to the old stream (nonces are per stream; Envoy
   * clears them when a new stream is established), so it is never sent again.
   */
  endStream(): void {
    this.requested = false;
    this.nonce = "";
  }

  get names(): Set<string> {
    return new Set([...this.manual, ...this.auto]);
  }

  get active(): boolean {
    return this.wildcard || this.manual.size > 0 || this.auto.size > 0;
  }

  subscribes(name: string): boolean {
    return this.wildcard || this.manual.has(name) || this.auto.has(name);
  }

  /** Drops resources that are no longer subscribed (Envoy forgets them). */
  prune(): void {
    if (this.wildcard) return;
    for (const name of [...this.resources.keys()]) if (!this.subscribes(name)) this.resources.delete(name);
  }
}

/** The result of applying one response to a type's state, before deciding. */
export interface Candidate {
  /** The resources the client would run after accepting. */
  readonly resources: Map<string, RunningResource>;
  /** Names in the response, in order (including heartbeats). */
  readonly names: string[];
  /** Names of resources that were decoded in this response (not heartbeats). */
  readonly updated: string[];
  readonly removed: string[];
  readonly problems: ResourceProblem[];
}

interface Decoded {
  readonly name: string;
  /** Undefined for a TTL heartbeat (a `Resource` wrapper without a body). */
  readonly entry?: { message: unknown; any: Any };
}

function decodeBody(typeUrl: string, any: Any, wrapperName: string, problems: ResourceProblem[]): Decoded | undefined {
  if (any.typeUrl !== typeUrl) {
    problems.push({
      ...(wrapperName ? { resourceName: wrapperName } : {}),
      message: `resource has type URL '${any.typeUrl}' in a response for '${typeUrl}'`,
    });
    return undefined;
  }
  let message: unknown;
  try {
    message = messageTypeOf(typeUrl).decode(any.value);
  } catch (cause) {
    problems.push({
      ...(wrapperName ? { resourceName: wrapperName } : {}),
      message: `cannot decode ${typeUrl}: ${(cause as Error).message}`,
    });
    return undefined;
  }
  const name = wrapperName || nameOfMessage(typeUrl, message);
  return { name, entry: { message, any } };
}

function decodeSotwItem(typeUrl: string, any: Any, problems: ResourceProblem[]): Decoded | undefined {
  if (any.typeUrl !== TypeUrl.Resource) return decodeBody(typeUrl, any, "", problems);
  let wrapper: Resource;
  try {
    wrapper = Resource.decode(any.value);
  } catch (cause) {
    problems.push({ message: `cannot decode a Resource wrapper: ${(cause as Error).message}` });
    return undefined;
  }
  if (!wrapper.resource) return { name: wrapper.name };
  return decodeBody(typeUrl, wrapper.resource, wrapper.name, problems);
}

function checkDuplicate(seen: Set<string>, name: string, problems: ResourceProblem[]): boolean {
  if (seen.has(name)) {
    problems.push({ resourceName: name, message: `duplicate resource name '${name}' in one response` });
    return false;
  }
  seen.add(name);
  return true;
}

/** Applies a SotW response: full-state types replace everything, others upsert subscribed names. */
export function applySotw(state: TypeState, response: DiscoveryResponse): Candidate {
  const problems: ResourceProblem[] = [];
  const resources = state.facts.fullState ? new Map<string, RunningResource>() : new Map(state.resources);
  const names: string[] = [];
  const updated: string[] = [];
  const seen = new Set<string>();
  for (const any of response.resources) {
    const decoded = decodeSotwItem(state.typeUrl, any, problems);
    if (!decoded) continue;
    names.push(decoded.name);
    if (!checkDuplicate(seen, decoded.name, problems)) continue;
    if (!decoded.entry) {
      const kept = state.resources.get(decoded.name);
      if (kept) resources.set(decoded.name, kept);
      continue;
    }
    // Envoy ignores resources it did not ask for in SotW (except wildcard types).
    if (!state.facts.fullState && !state.subscribes(decoded.name)) continue;
    resources.set(decoded.name, { name: decoded.name, version: response.versionInfo, ...decoded.entry });
    updated.push(decoded.name);
  }
  const removed = state.facts.fullState ? [...state.resources.keys()].filter((n) => !resources.has(n)) : [];
  return { resources, names, updated, removed, problems };
}

/** Applies a delta response: upsert `resources`, delete `removed_resources`. */
export function applyDelta(state: TypeState, response: DeltaDiscoveryResponse): Candidate {
  const problems: ResourceProblem[] = [];
  const resources = new Map(state.resources);
  const names: string[] = [];
  const updated: string[] = [];
  const seen = new Set<string>();
  for (const wrapper of response.resources) {
    if (!wrapper.name) {
      problems.push({ message: "a delta resource has no name (Resource.name is required)" });
      continue;
    }
    names.push(wrapper.name);
    if (!checkDuplicate(seen, wrapper.name, problems)) continue;
    if (!wrapper.resource) continue; // heartbeat: keeps the resource
    const decoded = decodeBody(state.typeUrl, wrapper.resource, wrapper.name, problems);
    if (!decoded?.entry) continue;
    resources.set(wrapper.name, { name: wrapper.name, version: wrapper.version, ...decoded.entry });
    updated.push(wrapper.name);
  }
  const removed: string[] = [];
  for (const name of response.removedResources) {
    if (seen.has(name)) {
      problems.push({ resourceName: name, message: `'${name}' is both updated and removed in one response` });
    }
    if (resources.delete(name)) removed.push(name);
  }
  return { resources, names, updated, removed, problems };
}
