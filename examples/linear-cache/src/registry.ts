// A stand-in for your service registry (Consul, Kubernetes EndpointSlices, a
// database...): instances register and deregister, and every change is
// announced to listeners as one event.
import { EventEmitter } from "node:events";

/** One change in the registry. */
export interface RegistryEvent {
  readonly kind: "up" | "down";
  readonly service: string;
  /** `host:port` of the instance. */
  readonly address: string;
}

export class ServiceRegistry {
  readonly #instances = new Map<string, Set<string>>();
  readonly #events = new EventEmitter<{ change: [RegistryEvent] }>();

  /** An instance of `service` is up at `address` (no event if it already was). */
  register(service: string, address: string): void {
    const set = this.#instances.get(service) ?? new Set<string>();
    this.#instances.set(service, set);
    if (set.has(address)) return;
    set.add(address);
    this.#events.emit("change", { kind: "up", service, address });
  }

  /** The instance at `address` is gone (no event if it was not registered). */
  deregister(service: string, address: string): void {
    if (!this.#instances.get(service)?.delete(address)) return;
    this.#events.emit("change", { kind: "down", service, address });
  }

  /** Current instances of `service`, sorted. */
  instances(service: string): string[] {
    return [...(this.#instances.get(service) ?? [])].sort();
  }

  /** Calls `listener` on every change; returns a function that stops it. */
  onChange(listener: (event: RegistryEvent) => void): () => void {
    this.#events.on("change", listener);
    return () => this.#events.off("change", listener);
  }
}
