import { describe, expect, it } from "vitest";
import { PushLimiter } from "./push-limiter.js";

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("PushLimiter", () => {
  it("starts at most max pushes per turn of the event loop, the rest on later turns in order", async () => {
    const limiter = new PushLimiter(2);
    const started: number[] = [];
    for (let i = 0; i < 5; i++) limiter.acquire(() => started.push(i));
    expect(started).toEqual([0, 1]);
    expect(limiter.waiting).toBe(3);
    await turn();
    expect(started).toEqual([0, 1, 2, 3]);
    await turn();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.waiting).toBe(0);
  });

  it("a cancelled push never starts; 0 means no cap", async () => {
    const limiter = new PushLimiter(1);
    const started: string[] = [];
    limiter.acquire(() => started.push("a"));
    const b = () => started.push("b");
    limiter.acquire(b);
    limiter.acquire(() => started.push("c"));
    limiter.cancel(b);
    await turn();
    await turn();
    expect(started).toEqual(["a", "c"]);

    const open = new PushLimiter(0);
    for (let i = 0; i < 1000; i++) open.acquire(() => started.push("x"));
    expect(started.filter((s) => s === "x")).toHaveLength(1000);
  });
});
