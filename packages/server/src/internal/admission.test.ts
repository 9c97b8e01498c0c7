import { SnapshotCache } from "@xdskit/cache";
import { describe, expect, it } from "vitest";
import type { XdsStatus } from "../events.js";
import { resolveServerOptions } from "../options.js";
import { Admission, originOf } from "./admission.js";
import type { TrackedStream } from "./stream-host.js";

/** What originOf read with regular expressions before: the reference its string reading must match. */
function referenceAddress(peer: string): string {
  const match = /^(.*):(\d+)$/.exec(peer);
  return match === null ? peer : match[1]!.replace(/^ipv[46]:/, "").replace(/^\[(.*)\]$/, "$1");
}

/** A stream as admission sees it: it records how it was ended and releases itself, as GrpcXdsStream does. */
class FakeStream implements TrackedStream {
  static next = 0;
  readonly id = ++FakeStream.next;
  readonly ended: XdsStatus[] = [];
  expired = 0;
  silent = true;
  readonly stats = { pending: 0, inFlight: 0, inFlightBytes: 0, types: 0 };
  constructor(readonly admission: Admission) {}
  end(status: XdsStatus): void {
    this.ended.push(status);
    this.admission.release(this);
  }
  expireOpening(): void {
    this.expired += 1;
    this.end({ code: 4, details: "expired" });
  }
  whenIdle(): Promise<void> {
    return Promise.resolve();
  }
  sync() {
    return undefined;
  }
}

const until = async (condition: () => boolean, ms: number): Promise<void> => {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe("originOf", () => {
  it("reads the address of every peer form as the regular expressions did", () => {
    const peers = [
      "127.0.0.1:53122",
      "[::1]:53122",
      "ipv4:10.0.0.1:443",
      "ipv6:[fe80::1]:8080",
      "::1",
      "unknown",
      "host:",
      "host:12a",
      ":99",
      "",
      "a:b:c:1",
      "line\nbreak:1",
      "[]:1",
      "[x:1",
      "ipv4:",
      "ipv5:1.2.3.4:5",
      "x:1\n",
      "unix:/tmp/socket",
    ];
    for (const peer of peers) {
      expect(originOf(peer, "id")).toEqual({ connection: peer, address: referenceAddress(peer), identity: "id" });
    }
  });
});

describe("Admission: firstRequestTimeoutMs", () => {
  const admissionWith = (firstRequestTimeoutMs: number) =>
    new Admission(resolveServerOptions({ cache: new SnapshotCache(), firstRequestTimeoutMs }));

  it("expires the opening streams, oldest first, each once its own time ran out (never before)", async () => {
    const admission = admissionWith(60);
    const order: FakeStream[] = [];
    const entered = new Map<FakeStream, number>();
    const expiredAt = new Map<FakeStream, number>();
    const track = (stream: FakeStream): FakeStream => {
      const expire = stream.expireOpening.bind(stream);
      stream.expireOpening = () => {
        order.push(stream);
        expiredAt.set(stream, performance.now());
        expire();
      };
      entered.set(stream, performance.now());
      return stream;
    };
    const first = track(new FakeStream(admission));
    expect(admission.enter(first, originOf("127.0.0.1:1"))).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const second = track(new FakeStream(admission));
    const admitted = track(new FakeStream(admission));
    admission.enter(second, originOf("127.0.0.1:2"));
    admission.enter(admitted, originOf("127.0.0.1:3"));
    expect(admission.admit(admitted, undefined as never)).toBeUndefined();
    await until(() => first.expired === 1 && second.expired === 1, 3000);
    expect(order).toEqual([first, second]);
    for (const stream of [first, second]) expect(expiredAt.get(stream)! - entered.get(stream)!).toBeGreaterThanOrEqual(59);
    expect(admission.opening.size).toBe(0);
    expect(admitted.expired).toBe(0);
    expect(admission.streams.has(admitted)).toBe(true);
  });

  it("never expires a stream released or admitted in time, nor any stream with 0 (no limit)", async () => {
    const admission = admissionWith(20);
    const released = new FakeStream(admission);
    admission.enter(released, originOf("127.0.0.1:1"));
    admission.release(released);
    const late = new FakeStream(admission);
    admission.enter(late, originOf("127.0.0.1:2"));
    await until(() => late.expired === 1, 2000);
    expect(released.expired).toBe(0);

    const unlimited = admissionWith(0);
    const idle = new FakeStream(unlimited);
    unlimited.enter(idle, originOf("127.0.0.1:3"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(idle.expired).toBe(0);
    expect(unlimited.opening.has(idle)).toBe(true);
  });

  it("a stream that does not release itself when expired gives its slot back anyway", async () => {
    const admission = admissionWith(10);
    const stubborn = new FakeStream(admission);
    stubborn.expireOpening = () => {
      stubborn.expired += 1;
    };
    admission.enter(stubborn, originOf("127.0.0.1:1"));
    await until(() => stubborn.expired === 1, 2000);
    expect(admission.opening.size).toBe(0);
  });
});
