import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ErrorCode, faultOf, optionError, XdskitError } from "./errors.js";

describe("ErrorCode", () => {
  it("matches docs/errors.md, code for code", () => {
    const page = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");
    const documented = [...page.matchAll(/^### (XDSKIT_[A-Z_]+)$/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(Object.values(ErrorCode).sort());
  });

  it("docs/errors.md says who acts on each code, as faultOf does", () => {
    const page = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");
    const sections = page.split(/^### /m).slice(1);
    const said = Object.fromEntries(sections.map((s) => [s.slice(0, s.indexOf("\n")), /^Who acts: \*\*([a-z]+)\*\*/m.exec(s)?.[1]]));
    expect(said).toEqual(Object.fromEntries(Object.values(ErrorCode).map((code) => [code, faultOf(code)])));
  });

  it("has a fault for every code, and the fault-split codes name who acts", () => {
    for (const code of Object.values(ErrorCode)) expect(faultOf(code)).toMatch(/^(client|cache|hook|caller|transport|xdskit)$/);
    expect(faultOf(ErrorCode.PROTOCOL_VIOLATION)).toBe("client");
    expect(faultOf(ErrorCode.CACHE_FAILED)).toBe("cache");
    expect(faultOf(ErrorCode.HOOK_FAILED)).toBe("hook");
    expect(faultOf(ErrorCode.API_MISUSE)).toBe("caller");
    expect(faultOf(ErrorCode.INTERNAL)).toBe("xdskit");
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

describe("optionError", () => {
  it("names the owner, the option, what was expected and what arrived, and sets path", () => {
    const error = optionError("XdsServer", "maxStreams", "an integer >= 1", 0);
    expect(error.code).toBe(ErrorCode.INVALID_OPTION);
    expect(error.message).toBe('XdsServer: option "maxStreams" must be an integer >= 1; got 0');
    expect(error.path).toBe("maxStreams");
    expect(optionError("f", "a", "a number", "5").message).toMatch(/; got "5"$/);
    expect(optionError("f", "a", "a number", null).message).toMatch(/; got null$/);
    expect(optionError("f", "a", "a number", [1]).message).toMatch(/; got an array$/);
    expect(optionError("f", "a", "a number", {}).message).toMatch(/; got an object$/);
    expect(optionError("f", "a", "a number", 5n).message).toMatch(/; got 5$/);
  });
});
