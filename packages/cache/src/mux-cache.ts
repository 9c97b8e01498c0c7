import { ErrorCode, XdskitError } from "@xdskit/envoy-api/core";
import type { Observable } from "rxjs";
import { checkKnown, checkObject, optionError } from "./internal/options.js";
// rxjs, required from its own modules, not the "rxjs" index: the same classes (internal/rx.ts).
import { throwError } from "./internal/rx.js";
import type { ConfigWatcher, DeltaResponse, DeltaWatchRequest, FetchRequest, SotwResponse, SotwWatchRequest } from "./types.js";

/** Options of {@link MuxCache}. */
export interface MuxCacheOptions {
  /** The cache serving each type URL. */
  readonly caches: Readonly<Record<string, ConfigWatcher>>;
  /** The cache for type URLs not in `caches`. Default: none (such watches fail with `XDSKIT_API_MISUSE`). */
  readonly fallback?: ConfigWatcher;
}

const OWNER = "MuxCache";

function isWatcher(value: unknown): value is ConfigWatcher {
  const v = value as ConfigWatcher;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.watchSotw === "function" &&
    typeof v.watchDelta === "function" &&
    typeof v.fetch === "function"
  );
}

/**
 * Routes each type URL to its own cache: for example clusters and listeners
 * from a {@link SnapshotCache}, endpoints from a {@link LinearCache}.
 *
 * Protocol events go to the cache of their type; stream events go to every
 * distinct cache once, so each keeps its node status.
 *
 * @example
 * const cache = new MuxCache({
 *   caches: { [TypeUrl.ClusterLoadAssignment]: endpoints },
 *   fallback: snapshots,
 * });
 */
export class MuxCache implements ConfigWatcher {
  readonly #caches: ReadonlyMap<string, ConfigWatcher>;
  readonly #fallback: ConfigWatcher | undefined;

  constructor(options: MuxCacheOptions) {
    checkObject(OWNER, options);
    checkKnown(OWNER, options, ["caches", "fallback"]);
    if (typeof options.caches !== "object" || options.caches === null)
      throw optionError(OWNER, "caches", "an object of type URL -> cache", options.caches);
    const caches = new Map<string, ConfigWatcher>();
    for (const [typeUrl, cache] of Object.entries(options.caches)) {
      if (!isWatcher(cache)) throw optionError(OWNER, `caches["${typeUrl}"]`, "a cache (watchSotw, watchDelta, fetch)", cache);
      caches.set(typeUrl, cache);
    }
    if (options.fallback !== undefined && !isWatcher(options.fallback))
      throw optionError(OWNER, "fallback", "a cache (watchSotw, watchDelta, fetch)", options.fallback);
    this.#caches = caches;
    this.#fallback = options.fallback;
  }

  /** The cache serving a type URL, or undefined. */
  cacheFor(typeUrl: string): ConfigWatcher | undefined {
    return this.#caches.get(typeUrl) ?? this.#fallback;
  }

  #route(method: string, typeUrl: unknown): ConfigWatcher | XdskitError {
    const cache = typeof typeUrl === "string" ? this.cacheFor(typeUrl) : undefined;
    if (cache) return cache;
    return new XdskitError(
      ErrorCode.API_MISUSE,
      `${OWNER}.${method}: no cache serves ${String(typeUrl)}; served: ${[...this.#caches.keys()].join(", ") || "(none)"}`,
      { typeUrl: String(typeUrl) },
    );
  }

  /** Routes a SotW watch to the cache of its type; an unserved type errors the Observable (`XDSKIT_API_MISUSE`). */
  watchSotw(request: SotwWatchRequest): Observable<SotwResponse> {
    const cache = this.#route("watchSotw", request?.typeUrl);
    return cache instanceof XdskitError ? throwError(() => cache) : cache.watchSotw(request);
  }

  /** Routes a delta watch to the cache of its type (see {@link watchSotw}). */
  watchDelta(request: DeltaWatchRequest): Observable<DeltaResponse> {
    const cache = this.#route("watchDelta", request?.typeUrl);
    return cache instanceof XdskitError ? throwError(() => cache) : cache.watchDelta(request);
  }

  /** Routes a fetch; an unserved type rejects with `XDSKIT_API_MISUSE`. */
  fetch(request: FetchRequest): Promise<SotwResponse | undefined> {
    const cache = this.#route("fetch", request?.typeUrl);
    return cache instanceof XdskitError ? Promise.reject(cache) : cache.fetch(request);
  }
}
