import { describe, expect, it } from "vitest";
import { messageTypeOf } from "./registry.js";
import { schema } from "./schema.js";

// The JSON codec reads and writes message properties by the schema's `k`
// (protos/scripts/schema.mjs `tsKey`). If that ever disagrees with what
// ts-proto generated, this test names every message where it does.
describe("schema ts keys", () => {
  it("match the properties of Type.create() for every message in the schema", () => {
    const messages = Object.entries(schema().messages);
    expect(messages.length).toBeGreaterThan(1000);
    const mismatches: string[] = [];
    for (const [name, message] of messages) {
      const created = messageTypeOf(name).create() as Record<string, unknown>;
      const actual = Object.keys(created).sort();
      const expected = message.f.map((f) => f.k).sort();
      if (actual.join(",") !== expected.join(",")) {
        mismatches.push(`${name}: create() has [${actual.join(", ")}], schema has [${expected.join(", ")}]`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
