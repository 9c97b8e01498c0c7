// After TypeDoc: fail when a public package or a key export is missing from
// the reference, so a broken entry point cannot pass CI unnoticed.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const out = new URL("dist/", import.meta.url).pathname;
const expected = {
  "_xdskit_envoy-api": ["Long", "TypeUrl", "XdskitError", "fromYaml"],
  _xdskit_resources: ["cluster", "route", "createSnapshotValidator"],
  _xdskit_cache: ["SnapshotCache", "LinearCache", "MuxCache"],
  _xdskit_server: ["XdsServer"],
  _xdskit_testing: ["FakeEnvoy"],
};
const missing = [];
const files = readdirSync(out, { recursive: true }).map(String);
for (const [pkg, names] of Object.entries(expected)) {
  if (!existsSync(join(out, "modules", `${pkg}.html`))) missing.push(`modules/${pkg}.html`);
  for (const name of names) if (!files.some((f) => f.endsWith(`/${pkg}.${name}.html`))) missing.push(`${pkg}.${name}`);
}
if (missing.length > 0) {
  console.error(`api-docs: the reference lacks ${missing.join(", ")}`);
  process.exit(1);
}
console.log(`api-docs: ${files.filter((f) => f.endsWith(".html")).length} pages in ${out}`);
