import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ErrorCode, XdskitError } from "./errors.js";

describe("ErrorCode", () => {
  it("matches docs/errors.md, code for code", () => {
    const page = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");
    const documented = [...page.matchAll(/^### (XDSKIT_[A-Z_]+)$/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(Object.values(ErrorCode).sort());
  });
});

describe("XdskitError", () => {
  it("carries its code and context as fields", () => {
    const cause = new Error("boom");
    const error = new XdskitError(ErrorCode.INVALID_JSON, "bad", { path: "$.a", typeUrl: "t", cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe("XDSKIT_INVALID_JSON");
    expect(error.path).toBe("$.a");
    expect(error.typeUrl).toBe("t");
    expect(error.cause).toBe(cause);
    expect(error.name).toBe("XdskitError");
  });

  it("is recognised by brand, not class identity", () => {
    const error = new XdskitError(ErrorCode.UNKNOWN_TYPE, "x");
    expect(XdskitError.is(error)).toBe(true);
    expect(XdskitError.is(new Error("x"))).toBe(false);
    const foreign = Object.assign(new Error("x"), { [Symbol.for("xdskit.error")]: true });
    expect(XdskitError.is(foreign)).toBe(true);
  });
});
