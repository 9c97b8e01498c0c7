// immer's `produce`, loaded the first time a partial update needs it
// (`updateResources`), not with the package: `setSnapshot`, watches and
// fetches never use it, and loading it is about 10 ms of the import of
// @xdskit/server (docs/benchmarks.md, "Import time").
//
// It is the module `import "immer"` gives (require() of an ES module shares it
// with import), so immer's settings (`setAutoFreeze`, ...) made by the
// application apply here as before.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type * as Immer from "immer";

const requireHere = createRequire(import.meta.url);
let immer: typeof Immer | undefined;

/** immer's `produce(base, recipe)`, curried forms aside. */
export function produce<T>(base: T, recipe: (draft: Immer.Draft<T>) => void): T {
  immer ??= requireHere(fileURLToPath(import.meta.resolve("immer"))) as typeof Immer;
  return immer.produce(base, recipe);
}
