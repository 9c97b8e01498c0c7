import { describe, expect, it } from "vitest";
import { OutgoingQueue } from "./outgoing-queue.js";

const rank = (t: string) => ({ secret: 10, cluster: 20, endpoint: 30, listener: 40, route: 50 })[t] ?? 100;

function harness(ordered = true) {
  const written: string[] = [];
  const pendingDone: Array<(error?: Error) => void> = [];
  const errors: Error[] = [];
  let manual = false;
  const queue = new OutgoingQueue({
    write: (message, done) => {
      written.push(message.toString());
      if (manual) pendingDone.push(done);
      else done();
    },
    rank,
    ordered,
    onError: (e) => errors.push(e),
  });
  const item = (text: string) => ({ prepare: () => [Buffer.from(text)] });
  return {
    queue,
    written,
    pendingDone,
    errors,
    item,
    manual: () => {
      manual = true;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("OutgoingQueue", () => {
  it("writes pending responses in type order when ordered", async () => {
    const h = harness();
    h.queue.enqueue("route", h.item("r"));
    h.queue.enqueue("listener", h.item("l"));
    h.queue.enqueue("endpoint", h.item("e"));
    h.queue.enqueue("cluster", h.item("c"));
    h.queue.enqueue("secret", h.item("s"));
    await tick();
    await tick();
    expect(h.written).toEqual(["s", "c", "e", "l", "r"]);
  });

  it("writes in arrival order when not ordered", async () => {
    const h = harness(false);
    h.queue.enqueue("route", h.item("r"));
    h.queue.enqueue("cluster", h.item("c"));
    await tick();
    expect(h.written).toEqual(["r", "c"]);
  });

  it("keeps only the newest pending response per type", async () => {
    const h = harness();
    h.queue.enqueue("cluster", h.item("c1"));
    h.queue.enqueue("cluster", h.item("c2"));
    h.queue.enqueue("cluster", h.item("c3"));
    expect(h.queue.stats.pending).toBe(1);
    await tick();
    expect(h.written).toEqual(["c3"]);
  });

  it("has at most one message in flight and waits for grpc-js to take it", async () => {
    const h = harness();
    h.manual();
    h.queue.enqueue("cluster", h.item("c1"));
    await tick();
    expect(h.queue.stats).toEqual({ pending: 0, inFlight: 1, inFlightBytes: 2 });
    h.queue.enqueue("cluster", h.item("c2"));
    h.queue.enqueue("cluster", h.item("c3"));
    h.queue.enqueue("listener", h.item("l1"));
    await tick();
    expect(h.written).toEqual(["c1"]);
    expect(h.queue.stats.pending).toBe(2);
    h.pendingDone.shift()!();
    expect(h.written).toEqual(["c1", "c3"]);
    h.pendingDone.shift()!();
    expect(h.written).toEqual(["c1", "c3", "l1"]);
    h.pendingDone.shift()!();
    expect(h.queue.idle).toBe(true);
  });

  it("drops a pending response on remove and when closed", async () => {
    const h = harness();
    h.queue.enqueue("cluster", h.item("c"));
    expect(h.queue.remove("cluster")).toBe(true);
    expect(h.queue.remove("cluster")).toBe(false);
    h.queue.enqueue("route", h.item("r"));
    h.queue.close();
    h.queue.enqueue("listener", h.item("l"));
    await tick();
    expect(h.written).toEqual([]);
  });

  it("writes every message of a split item before the next item, then calls written()", async () => {
    const h = harness();
    const calls: string[] = [];
    h.queue.enqueue("cluster", { prepare: () => [Buffer.from("a"), Buffer.from("b")], written: () => calls.push("written") });
    h.queue.enqueue("route", h.item("r"));
    await tick();
    expect(h.written).toEqual(["a", "b", "r"]);
    expect(calls).toEqual(["written"]);
  });

  it("skips an item that prepares nothing, reports write errors, and resolves whenIdle", async () => {
    const h = harness();
    h.manual();
    h.queue.enqueue("cluster", { prepare: () => [] });
    h.queue.enqueue("route", h.item("r"));
    const idle = h.queue.whenIdle();
    await tick();
    expect(h.written).toEqual(["r"]);
    h.pendingDone.shift()!(new Error("broken pipe"));
    expect(h.errors.map((e) => e.message)).toEqual(["broken pipe"]);
    h.queue.close();
    await idle;
  });
});
