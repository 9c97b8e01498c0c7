import { setAutoFreeze } from "immer";
import { describe, expect, it } from "vitest";
import { produce } from "./immer.js";

describe("produce, loaded on first use", () => {
  it("is the immer `import` gives: the application's immer settings apply", () => {
    const update = (base: { a: number }) =>
      produce(base, (draft) => {
        draft.a = 2;
      });
    expect(Object.isFrozen(update({ a: 1 }))).toBe(true);
    setAutoFreeze(false);
    try {
      const next = update({ a: 1 });
      expect(next).toEqual({ a: 2 });
      expect(Object.isFrozen(next)).toBe(false);
    } finally {
      setAutoFreeze(true);
    }
  });
});
