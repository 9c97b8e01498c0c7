// Whether a built tree can be loaded as its packages are published (fleet.ts
// --published): through the bundles scripts/bundle.mjs writes, which an
// application installed from npm loads.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The Node flag under which a workspace's own `@xdskit/*` imports resolve to the published bundles. */
export const BUNDLE_CONDITION = "--conditions=xdskit-bundle";

/**
 * Whether `root` (a repository root whose packages are built) has the bundles
 * and maps its packages' imports of each other to them under the
 * xdskit-bundle condition. Without that mapping a bundle's
 * `import "@xdskit/cache"` would load the tsc output beside it (two copies of
 * each package), so such a tree (a baseline older than the condition) is
 * loaded as tsc built it.
 */
export function hasPublishedBundles(root: string): boolean {
  const manifest = join(root, "packages/server/package.json");
  if (!existsSync(manifest) || !existsSync(join(root, "packages/server/dist/bundle/index.js"))) return false;
  const entry = (JSON.parse(readFileSync(manifest, "utf8")) as { exports?: Record<string, unknown> }).exports?.["."];
  return typeof entry === "object" && entry !== null && "xdskit-bundle" in entry;
}
