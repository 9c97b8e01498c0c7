import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { optionError } from "@xdskit/envoy-api";
import { parseRegistryYaml, type ServiceInstance, type ServiceKey, type ServiceRegistry, StaticServiceRegistry } from "./registry.js";

/** Options of {@link FileServiceRegistry.open}. */
export interface FileServiceRegistryOptions {
  /** The YAML file: a map from `namespace/name` to a list of instances. */
  readonly path: string;
  /** Re-read the file when it changes (fs.watch, debounced). Default `false`: call `reload()`. */
  readonly watch?: boolean;
  /** Debounce of `watch`, in milliseconds. Default 100. */
  readonly debounceMs?: number;
  /**
   * Told when a reload fails (unreadable file, bad YAML, a bad instance); the
   * last good instances stay. Default: ignore. A throwing `onError` is ignored.
   */
  readonly onError?: (error: unknown) => void;
}

/** The defaults of {@link FileServiceRegistryOptions}. */
export const FILE_REGISTRY_DEFAULTS = Object.freeze({ watch: false, debounceMs: 100 });

/**
 * Instances read from a YAML file, re-read on `reload()` (or on change with
 * `watch: true`). Only Services whose instances changed are announced, so a
 * compiler recompiles only their endpoints. A bad file is refused as a whole
 * and the last good instances stay.
 * @example
 * const registry = await FileServiceRegistry.open({ path: "instances.yaml", watch: true, onError: console.error });
 */
export class FileServiceRegistry implements ServiceRegistry {
  readonly #static: StaticServiceRegistry;
  readonly #options: FileServiceRegistryOptions;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;

  private constructor(options: FileServiceRegistryOptions, initial: Record<string, ServiceInstance[]>) {
    this.#options = options;
    this.#static = new StaticServiceRegistry(initial);
  }

  /** Reads the file (it must be valid) and starts watching when asked. @throws MeshModelErrors, or the file-system error. */
  static async open(options: FileServiceRegistryOptions): Promise<FileServiceRegistry> {
    if (typeof options?.path !== "string" || options.path === "")
      throw optionError("FileServiceRegistry", "path", "a file path", options?.path);
    const debounce = options.debounceMs ?? FILE_REGISTRY_DEFAULTS.debounceMs;
    if (!Number.isInteger(debounce) || debounce < 0) throw optionError("FileServiceRegistry", "debounceMs", "an integer >= 0", debounce);
    const registry = new FileServiceRegistry(options, parseRegistryYaml(await readFile(options.path, "utf8")));
    if (options.watch) {
      registry.#watcher = watch(options.path, () => {
        clearTimeout(registry.#timer);
        registry.#timer = setTimeout(() => void registry.reload().catch(() => {}), debounce);
      });
    }
    return registry;
  }

  /** Re-reads the file; rejects (and reports to onError) when it is bad, keeping the last good instances. */
  async reload(): Promise<void> {
    try {
      this.#static.replaceAll(parseRegistryYaml(await readFile(this.#options.path, "utf8")));
    } catch (error) {
      try {
        this.#options.onError?.(error);
      } catch {
        // onError is the user's; its failure changes nothing here.
      }
      throw error;
    }
  }

  instances(service: ServiceKey): readonly ServiceInstance[] {
    return this.#static.instances(service);
  }

  subscribe(listener: (service: ServiceKey) => void): () => void {
    return this.#static.subscribe(listener);
  }

  /** Stops watching. */
  close(): void {
    clearTimeout(this.#timer);
    this.#watcher?.close();
  }
}
