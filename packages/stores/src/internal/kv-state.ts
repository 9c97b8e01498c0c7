// The key-value state both embedded stores share: entries, the revision
// counter, a bounded log of recent events for watches that resume, and the
// live watchers. Writes are two-step (plan, then commit) so that the
// directory store can make a planned write durable before anyone sees it.
import { ErrorCode, type JsonValue, XdskitError } from "@xdskit/envoy-api";
import { Observable, Subject } from "rxjs";
import type { StoreEntry, StoreEvent, StoreListing, StoreWriteOptions } from "../config-store.js";

/** A write that passed its compare-and-set check and waits to be committed. */
export interface PlannedWrite {
  readonly event: StoreEvent;
}

export function checkKey(owner: string, key: unknown): asserts key is string {
  if (typeof key !== "string" || key === "" || key.includes("\0")) {
    throw new XdskitError(ErrorCode.API_MISUSE, `${owner}: a key must be a non-empty string without NUL; got ${JSON.stringify(key)}`);
  }
}

export class KvState {
  readonly #entries = new Map<string, StoreEntry>();
  readonly #log: StoreEvent[] = [];
  readonly #changes = new Subject<StoreEvent>();
  #revision = 0;
  /** Lowest revision whose event is still in the log, minus one: watches from before it cannot resume. */
  #compacted = 0;

  constructor(readonly maxLoggedEvents: number) {}

  get revision(): number {
    return this.#revision;
  }

  /** Loads state read back from disk (no events, no watchers yet). */
  restore(revision: number, entries: readonly StoreEntry[]): void {
    this.#revision = revision;
    this.#compacted = revision;
    for (const entry of entries) this.#entries.set(entry.key, entry);
  }

  entries(): StoreEntry[] {
    return [...this.#entries.values()];
  }

  get(key: string): StoreEntry | undefined {
    return this.#entries.get(key);
  }

  list(prefix: string): StoreListing {
    const entries = [...this.#entries.values()].filter((e) => e.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : 1));
    return { revision: this.#revision, entries };
  }

  /** Checks `expectedRevision` and plans the write; `undefined` for a delete of a missing key (nothing to do). */
  plan(key: string, value: JsonValue | undefined, options: StoreWriteOptions | undefined): PlannedWrite | undefined {
    const current = this.#entries.get(key);
    const expected = options?.expectedRevision;
    if (expected !== undefined && (current?.modRevision ?? 0) !== expected) {
      throw new XdskitError(
        ErrorCode.STORE_CONFLICT,
        `${key}: expected revision ${expected} but the key is at ${current ? `revision ${current.modRevision}` : "no revision (it does not exist)"}; read it again and retry`,
        { path: key },
      );
    }
    const revision = this.#revision + 1;
    if (value === undefined) {
      if (!current) return undefined;
      return { event: { kind: "delete", revision, key } };
    }
    const entry: StoreEntry = Object.freeze({
      key,
      value: deepFreeze(structuredClone(value)),
      createRevision: current?.createRevision ?? revision,
      modRevision: revision,
    });
    return { event: { kind: "put", revision, entry } };
  }

  /** What the entries would be after `planned`: for the directory store to write before committing. */
  entriesAfter(planned: PlannedWrite): StoreEntry[] {
    const next = new Map(this.#entries);
    if (planned.event.kind === "put") next.set(planned.event.entry.key, planned.event.entry);
    else next.delete(planned.event.key);
    return [...next.values()];
  }

  commit(planned: PlannedWrite): number {
    const { event } = planned;
    if (event.revision !== this.#revision + 1) throw new XdskitError(ErrorCode.INTERNAL, "store writes committed out of order");
    if (event.kind === "put") this.#entries.set(event.entry.key, event.entry);
    else this.#entries.delete(event.key);
    this.#revision = event.revision;
    this.#log.push(event);
    if (this.#log.length > this.maxLoggedEvents) this.#compacted = (this.#log.shift() as StoreEvent).revision;
    this.#changes.next(event);
    return event.revision;
  }

  watch(description: string, prefix: string, afterRevision: number): Observable<StoreEvent> {
    return new Observable<StoreEvent>((subscriber) => {
      if (afterRevision < this.#compacted) {
        subscriber.error(
          new XdskitError(
            ErrorCode.STORE_FAILED,
            `${description}: changes after revision ${afterRevision} are no longer kept (oldest kept: ${this.#compacted + 1}); list again and watch from the listing's revision`,
          ),
        );
        return undefined;
      }
      const matches = (e: StoreEvent) => e.revision > afterRevision && (e.kind === "put" ? e.entry.key : e.key).startsWith(prefix);
      for (const event of this.#log) if (matches(event)) subscriber.next(event);
      const subscription = this.#changes.subscribe({
        next: (e) => matches(e) && subscriber.next(e),
        complete: () => subscriber.complete(),
      });
      return () => subscription.unsubscribe();
    });
  }

  close(): void {
    this.#changes.complete();
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
