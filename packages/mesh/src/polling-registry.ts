import { ErrorCode, optionError, XdskitError } from "@xdskit/envoy-api";
import { type ServiceInstance, type ServiceKey, type ServiceRegistry, StaticServiceRegistry, serviceKeyString } from "./registry.js";

/** Options of {@link PollingServiceRegistry}. */
export interface PollingServiceRegistryOptions {
  /** The Services to discover. */
  readonly services: readonly ServiceKey[];
  /**
   * Your discovery: the current instances of one Service (from Consul, DNS, a
   * database...). A rejection or a bad answer keeps that Service's last good
   * instances and goes to `onError`; it never stops the polling.
   */
  readonly discover: (service: ServiceKey) => Promise<readonly ServiceInstance[]>;
  /** Time between rounds, in milliseconds (a round asks every Service once, in parallel). Default 5,000. */
  readonly intervalMs?: number;
  /** Told of each failed discovery, as an `XDSKIT_HOOK_FAILED` error naming the Service. Default: ignore. A throwing `onError` is ignored. */
  readonly onError?: (error: XdskitError) => void;
}

/** The defaults of {@link PollingServiceRegistryOptions}. */
export const POLLING_REGISTRY_DEFAULTS = Object.freeze({ intervalMs: 5_000 });

/**
 * A registry fed by your own discovery function, polled: the hook for
 * discovery systems without push notifications. Only Services whose
 * instances changed are announced, so a compiler rebuilds only their
 * endpoints. Call `refresh()` to poll now (e.g. on a webhook), `close()` to stop.
 * @example
 * const registry = await PollingServiceRegistry.start({
 *   services: [{ namespace: "shop", name: "orders" }],
 *   discover: async ({ name }) => (await consul.health.service(name)).map((e) => ({ address: e.Service.Address, port: e.Service.Port })),
 * });
 */
export class PollingServiceRegistry implements ServiceRegistry {
  readonly #static = new StaticServiceRegistry();
  readonly #options: PollingServiceRegistryOptions;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: PollingServiceRegistryOptions) {
    this.#options = options;
  }

  /** Checks the options, runs a first round (waiting for it) and starts polling. */
  static async start(options: PollingServiceRegistryOptions): Promise<PollingServiceRegistry> {
    if (typeof options !== "object" || options === null) throw optionError("PollingServiceRegistry", "(options)", "an object", options);
    if (!Array.isArray(options.services))
      throw optionError("PollingServiceRegistry", "services", "a list of { namespace, name }", options.services);
    if (typeof options.discover !== "function") throw optionError("PollingServiceRegistry", "discover", "a function", options.discover);
    const interval = options.intervalMs ?? POLLING_REGISTRY_DEFAULTS.intervalMs;
    if (!Number.isInteger(interval) || interval < 1) throw optionError("PollingServiceRegistry", "intervalMs", "an integer >= 1", interval);
    const registry = new PollingServiceRegistry(options);
    await registry.refresh();
    const loop = () => {
      registry.#timer = setTimeout(() => {
        void registry.refresh().then(() => {
          if (!registry.#closed) loop();
        });
      }, interval);
      registry.#timer.unref();
    };
    loop();
    return registry;
  }

  /** Asks every Service now; resolves when all answered (failures go to onError). */
  async refresh(): Promise<void> {
    await Promise.all(
      this.#options.services.map(async (service) => {
        try {
          const instances = await this.#options.discover(service);
          if (!this.#closed) this.#static.set(service, instances);
        } catch (cause) {
          const error = new XdskitError(
            ErrorCode.HOOK_FAILED,
            `PollingServiceRegistry: discover(${serviceKeyString(service)}) failed; its last good instances stay: ${(cause as Error)?.message ?? String(cause)}`,
            {
              resourceName: serviceKeyString(service),
              cause,
            },
          );
          try {
            this.#options.onError?.(error);
          } catch {
            // onError is the user's; its failure changes nothing here.
          }
        }
      }),
    );
  }

  instances(service: ServiceKey): readonly ServiceInstance[] {
    return this.#static.instances(service);
  }

  subscribe(listener: (service: ServiceKey) => void): () => void {
    return this.#static.subscribe(listener);
  }

  /** Stops polling. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
