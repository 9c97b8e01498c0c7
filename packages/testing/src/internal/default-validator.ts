// The default validator: `validate` from @xdskit/resources (protoc-gen-validate
// rules), looked up at runtime so FakeEnvoy works with any version of that
// package, including one that does not provide it yet.
import * as resources from "@xdskit/resources";
import type { ResourceProblem, ResourceValidator } from "../types.js";

type Validate = (typeUrl: string, message: unknown) => unknown;

function problemsOf(result: unknown): ResourceProblem[] {
  if (result === undefined || result === null || result === true) return [];
  const list = Array.isArray(result)
    ? result
    : ((result as { violations?: unknown[]; issues?: unknown[] }).violations ?? (result as { issues?: unknown[] }).issues ?? []);
  return list.map((item) => {
    if (typeof item === "string") return { message: item };
    const v = item as { path?: string; field?: string; message?: string };
    const where = v.field || v.path;
    return { message: where ? `${where}: ${v.message ?? String(item)}` : (v.message ?? String(item)) };
  });
}

/** The validator FakeEnvoy uses by default, or null when @xdskit/resources has no `validate`. */
export function defaultValidator(): ResourceValidator | null {
  const validate = (resources as unknown as { validate?: Validate }).validate;
  if (typeof validate !== "function") return null;
  return (typeUrl, message) => problemsOf(validate(typeUrl, message));
}
