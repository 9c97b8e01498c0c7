#!/usr/bin/env node
// Generates packages/envoy-api/src/gen from the Envoy v3 protos.
//
// 1. Stage the selected .proto files from @grpc/grpc-js-xds's deps/ into
//    protos/.build/src and apply our fixes (see FIXES below).
// 2. Hash everything that can change the output. When the hash matches the
//    stamp left by the last run, stop: generation takes minutes, a no-op run
//    takes a second.
// 3. `buf generate` with ts-proto (options in protos/buf.gen.yaml), whose
//    gRPC client constructors lazy-clients.mjs makes lazy and whose import of
//    @bufbuild/protobuf lean-wire.mjs narrows to its two wire classes, then
//    `buf build` to a descriptor image, from which schema.mjs writes the
//    runtime schema (JSON names, field kinds, validation rules, type URLs).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { filesUnder } from "./files.mjs";
import { makeClientsLazy } from "./lazy-clients.mjs";
import { useLeanWire } from "./lean-wire.mjs";
import { writeSchema } from "./schema.mjs";

const protosDir = dirname(dirname(fileURLToPath(import.meta.url)));
const buildDir = join(protosDir, ".build");
const stageDir = join(buildDir, "src");
const outDir = join(protosDir, "..", "packages", "envoy-api", "src", "gen");
const stampFile = join(outDir, ".inputs-hash");
const require = createRequire(join(protosDir, "package.json"));
const depsDir = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");

/**
 * Files that cannot compile from what @grpc/grpc-js-xds ships: they import
 * opencensus, opentelemetry or prometheus protos that are not in deps/.
 * Listed with the reason in docs/design/codegen.md.
 */
export const EXCLUDED = [
  "envoy/config/trace/v3/opencensus.proto",
  "envoy/config/trace/v3/trace.proto",
  "envoy/extensions/access_loggers/open_telemetry/v3/logs_service.proto",
  "envoy/service/metrics/v3/metrics_service.proto",
  "envoy/service/trace/v3/trace_service.proto",
];

/** Our fixes to third-party protos, applied to the staged copy only. */
const FIXES = [
  {
    file: "validate/validate.proto",
    why: "Envoy's protos use StringRules.ignore_empty (field 26 upstream), newer than the validate.proto shipped by @grpc/grpc-js-xds.",
    find: "optional bool strict = 25 [default = true];",
    replace:
      "optional bool strict = 25 [default = true];\n\n  // Added by xdskit (protos/scripts/generate.mjs): skip the rules when the string is empty.\n  optional bool ignore_empty = 26;",
  },
];

/** Which files of deps/ are staged, and which of those are generation roots. */
function selectSources() {
  const staged = []; // [absolute source, path relative to the module root]
  const roots = [];
  const add = (root, file, isRoot) => {
    const rel = relative(root, file).split("\\").join("/");
    if (EXCLUDED.includes(rel)) return;
    staged.push([file, rel]);
    if (isRoot) roots.push(rel);
  };
  const envoyRoot = join(depsDir, "envoy-api");
  for (const file of filesUnder(join(envoyRoot, "envoy"), ".proto")) {
    const rel = relative(envoyRoot, file);
    const isV3 = rel.split("/").includes("v3") || rel.startsWith("envoy/annotations/");
    if (isV3) add(envoyRoot, file, true);
  }
  const xdsRoot = join(depsDir, "xds");
  for (const file of filesUnder(xdsRoot, ".proto")) add(xdsRoot, file, true);
  const googleRoot = join(depsDir, "googleapis");
  for (const file of filesUnder(googleRoot, ".proto")) {
    const rel = relative(googleRoot, file);
    add(googleRoot, file, rel.startsWith("google/rpc/"));
  }
  const pgvRoot = join(depsDir, "protoc-gen-validate");
  add(pgvRoot, join(pgvRoot, "validate", "validate.proto"), true);
  return { staged: staged.sort((a, b) => a[1].localeCompare(b[1])), roots: roots.sort() };
}

function stage(staged) {
  rmSync(stageDir, { recursive: true, force: true });
  for (const [src, rel] of staged) {
    const dest = join(stageDir, rel);
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(src, dest);
  }
  for (const fix of FIXES) {
    const path = join(stageDir, fix.file);
    const text = readFileSync(path, "utf8");
    if (!text.includes(fix.find)) {
      throw new Error(`protos fix for ${fix.file} no longer applies (${fix.why}); update FIXES in protos/scripts/generate.mjs`);
    }
    if (!text.includes(fix.replace)) writeFileSync(path, text.replace(fix.find, fix.replace));
  }
}

function inputsHash(staged) {
  const hash = createHash("sha256");
  for (const [, rel] of staged) hash.update(rel).update(readFileSync(join(stageDir, rel)));
  // package.json pins the exact versions of buf, ts-proto and @bufbuild/protobuf.
  for (const own of [
    "package.json",
    "buf.gen.yaml",
    "buf.yaml",
    "scripts/generate.mjs",
    "scripts/lazy-clients.mjs",
    "scripts/lean-wire.mjs",
    "scripts/schema.mjs",
  ]) {
    hash.update(own).update(readFileSync(join(protosDir, own)));
  }
  return hash.digest("hex");
}

function main() {
  const started = Date.now();
  const force = process.argv.includes("--force");
  const { staged, roots } = selectSources();
  stage(staged);
  const hash = inputsHash(staged);
  if (!force && existsSync(stampFile) && readFileSync(stampFile, "utf8").trim() === hash) {
    console.log(`envoy-api: generated code is up to date (${roots.length} files, inputs ${hash.slice(0, 12)})`);
    return;
  }
  console.log(`envoy-api: generating TypeScript for ${roots.length} proto files ...`);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const bin = join(protosDir, "node_modules", ".bin");
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const buf = join(bin, "buf");
  // Paths are given relative to the buf workspace (protos/buf.yaml).
  const pathArgs = roots.flatMap((p) => ["--path", `.build/src/${p}`]);
  execFileSync(buf, ["generate", "--template", "buf.gen.yaml", "--include-imports", "--include-wkt", ...pathArgs], {
    cwd: protosDir,
    env,
    stdio: "inherit",
  });
  const lazyClients = makeClientsLazy(outDir);
  const leanWire = useLeanWire(outDir);
  const image = join(buildDir, "image.binpb");
  execFileSync(buf, ["build", "--exclude-source-info", "-o", image, ...pathArgs], { cwd: protosDir, env, stdio: "inherit" });
  const summary = writeSchema(readFileSync(image), outDir, roots);
  writeFileSync(stampFile, `${hash}\n`);
  console.log(
    `envoy-api: generated ${summary.files} files, ${summary.messages} messages, ${summary.enums} enums, ${lazyClients} lazy clients, ${leanWire} on the lean wire import in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

main();
