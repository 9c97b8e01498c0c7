// The caches import rxjs's classes from their own modules
// (`rxjs/internal/Observable`, ...) rather than the "rxjs" index, which loads
// all of rxjs (see docs/benchmarks.md, "Import time"). What they hand out must
// still be the rxjs users get from "rxjs": same classes, operators work.
import { firstValueFrom, map, Observable, Subject, take } from "rxjs";
import { describe, expect, it } from "vitest";
import { cla, EDS, node, sotw } from "./internal/fixtures.test.js";
import { LinearCache } from "./linear-cache.js";
import { MuxCache } from "./mux-cache.js";
import { NodeStatusTracker } from "./node-status.js";

describe("rxjs as the caches load it", () => {
  it("is the rxjs of the public API: watches and status events are its Observables", async () => {
    const cache = new LinearCache({ typeUrl: EDS });
    try {
      cache.upsert(cla("a"));
      const watch = cache.watchSotw(sotw(node("n1"), EDS, { names: ["a"] }));
      expect(watch).toBeInstanceOf(Observable);
      const names = await firstValueFrom(watch.pipe(map((response) => response.resources.map((r) => r.name))));
      expect(names).toEqual(["a"]);
      // An unknown type is refused with rxjs's own throwError.
      const refused = new MuxCache({ caches: { [EDS]: cache } }).watchSotw(sotw(node("n1"), "type.googleapis.com/acme.Nope"));
      expect(refused).toBeInstanceOf(Observable);
      await expect(firstValueFrom(refused)).rejects.toThrow();
    } finally {
      cache.dispose();
    }
    const events = new NodeStatusTracker().events;
    expect(events).toBeInstanceOf(Observable);
    expect(events.pipe(take(1))).toBeInstanceOf(Observable);
    expect(Subject).toBe((await import("rxjs/internal/Subject")).Subject);
  });
});
