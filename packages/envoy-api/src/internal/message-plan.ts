// A message's schema compiled for the JSON codec: fields by JSON and proto
// name, built once per message type on first use.
import { ErrorCode, XdskitError } from "../errors.js";
import { type MessageType, messageTypeOf } from "../registry.js";
import { type FieldSchema, messageSchema } from "../schema.js";
import { childPath } from "./json-context.js";

/** One field, ready for the JSON codec. */
export interface FieldPlan {
  /** Proto name, e.g. `connect_timeout`. */
  readonly proto: string;
  /** JSON name, e.g. `connectTimeout`. */
  readonly json: string;
  /** Property of the generated object. */
  readonly key: string;
  /** Kind of the values (for maps: of the map's values). */
  readonly kind: "s" | "e" | "m";
  readonly isMap: boolean;
  /** Scalar, enum or message type (for maps: the value's). */
  readonly type: string;
  readonly repeated: boolean;
  /** For maps: the key's scalar type. */
  readonly mapKey: string;
  /** Set only when it is known to be present (message, oneof member, proto3 optional). */
  readonly hasPresence: boolean;
  /** The oneof the field belongs to, if any. */
  readonly oneof: string | undefined;
  /** Path segments for error messages: `.connectTimeout` and `.connect_timeout`. */
  readonly jsonSegment: string;
  readonly protoSegment: string;
}

/** One message type, ready for the JSON codec. */
export interface MessagePlan {
  readonly fullName: string;
  readonly codec: MessageType<Record<string, unknown>>;
  readonly fields: readonly FieldPlan[];
  /** Fields by JSON name and by proto name. */
  readonly byName: ReadonlyMap<string, FieldPlan>;
}

const plans = new Map<string, MessagePlan>();

function fieldPlan(f: FieldSchema, oneofs: readonly string[] | undefined): FieldPlan {
  const isMap = f.kind === "map";
  const kind = isMap ? (f.map?.kind ?? "s") : f.kind;
  return {
    proto: f.n,
    json: f.j,
    key: f.k,
    kind: kind as "s" | "e" | "m",
    isMap,
    type: isMap ? (f.map?.type ?? "") : f.type,
    repeated: f.rep === 1,
    mapKey: f.map?.key ?? "",
    hasPresence: !isMap && f.rep !== 1 && (f.kind === "m" || f.oi !== undefined || f.opt === 1),
    oneof: f.oi === undefined ? undefined : oneofs?.[f.oi],
    jsonSegment: childPath("", f.j),
    protoSegment: childPath("", f.n),
  };
}

/**
 * The plan of a message type by full name.
 * @throws XdskitError `XDSKIT_UNKNOWN_TYPE` when the type has no schema (for example
 *   a type added with registerMessageType, which the JSON codec cannot describe).
 */
export function planOf(fullName: string): MessagePlan {
  let plan = plans.get(fullName);
  if (plan) return plan;
  const schema = messageSchema(fullName);
  if (!schema) {
    throw new XdskitError(
      ErrorCode.UNKNOWN_TYPE,
      `no schema for message type ${fullName}: JSON and YAML work only for the generated Envoy v3 API`,
      { typeUrl: `type.googleapis.com/${fullName}` },
    );
  }
  const fields = schema.f.map((f) => fieldPlan(f, schema.o));
  const byName = new Map<string, FieldPlan>();
  for (const f of fields) {
    byName.set(f.json, f);
    byName.set(f.proto, f);
  }
  plan = {
    fullName,
    codec: messageTypeOf(fullName) as MessageType<Record<string, unknown>>,
    fields,
    byName,
  };
  plans.set(fullName, plan);
  return plan;
}
