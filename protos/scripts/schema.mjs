// Writes the runtime schema and the type registry of @xdskit/envoy-api from a
// buf descriptor image. Runs at build time only.
//
// The schema is what ts-proto does not give us: for every message its proto
// and JSON field names, its TypeScript keys, field kinds, oneofs, and the
// protoc-gen-validate rules; for every enum its values. @xdskit/envoy-api uses
// it for canonical proto3 JSON and the registry, @xdskit/resources for
// validation. Its format is documented in docs/design/codegen.md.

import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createFileRegistry, fromBinary, getOption, hasOption, ScalarType, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const SCALAR_NAMES = {
  [ScalarType.DOUBLE]: "double",
  [ScalarType.FLOAT]: "float",
  [ScalarType.INT64]: "int64",
  [ScalarType.UINT64]: "uint64",
  [ScalarType.INT32]: "int32",
  [ScalarType.FIXED64]: "fixed64",
  [ScalarType.FIXED32]: "fixed32",
  [ScalarType.BOOL]: "bool",
  [ScalarType.STRING]: "string",
  [ScalarType.BYTES]: "bytes",
  [ScalarType.UINT32]: "uint32",
  [ScalarType.SFIXED32]: "sfixed32",
  [ScalarType.SFIXED64]: "sfixed64",
  [ScalarType.SINT32]: "sint32",
  [ScalarType.SINT64]: "sint64",
};

/** ts-proto's property name for a proto field (option snakeToCamel=keys_json, its default). */
export function tsKey(protoName) {
  if (!protoName.includes("_")) return protoName;
  const keepCase = /[a-z]/.test(protoName);
  return protoName
    .split("_")
    .map((word, i) => {
      const w = keepCase ? word : word.toLowerCase();
      return i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1);
    })
    .join("");
}

/** ts-proto's export name for a (possibly nested) message or enum: outer names joined by `_`. */
function tsName(desc) {
  return desc.typeName
    .slice(desc.file.proto.package ? desc.file.proto.package.length + 1 : 0)
    .split(".")
    .join("_");
}

function moduleOf(file) {
  return file.name; // "envoy/config/cluster/v3/cluster" (protobuf-es strips ".proto")
}

export function writeSchema(imageBytes, outDir, roots) {
  const set = fromBinary(FileDescriptorSetSchema, imageBytes);
  const registry = createFileRegistry(set);
  const fieldRules = registry.getExtension("validate.rules");
  const messageDisabled = registry.getExtension("validate.disabled");
  const messageIgnored = registry.getExtension("validate.ignored");
  const oneofRequired = registry.getExtension("validate.required");
  const rulesSchema = registry.getMessage("validate.FieldRules");
  const opt = (desc, ext) => (ext && hasOption(desc, ext) ? getOption(desc, ext) : undefined);

  const messages = {};
  const enums = {};
  const files = [];
  const fieldOf = (field, message) => {
    const out = { n: field.name, j: field.jsonName, k: tsKey(field.name), no: field.number };
    const describe = (kind, scalar, msg, en) => {
      if (kind === "message") return { kind: "m", type: msg.typeName };
      if (kind === "enum") return { kind: "e", type: en.typeName };
      return { kind: "s", type: SCALAR_NAMES[scalar] };
    };
    switch (field.fieldKind) {
      case "list":
        Object.assign(out, describe(field.listKind, field.scalar, field.message, field.enum), { rep: 1 });
        break;
      case "map":
        Object.assign(out, {
          kind: "map",
          type: "",
          map: { key: SCALAR_NAMES[field.mapKey], ...describe(field.mapKind, field.scalar, field.message, field.enum) },
        });
        break;
      default:
        Object.assign(out, describe(field.fieldKind, field.scalar, field.message, field.enum));
    }
    if (field.oneof) out.oi = message.oneofs.indexOf(field.oneof);
    if (field.proto.proto3Optional) out.opt = 1;
    if (field.deprecated) out.dep = 1;
    const rules = opt(field, fieldRules);
    if (rules) out.rules = toJson(rulesSchema, rules, { registry });
    return out;
  };
  const visitEnum = (en) => {
    const values = {};
    for (const v of en.values) values[v.name] = v.number;
    enums[en.typeName] = { m: moduleOf(en.file), t: tsName(en), v: values };
  };
  const visitMessage = (msg) => {
    const entry = { m: moduleOf(msg.file), t: tsName(msg), f: msg.fields.map((f) => fieldOf(f, msg)) };
    if (msg.oneofs.length) {
      entry.o = msg.oneofs.map((o) => o.name);
      const required = msg.oneofs.map((o, i) => (opt(o, oneofRequired) ? i : -1)).filter((i) => i >= 0);
      if (required.length) entry.req = required;
    }
    if (msg.proto.options?.mapEntry) entry.map = 1;
    if (opt(msg, messageDisabled)) entry.dis = 1;
    if (opt(msg, messageIgnored)) entry.ign = 1;
    messages[msg.typeName] = entry;
    msg.nestedEnums.forEach(visitEnum);
    msg.nestedMessages.forEach(visitMessage);
  };
  for (const file of registry.files) {
    files.push(moduleOf(file));
    file.enums.forEach(visitEnum);
    file.messages.forEach(visitMessage);
  }

  const schema = { version: 1, roots: roots.map((r) => r.replace(/\.proto$/, "")), messages, enums };
  const json = JSON.stringify(schema);
  writeFileSync(
    join(outDir, "schema.ts"),
    `// Generated by protos/scripts/schema.mjs. Do not edit.\n/** The runtime schema, as JSON text (parsed lazily: JSON.parse is faster than a literal). */\nexport const schemaJson: string = ${JSON.stringify(json)};\n`,
  );
  writeRegistry(messages, outDir);
  return { files: files.length, messages: Object.keys(messages).length, enums: Object.keys(enums).length };
}

/**
 * registry.ts: where each generated message codec lives, by full name, so
 * that the runtime loads a codec's module only when a type is first looked up
 * (importing every module up front cost most of `import "@xdskit/server"`).
 * Each generated module also gets its codecs tagged with their full names, so
 * that `fullNameOf(codec)` works for a codec imported directly, before any
 * lookup.
 */
function writeRegistry(messages, outDir) {
  const modules = [...new Set(Object.values(messages).map((m) => m.m))].sort();
  const index = new Map(modules.map((m, i) => [m, i]));
  const lines = [
    "// Generated by protos/scripts/schema.mjs. Do not edit.",
    "/** The generated modules, as subpaths of @xdskit/envoy-api. */",
    `export const codecModules: readonly string[] = ${JSON.stringify(modules)};`,
    "",
    "/** Every generated message codec by full protobuf name: [index into codecModules, export name]. */",
    "export const codecExports: Readonly<Record<string, readonly [number, string]>> = {",
    ...Object.entries(messages).map(([name, m]) => `  ${JSON.stringify(name)}: [${index.get(m.m)}, ${JSON.stringify(m.t)}],`),
    "};",
    "",
  ];
  writeFileSync(join(outDir, "registry.ts"), lines.join("\n"));
  const byModule = new Map();
  for (const [name, m] of Object.entries(messages)) {
    if (!byModule.has(m.m)) byModule.set(m.m, []);
    byModule.get(m.m).push([m.t, name]);
  }
  for (const [module, codecs] of byModule) {
    const file = join(outDir, `${module}.ts`);
    const pairs = codecs.map(([t, name]) => `[${t}, ${JSON.stringify(name)}]`).join(", ");
    appendFileSync(
      file,
      `\n// Added by protos/scripts/schema.mjs: each codec's full protobuf name, read by fullNameOf().\nfor (const [codec, name] of [${pairs}] as [object, string][]) Object.defineProperty(codec, Symbol.for("xdskit.protoFullName"), { value: name });\n`,
    );
  }
}
