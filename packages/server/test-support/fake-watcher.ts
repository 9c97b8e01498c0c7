// A small in-memory ConfigWatcher for server tests: per type a version and a
// set of entries; SotW and delta semantics just precise enough to exercise
// the server's state machine. Records every watch request and event.
import type {
  ConfigWatcher,
  DeltaResponse,
  DeltaWatchRequest,
  FetchRequest,
  ResourceEntry,
  SotwResponse,
  SotwWatchRequest,
} from "@xdskit/cache";
import { Observable } from "rxjs";

/** An entry whose bytes start with field 1 (the name), padded with zeros to `size` bytes. */
export function entry(typeUrl: string, name: string, version: string, size = 0, ttlMs?: number): ResourceEntry {
  const text = new TextEncoder().encode(name);
  const bytes = new Uint8Array(Math.max(size, text.length + 2));
  bytes[0] = 0x0a;
  bytes[1] = text.length;
  bytes.set(text, 2);
  return { name, typeUrl, version, bytes, ...(ttlMs !== undefined ? { ttlMs } : {}) };
}

interface TypeData {
  version: string;
  entries: Map<string, ResourceEntry>;
}

type Pending =
  | { kind: "sotw"; request: SotwWatchRequest; emit: (r: SotwResponse) => void }
  | { kind: "delta"; request: DeltaWatchRequest; emit: (r: DeltaResponse) => void };

export class FakeWatcher implements ConfigWatcher {
  readonly types = new Map<string, TypeData>();
  readonly sotwRequests: SotwWatchRequest[] = [];
  readonly deltaRequests: DeltaWatchRequest[] = [];
  readonly #pending = new Set<Pending>();
  /** When set, watches fail with this error. */
  failWith: Error | undefined;
  /** Types whose responses carry all resources regardless of names (full state). */
  readonly fullState = new Set<string>();

  set(typeUrl: string, version: string, entries: readonly ResourceEntry[]): void {
    this.types.set(typeUrl, { version, entries: new Map(entries.map((e) => [e.name, e])) });
    for (const pending of [...this.#pending]) {
      if (pending.request.typeUrl !== typeUrl) continue;
      if (pending.kind === "sotw") {
        const response = this.#sotw(pending.request);
        if (response) {
          this.#pending.delete(pending);
          pending.emit(response);
        }
      } else {
        const response = this.#delta(pending.request);
        if (response) {
          this.#pending.delete(pending);
          pending.emit(response);
        }
      }
    }
  }

  get openWatches(): number {
    return this.#pending.size;
  }

  #sotw(request: SotwWatchRequest): SotwResponse | undefined {
    const data = this.types.get(request.typeUrl);
    if (data === undefined) return undefined;
    if (request.lastSent?.nacked && request.lastSent.version === data.version && !request.forceResponse) return undefined;
    if (!request.forceResponse && request.versionInfo === data.version) return undefined;
    const resources = [...data.entries.values()].filter((e) => request.wildcard || request.names.has(e.name));
    return { typeUrl: request.typeUrl, version: data.version, resources };
  }

  #delta(request: DeltaWatchRequest): DeltaResponse | undefined {
    const data = this.types.get(request.typeUrl) ?? { version: "", entries: new Map() };
    const resources: ResourceEntry[] = [];
    const removed: string[] = [];
    for (const e of data.entries.values()) {
      const wanted = request.wildcard || request.names.has(e.name);
      if (!wanted) continue;
      if (request.clientVersions.get(e.name) !== e.version || request.forceNames.has(e.name)) resources.push(e);
    }
    for (const name of request.clientVersions.keys()) if (!data.entries.has(name)) removed.push(name);
    for (const name of request.forceNames) if (!data.entries.has(name) && !removed.includes(name)) removed.push(name);
    if (resources.length === 0 && removed.length === 0 && !request.forceResponse) return undefined;
    return { typeUrl: request.typeUrl, systemVersion: data.version, resources, removed };
  }

  watchSotw(request: SotwWatchRequest): Observable<SotwResponse> {
    this.sotwRequests.push(request);
    return new Observable<SotwResponse>((subscriber) => {
      if (this.failWith) {
        subscriber.error(this.failWith);
        return;
      }
      const now = this.#sotw(request);
      if (now) {
        subscriber.next(now);
        subscriber.complete();
        return;
      }
      const pending: Pending = {
        kind: "sotw",
        request,
        emit: (r) => {
          subscriber.next(r);
          subscriber.complete();
        },
      };
      this.#pending.add(pending);
      return () => this.#pending.delete(pending);
    });
  }

  watchDelta(request: DeltaWatchRequest): Observable<DeltaResponse> {
    this.deltaRequests.push(request);
    return new Observable<DeltaResponse>((subscriber) => {
      if (this.failWith) {
        subscriber.error(this.failWith);
        return;
      }
      const now = this.#delta(request);
      if (now) {
        subscriber.next(now);
        subscriber.complete();
        return;
      }
      const pending: Pending = {
        kind: "delta",
        request,
        emit: (r) => {
          subscriber.next(r);
          subscriber.complete();
        },
      };
      this.#pending.add(pending);
      return () => this.#pending.delete(pending);
    });
  }

  async fetch(request: FetchRequest): Promise<SotwResponse | undefined> {
    const data = this.types.get(request.typeUrl);
    if (data === undefined || data.version === request.versionInfo) return undefined;
    const resources = [...data.entries.values()].filter((e) => request.names.size === 0 || request.names.has(e.name));
    return { typeUrl: request.typeUrl, version: data.version, resources };
  }
}
