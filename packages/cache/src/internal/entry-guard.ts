import type { ResourceEntry } from "../types.js";

/** True for an object shaped like a ResourceEntry (name, type URL, version, bytes). */
export function isResourceEntry(value: unknown): value is ResourceEntry {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<ResourceEntry>;
  return typeof v.name === "string" && typeof v.typeUrl === "string" && typeof v.version === "string" && v.bytes instanceof Uint8Array;
}
