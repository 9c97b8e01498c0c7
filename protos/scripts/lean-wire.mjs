// Points the generated modules' `import { BinaryReader, BinaryWriter } from
// "@bufbuild/protobuf/wire"` at packages/envoy-api/src/internal/wire.ts, which
// gives the same two classes without the rest of that entry point (its
// size-delimited helpers load @bufbuild/protobuf's reflection runtime: 21
// modules where the classes are 4). Why: docs/benchmarks.md, "Import time".
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { filesUnder } from "./files.mjs";

const WIRE_IMPORT = /^import \{ ([A-Za-z, ]+) \} from "@bufbuild\/protobuf\/wire";$/m;

/** Rewrites every generated module under `genDir`; returns how many it rewrote. */
export function useLeanWire(genDir) {
  const helper = join(dirname(genDir), "internal", "wire.js");
  let count = 0;
  for (const file of filesUnder(genDir, ".ts")) {
    const text = readFileSync(file, "utf8");
    if (!text.includes("@bufbuild/protobuf")) continue;
    const match = WIRE_IMPORT.exec(text);
    const names = match?.[1]?.split(", ") ?? [];
    if (!match || names.some((name) => name !== "BinaryReader" && name !== "BinaryWriter")) {
      throw new Error(`${file}: ts-proto's import of @bufbuild/protobuf changed shape; update protos/scripts/lean-wire.mjs`);
    }
    let rel = relative(dirname(file), helper).split("\\").join("/");
    if (!rel.startsWith(".")) rel = `./${rel}`;
    const rewritten = text.replace(WIRE_IMPORT, `import { ${match[1]} } from "${rel}";`);
    if (rewritten.includes("@bufbuild/protobuf")) throw new Error(`${file}: an import of @bufbuild/protobuf was left`);
    writeFileSync(file, rewritten);
    count++;
  }
  return count;
}
