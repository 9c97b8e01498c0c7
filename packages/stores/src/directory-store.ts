import { mkdirSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ErrorCode, type JsonValue, optionError, XdskitError } from "@xdskit/envoy-api";
import type { Observable } from "rxjs";
import type { ConfigStore, StoreEntry, StoreEvent, StoreListing, StoreWriteOptions } from "./config-store.js";
import { checkKey, KvState, type PlannedWrite } from "./internal/kv-state.js";
import { acquirePidLock } from "./internal/pid-lock.js";
import { checkLogSize } from "./memory-store.js";

/** Options of {@link DirectoryConfigStore.open}. */
export interface DirectoryConfigStoreOptions {
  /** The state directory; created if missing. Required. */
  readonly directory: string;
  /** As for the memory store: recent changes kept for resuming watches. Default 1000. */
  readonly maxLoggedEvents?: number;
  /**
   * fsync the state file and the directory on every write. Default `true`;
   * `false` only for throwaway state (tests): a power loss may then lose
   * acknowledged writes (a `kill -9` still cannot, the page cache survives it).
   */
  readonly fsync?: boolean;
}

/** Defaults of {@link DirectoryConfigStoreOptions}. */
export const DIRECTORY_STORE_DEFAULTS = Object.freeze({ maxLoggedEvents: 1000, fsync: true });

const STATE_FILE = "state.json";
const LOCK_FILE = "lock";
const FORMAT = 1;
/** Directories open in this process: the PID lock cannot tell this process from itself. */
const openHere = new Set<string>();

interface StateFile {
  readonly format: number;
  readonly revision: number;
  readonly entries: readonly StoreEntry[];
}

/**
 * A {@link ConfigStore} in a state directory: the embedded default of
 * `xdskit serve`, no server to install.
 *
 * - Crash-safe: each write goes to a temporary file, is fsynced, renamed over
 *   `state.json` (atomic on POSIX file systems) and the directory is fsynced;
 *   only then does the write resolve. A `kill -9` at any instant leaves
 *   either the old or the new state, never a mix.
 * - Single process: `open` takes a PID lock file (`lock`) in the directory and
 *   refuses (`XDSKIT_STORE_FAILED`, naming the PID) while another live
 *   process holds it. A lock left by a killed process is taken over.
 * - Sized for config, not data: the whole state is rewritten on every write
 *   (fine for thousands of resources; use an etcd store beyond that).
 *
 * @example
 * const store = await DirectoryConfigStore.open({ directory: "/var/lib/xdskit" });
 * await store.put("groups/front", { version: "1" });
 * await store.close(); // releases the lock
 */
export class DirectoryConfigStore implements ConfigStore {
  readonly description: string;
  readonly directory: string;
  readonly #state: KvState;
  readonly #fsync: boolean;
  readonly #release: () => void;
  /** Writes run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(directory: string, state: KvState, fsync: boolean, release: () => void) {
    this.directory = directory;
    this.description = `directory:${directory}`;
    this.#state = state;
    this.#fsync = fsync;
    this.#release = release;
  }

  /**
   * Opens (creating if needed) and locks a state directory, and reads its state.
   * @throws XdskitError `XDSKIT_STORE_FAILED` when another process holds the
   *   directory, or the state file cannot be read or is damaged.
   */
  static async open(options: DirectoryConfigStoreOptions): Promise<DirectoryConfigStore> {
    if (typeof options?.directory !== "string" || options.directory === "") {
      throw optionError("DirectoryConfigStore.open", "directory", "a non-empty path", options?.directory);
    }
    const fsync = options.fsync ?? DIRECTORY_STORE_DEFAULTS.fsync;
    if (typeof fsync !== "boolean") throw optionError("DirectoryConfigStore.open", "fsync", "a boolean", fsync);
    const state = new KvState(checkLogSize("DirectoryConfigStore.open", options.maxLoggedEvents));
    const directory = resolve(options.directory);
    try {
      mkdirSync(directory, { recursive: true });
    } catch (cause) {
      throw new XdskitError(ErrorCode.STORE_FAILED, `DirectoryConfigStore: cannot create ${directory}: ${(cause as Error).message}`, {
        cause,
      });
    }
    if (openHere.has(directory)) {
      throw new XdskitError(ErrorCode.STORE_FAILED, `DirectoryConfigStore: ${directory} is already open in this process; close it first`);
    }
    const unlock = acquirePidLock(join(directory, LOCK_FILE), "DirectoryConfigStore");
    openHere.add(directory);
    const release = () => {
      openHere.delete(directory);
      unlock();
    };
    try {
      // Temporary files of writes a crash interrupted were never committed.
      for (const name of readdirSync(directory)) if (name.startsWith(`${STATE_FILE}.tmp-`)) unlinkSync(join(directory, name));
      const saved = readState(join(directory, STATE_FILE));
      if (saved) state.restore(saved.revision, saved.entries);
    } catch (error) {
      release();
      throw error;
    }
    return new DirectoryConfigStore(directory, state, fsync, release);
  }

  async revision(): Promise<number> {
    return this.#state.revision;
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    return this.#state.get(key);
  }

  async list(prefix = ""): Promise<StoreListing> {
    return this.#state.list(prefix);
  }

  async put(key: string, value: JsonValue, options?: StoreWriteOptions): Promise<number> {
    checkKey("DirectoryConfigStore.put", key);
    return this.#enqueue("put", () => this.#state.plan(key, value, options)) as Promise<number>;
  }

  async delete(key: string, options?: StoreWriteOptions): Promise<number | undefined> {
    checkKey("DirectoryConfigStore.delete", key);
    return this.#enqueue("delete", () => this.#state.plan(key, undefined, options));
  }

  watch(prefix: string, afterRevision: number): Observable<StoreEvent> {
    return this.#state.watch(this.description, prefix, afterRevision);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.catch(() => undefined);
    this.#state.close();
    this.#release();
  }

  #enqueue(method: string, plan: () => PlannedWrite | undefined): Promise<number | undefined> {
    if (this.#closed) return Promise.reject(new XdskitError(ErrorCode.API_MISUSE, `DirectoryConfigStore.${method}: the store is closed`));
    const run = async () => {
      const planned = plan();
      if (!planned) return undefined;
      await this.#persist(planned);
      return this.#state.commit(planned);
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #persist(planned: PlannedWrite): Promise<void> {
    const file = join(this.directory, STATE_FILE);
    const temporary = `${file}.tmp-${process.pid}`;
    const content: StateFile = { format: FORMAT, revision: planned.event.revision, entries: this.#state.entriesAfter(planned) };
    try {
      const handle = await open(temporary, "w", 0o644);
      try {
        await handle.writeFile(JSON.stringify(content));
        if (this.#fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
      if (this.#fsync) {
        const dir = await open(this.directory, "r");
        try {
          await dir.sync();
        } finally {
          await dir.close();
        }
      }
    } catch (cause) {
      try {
        unlinkSync(temporary);
      } catch {
        // Never created.
      }
      throw new XdskitError(ErrorCode.STORE_FAILED, `${this.description}: writing ${file} failed: ${(cause as Error).message}`, { cause });
    }
  }
}

function readState(file: string): StateFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new XdskitError(ErrorCode.STORE_FAILED, `DirectoryConfigStore: cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  let parsed: StateFile;
  try {
    parsed = JSON.parse(text) as StateFile;
  } catch (cause) {
    throw new XdskitError(ErrorCode.STORE_FAILED, `DirectoryConfigStore: ${file} is damaged (not JSON): ${(cause as Error).message}`, {
      cause,
    });
  }
  if (parsed?.format !== FORMAT || !Number.isInteger(parsed.revision) || !Array.isArray(parsed.entries)) {
    throw new XdskitError(ErrorCode.STORE_FAILED, `DirectoryConfigStore: ${file} is not a state file of format ${FORMAT}`);
  }
  return parsed;
}
