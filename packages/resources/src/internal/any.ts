import type { Any, MessageType } from "@xdskit/envoy-api/core";
import { typeNameOf, typeUrlOf, unpack } from "@xdskit/envoy-api/core";

/**
 * Decodes an Any when it holds `type` (a codec, or the full name of a
 * registered message: its codec is then looked up, and its module loaded,
 * only when an Any of that type comes); returns undefined for any other type,
 * a missing Any, or bytes that do not decode. Reference extraction and
 * validation use it so that configs of other types are skipped, not thrown on.
 */
export function unpackIf<T>(any: Any | undefined, type: MessageType<T> | string): T | undefined {
  if (any === undefined) return undefined;
  const name = typeof type === "string" ? type : fullName(type);
  if (typeNameOf(any.typeUrl) !== name) return undefined;
  try {
    return typeof type === "string" ? (unpack(any) as T) : unpack(any, type);
  } catch {
    return undefined;
  }
}

const names = new Map<MessageType<any>, string>();

function fullName(type: MessageType<any>): string {
  let name = names.get(type);
  if (name === undefined) {
    name = typeNameOf(typeUrlOf(type));
    names.set(type, name);
  }
  return name;
}
