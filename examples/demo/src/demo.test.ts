import { describe, expect, it } from "vitest";
import { runDemo } from "./demo.js";

describe("the xdskit tour", () => {
  it("steers a real gRPC xDS client: first config, canary, refused update, NACK with traffic still flowing", async () => {
    const lines: string[] = [];
    const result = await runDemo((line) => lines.push(line));
    const output = lines.join("\n");
    // Traffic is shown as shares beside their targets, and jargon is explained in plain words.
    expect(output).toMatch(/20 RPCs -> greeter-v1 20 \(100\.0%, target 100%\), greeter-v2 0 \(0\.0%, target 0%\)/);
    expect(output).toMatch(/200 RPCs -> greeter-v1 \d+ \(\d+\.\d%, target 90%\), greeter-v2 \d+ \(\d+\.\d%, target 10%\)/);
    expect(output).toMatch(/gRPC profile \(what gRPC clients reject beyond Envoy's rules\): 0 problems/);
    expect(output).toMatch(/keeps running the last version it accepted of each rejected/);
    expect(result.firstRound).toEqual({ "greeter-v1": 20 });
    // 200 RPCs at 10%: Binomial(200, 0.1) has mean 20 and standard deviation
    // 4.2; 5..40 is beyond 3.5 standard deviations on both sides.
    const canary = result.canaryRound["greeter-v2"] ?? 0;
    expect(canary + (result.canaryRound["greeter-v1"] ?? 0)).toBe(200);
    expect(canary).toBeGreaterThanOrEqual(5);
    expect(canary).toBeLessThanOrEqual(40);
    expect(result.refusedViolations.join("\n")).toMatch(/port_value: must be <= 65535/);
    expect(result.nack?.message).toMatch(/Unsupported type STATIC/);
    // After the NACK every RPC still succeeds on the 90/10 split (mean 10, sd 3).
    const after = result.afterNackRound["greeter-v2"] ?? 0;
    expect(after + (result.afterNackRound["greeter-v1"] ?? 0)).toBe(100);
    expect(after).toBeGreaterThanOrEqual(1);
    expect(after).toBeLessThanOrEqual(25);
  });
});
