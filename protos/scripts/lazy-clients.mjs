// Makes the generated gRPC client constructors lazy: ts-proto (with
// outputServices=grpc-js) writes `export const FooClient =
// makeGenericClientConstructor(FooService, "...")` at the top level of each
// service module, so loading any codec or service definition of that module
// loaded @grpc/grpc-js too. This rewrites the call to lazyClientConstructor
// (packages/envoy-api/src/internal/lazy-client.ts), which makes the same
// constructor with @grpc/grpc-js on first use. Why: docs/benchmarks.md,
// "Import time".
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { filesUnder } from "./files.mjs";

/** Rewrites every generated service module under `genDir`; returns how many constructors it made lazy. */
export function makeClientsLazy(genDir) {
  const helper = join(dirname(genDir), "internal", "lazy-client.js");
  let count = 0;
  for (const file of filesUnder(genDir, ".ts")) {
    const text = readFileSync(file, "utf8");
    if (!text.includes("makeGenericClientConstructor")) continue;
    const calls = text.split("= makeGenericClientConstructor(").length - 1;
    const importEnd = text.indexOf('} from "@grpc/grpc-js";\n');
    const named = /\n {2}makeGenericClientConstructor,\n/;
    if (calls === 0 || importEnd < 0 || !named.test(text.slice(0, importEnd))) {
      throw new Error(`${file}: ts-proto's client code changed shape; update protos/scripts/lazy-clients.mjs`);
    }
    let rel = relative(dirname(file), helper).split("\\").join("/");
    if (!rel.startsWith(".")) rel = `./${rel}`;
    const afterImport = importEnd + '} from "@grpc/grpc-js";\n'.length;
    const rewritten =
      text.slice(0, afterImport).replace(named, "\n") +
      `import { lazyClientConstructor } from "${rel}";\n` +
      text.slice(afterImport).replaceAll("= makeGenericClientConstructor(", "= lazyClientConstructor(");
    if (rewritten.includes("makeGenericClientConstructor")) throw new Error(`${file}: a makeGenericClientConstructor call was left`);
    writeFileSync(file, rewritten);
    count += calls;
  }
  return count;
}
