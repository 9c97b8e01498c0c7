// BinaryReader and BinaryWriter of @bufbuild/protobuf: all the generated
// codecs use of it. Its public `wire` entry point also exports the
// size-delimited stream helpers, which load its reflection runtime
// (to-binary, from-binary, reflect/*, wkt/*): 21 modules, about 25 ms and
// 6 MiB of RSS at import, where the two classes are 4 modules. The generated
// modules import them from here instead (protos/scripts/lean-wire.mjs rewrites
// their import). Why: docs/benchmarks.md, "Import time".
//
// The classes are the very ones `import { BinaryReader } from
// "@bufbuild/protobuf/wire"` gives: this loads the ES module that entry point
// re-exports them from (require() of an ES module shares the module with
// import), so `decode(new BinaryReader(bytes))` with a reader made by the
// caller still takes the reader as it is.

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type * as Wire from "@bufbuild/protobuf/wire";

type WireClasses = Pick<typeof Wire, "BinaryReader" | "BinaryWriter">;

const requireHere = createRequire(import.meta.url);

function hasClasses(module: Partial<WireClasses> | undefined): module is WireClasses {
  return typeof module?.BinaryReader === "function" && typeof module.BinaryWriter === "function";
}

/**
 * The module of @bufbuild/protobuf that defines the two classes, found next to
 * the `wire` entry point it resolves to; that entry point itself when its
 * layout is not the one expected (a later release may move the file).
 */
function loadWireClasses(): WireClasses {
  const entry = import.meta.resolve("@bufbuild/protobuf/wire");
  try {
    const classes = requireHere(fileURLToPath(new URL("./binary-encoding.js", entry))) as Partial<WireClasses>;
    if (hasClasses(classes)) return classes;
  } catch {
    // Not where 2.x keeps it: the entry point below has the same classes.
  }
  return requireHere(fileURLToPath(entry)) as WireClasses;
}

const wire = loadWireClasses();

/** @bufbuild/protobuf's `BinaryReader`: reads protobuf binary, field by field. */
export const BinaryReader: typeof Wire.BinaryReader = wire.BinaryReader;
export type BinaryReader = Wire.BinaryReader;
/** @bufbuild/protobuf's `BinaryWriter`: writes protobuf binary, field by field. */
export const BinaryWriter: typeof Wire.BinaryWriter = wire.BinaryWriter;
export type BinaryWriter = Wire.BinaryWriter;
