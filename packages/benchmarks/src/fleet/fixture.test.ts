import { describe, expect, it } from "vitest";
import { cluster, loadAssignment } from "./fixture.js";

describe("fleet fixture", () => {
  // The harness's all-types update sets generation --updates + 1; with a wrapping generation a
  // run of 9 updates sent clusters equal to the initial ones, the cache rightly sent no CDS
  // response, and the run waited for an ACK that could not come.
  it("gives every generation its own clusters and load assignments", () => {
    const generations = Array.from({ length: 300 }, (_, g) => g);
    expect(new Set(generations.map((g) => JSON.stringify(cluster(7, g)))).size).toBe(generations.length);
    expect(new Set(generations.map((g) => JSON.stringify(loadAssignment(7, g)))).size).toBe(generations.length);
  });
});
