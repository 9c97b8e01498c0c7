// The gRPC client constructors of the generated service modules (e.g.
// `AggregatedDiscoveryServiceClient`), made on first use. ts-proto writes
// `makeGenericClientConstructor(...)` at the top of each service module, which
// loads @grpc/grpc-js (65 files, about a third of the import time of @xdskit/server)
// with any codec or service definition of that module: the discovery
// messages, `Runtime`, every service definition the server registers.
// protos/scripts/lazy-clients.mjs rewrites that call to this one.
import { createRequire } from "node:module";
import type * as Grpc from "@grpc/grpc-js";

type ClientConstructor = ReturnType<typeof Grpc.makeGenericClientConstructor>;

// The peer dependency, resolved from this package as the static import was:
// the same @grpc/grpc-js instance (require() and import share CommonJS modules).
const requireHere = createRequire(import.meta.url);

/**
 * `makeGenericClientConstructor(service, serviceName)` of @grpc/grpc-js,
 * deferred: returns a constructor that stands for the real one and makes it
 * (loading @grpc/grpc-js) the first time it is used in any way: `new`,
 * `extends`, `instanceof`, reading `service` or any other property.
 */
export function lazyClientConstructor(service: Grpc.ServiceDefinition, serviceName: string): ClientConstructor {
  let made: ClientConstructor | undefined;
  const real = (): ClientConstructor => {
    made ??= (requireHere("@grpc/grpc-js") as typeof Grpc).makeGenericClientConstructor(service, serviceName);
    return made;
  };
  // A bound function: constructible, and without a `prototype` of its own, so
  // the proxy may report the real constructor's (a proxy must report the
  // target's own non-configurable properties as they are).
  const target = function lazyClient() {}.bind(undefined);
  // Properties the real constructor has as non-configurable must exist on the
  // target before the proxy may report them.
  const mirror = (key: string | symbol): PropertyDescriptor | undefined => {
    const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
    if (descriptor && !descriptor.configurable && !Reflect.getOwnPropertyDescriptor(target, key)) {
      Reflect.defineProperty(target, key, descriptor);
    }
    return descriptor;
  };
  return new Proxy(target as unknown as ClientConstructor, {
    construct: (_target, args, newTarget) => Reflect.construct(real(), args, newTarget),
    apply: (_target, self, args) => Reflect.apply(real() as unknown as (...a: unknown[]) => unknown, self, args),
    get: (_target, key) => Reflect.get(real(), key),
    set: (_target, key, value) => Reflect.set(real(), key, value),
    has: (_target, key) => Reflect.has(real(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
    ownKeys: () => {
      const keys = Reflect.ownKeys(real());
      for (const key of keys) mirror(key);
      return keys;
    },
    getOwnPropertyDescriptor: (_target, key) => mirror(key),
    defineProperty: (_target, key, descriptor) => {
      if (!Reflect.defineProperty(real(), key, descriptor)) return false;
      mirror(key);
      return true;
    },
    deleteProperty: (_target, key) => Reflect.deleteProperty(real(), key),
  });
}
