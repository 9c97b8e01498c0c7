// The files below a directory, for the generation scripts.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Every file below `dir` (recursively) whose name ends with `ending`. */
export function filesUnder(dir, ending) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, ending));
    else if (entry.endsWith(ending)) out.push(path);
  }
  return out;
}
