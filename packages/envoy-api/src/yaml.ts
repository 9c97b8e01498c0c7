import { createRequire } from "node:module";
import type * as YamlModule from "yaml";
import { ErrorCode, XdskitError } from "./errors.js";
import { messageFromJson, messageToJson } from "./internal/json-codec.js";
import { resolveOptions } from "./internal/options.js";
import { type FromJsonOptions, JSON_DEFAULTS, type ToJsonOptions } from "./json.js";
import { fullNameOf, type MessageType } from "./registry.js";

// The yaml package (CommonJS under Node) is loaded on the first call, not when
// @xdskit/envoy-api is imported: most programs never read YAML, and loading it
// was about a tenth of the import time of @xdskit/server.
let yaml: typeof YamlModule | undefined;
function loadYaml(): typeof YamlModule {
  yaml ??= createRequire(import.meta.url)("yaml") as typeof YamlModule;
  return yaml;
}

const YAML_WRITE_DEFAULTS = Object.freeze({
  emitDefaults: JSON_DEFAULTS.emitDefaults,
  useProtoNames: true,
  enumsAsIntegers: JSON_DEFAULTS.enumsAsIntegers,
});
const READ_DEFAULTS = Object.freeze({ ignoreUnknownFields: JSON_DEFAULTS.ignoreUnknownFields });

/**
 * Reads YAML, as Envoy users write config (snake_case names, `"@type"` in
 * `typed_config`, durations like `0.25s`), into a message.
 *
 * The YAML is parsed as YAML 1.2 (core schema, merge keys `<<` allowed;
 * integers are read exactly, so a `uint64` beyond 2^53 keeps every digit) and
 * then read by the same rules as {@link fromJson}, so proto names and JSON
 * names both work. Use it to load an Envoy bootstrap or resources kept as
 * YAML files.
 *
 * @throws XdskitError `XDSKIT_INVALID_YAML`: for YAML syntax errors (with line
 *   and column in the message, path `$`) and for everything {@link fromJson}
 *   rejects (with the path of the offending value, and the same message).
 *
 * @example
 * const bootstrap = fromYaml(Bootstrap, `
 * static_resources:
 *   clusters:
 *   - name: web
 *     connect_timeout: 0.25s
 *     type: STRICT_DNS
 * `);
 * bootstrap.staticResources?.clusters[0]?.connectTimeout?.nanos; // 250000000
 */
export function fromYaml<T>(type: MessageType<T>, text: string, options?: FromJsonOptions): T {
  const ctx = resolveOptions("fromYaml", READ_DEFAULTS, options);
  const doc = loadYaml().parseDocument(text, { merge: true, prettyErrors: true, uniqueKeys: true, intAsBigInt: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0] as Error;
    throw new XdskitError(ErrorCode.INVALID_YAML, `$: not valid YAML: ${first.message}`, { path: "$", cause: first });
  }
  let json: unknown;
  try {
    json = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  } catch (cause) {
    throw new XdskitError(ErrorCode.INVALID_YAML, `$: not valid YAML: ${(cause as Error).message}`, { path: "$", cause });
  }
  try {
    return messageFromJson(fullNameOf(type), json, ctx, "$") as T;
  } catch (error) {
    // The value rules are JSON's; the input was YAML, so say so in the code.
    if (!XdskitError.is(error) || error.code !== ErrorCode.INVALID_JSON) throw error;
    throw new XdskitError(ErrorCode.INVALID_YAML, error.message, {
      ...(error.path === undefined ? {} : { path: error.path }),
      ...(error.typeUrl === undefined ? {} : { typeUrl: error.typeUrl }),
      cause: error,
    });
  }
}

/**
 * Writes a message as YAML in Envoy's config style: proto (snake_case)
 * field names by default, otherwise the same values as {@link toJson}
 * (durations as `"1.5s"`, enums by name, Any with `"@type"`).
 *
 * @param options See {@link ToJsonOptions}; here `useProtoNames` defaults to `true`.
 * @throws XdskitError `XDSKIT_JSON_ENCODE_FAILED` as {@link toJson}.
 *
 * @example
 * toYaml(Cluster, Cluster.fromPartial({ name: "web", connectTimeout: { seconds: 1 } }));
 * // "name: web\nconnect_timeout: 1s\n"
 */
export function toYaml<T>(type: MessageType<T>, message: T, options?: ToJsonOptions): string {
  const ctx = resolveOptions("toYaml", YAML_WRITE_DEFAULTS, options);
  const json = messageToJson(fullNameOf(type), message as Record<string, unknown>, ctx, "$");
  return loadYaml().stringify(json, { lineWidth: 0 });
}
