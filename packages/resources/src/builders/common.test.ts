import { ErrorCode, XdskitError } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { cluster, duration, retryPolicy } from "../index.js";

const seconds = (d: { seconds: { toNumber(): number }; nanos: number }) => d.seconds.toNumber() + d.nanos / 1e9;

describe("duration", () => {
  it("takes strings with a unit", () => {
    expect(seconds(duration("1.5s"))).toBe(1.5);
    expect(seconds(duration("250ms"))).toBe(0.25);
    expect(seconds(duration("2m"))).toBe(120);
  });

  it("takes numbers as milliseconds, as Node's timers do", () => {
    expect(duration(1500)).toEqual(duration("1.5s"));
    expect(duration(250)).toEqual(duration("250ms"));
    expect(duration(0)).toEqual(duration("0s"));
    expect(seconds(duration(0.5))).toBe(0.0005);
  });

  it("refuses negative, non-finite and unit-less text with the option's name", () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, "5"]) {
      let error: unknown;
      try {
        duration(bad, "connectTimeout");
      } catch (e) {
        error = e;
      }
      expect(XdskitError.is(error)).toBe(true);
      expect((error as XdskitError).code).toBe(ErrorCode.INVALID_OPTION);
      expect((error as XdskitError).message).toContain('option "connectTimeout"');
    }
  });

  it("is what the builders use, so every duration option takes milliseconds", () => {
    expect(cluster({ name: "web", connectTimeout: 5000 }).connectTimeout).toEqual(duration("5s"));
    expect(retryPolicy({ perTryTimeout: 800 }).perTryTimeout).toEqual(duration("800ms"));
  });
});
