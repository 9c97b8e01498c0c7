import { resourceTypeOf } from "@xdskit/resources";
import type { ResourceTypeLike } from "../resource-type-like.js";

/** The default descriptor lookup: `resourceTypeOf` from `@xdskit/resources`. */
export function defaultResourceTypeOf(typeUrl: string): ResourceTypeLike {
  return resourceTypeOf(typeUrl);
}
