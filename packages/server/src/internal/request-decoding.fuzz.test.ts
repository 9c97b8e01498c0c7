// Fuzzing of the hand-written request decoders, from a fixed seed so a
// failure replays.
// - Valid input (random requests, their fields reordered, several requests
//   concatenated, which protobuf defines as one merged message): decoded
//   exactly as DiscoveryRequest.decode / DeltaDiscoveryRequest.decode do.
// - Mutated input (bytes flipped, inserted, dropped, truncated, spliced, huge
//   varints): refused with an Error, or decoded to a well-formed request that
//   survives a round trip. The generated codecs are no oracle here: they let a
//   nested message's field run past the message's own length, and stop at a
//   stray end-group tag, so on broken input they return fields read from the
//   wrong offsets; the hand decoder bounds every nested message by its length.
// - A refusal always names a protobuf malformation (never a TypeError of ours),
//   also where the generated codec accepted what it misread.
import { DeltaDiscoveryRequest, DiscoveryRequest, TypeUrl } from "@xdskit/envoy-api";
import { describe, expect, it } from "vitest";
import { decodeDeltaDiscoveryRequest, decodeDiscoveryRequest } from "./request-decoding.js";

/** mulberry32: a small seeded generator, so every run sees the same inputs. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ITERATIONS = 4000;
/** What a refusal says: the ways protobuf bytes can be malformed, never a TypeError of ours. */
const MALFORMED = /wire type|premature EOF|truncated|varint|invalid/;

describe("request decoders, fuzzed against the generated codecs", () => {
  const rand = random(0x5eed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const text = () => pick(["", "a", "cluster-7", "ümlaut", "名前", "x".repeat(int(90)), "*", "xdstp://a/b/c"]);
  const names = () => Array.from({ length: pick([0, 1, 3, 40]) }, (_, i) => `${text()}-${i}`);
  const node = () => (rand() < 0.5 ? undefined : { id: text(), cluster: text(), metadata: { fields: { k: { stringValue: text() } } } });
  const status = () => (rand() < 0.7 ? undefined : { code: int(17), message: text() });

  function sotw(): Buffer {
    const request = DiscoveryRequest.fromPartial({
      versionInfo: text(),
      node: node(),
      resourceNames: names(),
      typeUrl: pick(Object.values(TypeUrl)),
      responseNonce: text(),
      errorDetail: status(),
      resourceLocators: rand() < 0.8 ? [] : [{ name: text() }],
    });
    return Buffer.from(DiscoveryRequest.encode(request).finish());
  }

  function delta(): Buffer {
    const request = DeltaDiscoveryRequest.fromPartial({
      node: node(),
      typeUrl: pick(Object.values(TypeUrl)),
      resourceNamesSubscribe: names(),
      resourceNamesUnsubscribe: rand() < 0.7 ? [] : names(),
      initialResourceVersions: rand() < 0.7 ? {} : { [text()]: text(), [`${text()}!`]: text() },
      responseNonce: text(),
      errorDetail: status(),
      resourceLocatorsSubscribe: rand() < 0.8 ? [] : [{ name: text() }],
      resourceLocatorsUnsubscribe: rand() < 0.9 ? [] : [{ name: text() }],
    });
    return Buffer.from(DeltaDiscoveryRequest.encode(request).finish());
  }

  /** The top-level fields of `bytes` (valid protobuf), each as its own bytes. */
  function fieldsOf(bytes: Buffer): Buffer[] {
    const fields: Buffer[] = [];
    let i = 0;
    const varint = () => {
      let value = 0;
      for (let scale = 1; ; scale *= 128) {
        const b = bytes[i++]!;
        value += (b & 0x7f) * scale;
        if (b < 0x80) return value;
      }
    };
    while (i < bytes.length) {
      const start = i;
      const wireType = varint() & 7;
      if (wireType === 0) varint();
      else if (wireType === 2) {
        const length = varint();
        i += length;
      } else i += wireType === 1 ? 8 : 4;
      fields.push(bytes.subarray(start, i));
    }
    return fields;
  }

  /** Valid variations: fields shuffled (name runs split by other fields), or two or three requests concatenated. */
  function vary(bytes: Buffer, make: () => Buffer): Buffer {
    if (rand() < 0.5) {
      const fields = fieldsOf(bytes);
      for (let k = fields.length - 1; k > 0; k--) {
        const j = int(k + 1);
        [fields[k], fields[j]] = [fields[j]!, fields[k]!];
      }
      return Buffer.concat(fields);
    }
    return Buffer.concat([bytes, make(), ...(rand() < 0.5 ? [make()] : [])]);
  }

  /** One to four mutations of `bytes`: the shapes a broken or hostile client sends. */
  function mutate(bytes: Buffer, other: Buffer): Buffer {
    let out = bytes;
    for (let m = 1 + int(4); m > 0; m--) {
      const at = int(out.length + 1);
      switch (int(6)) {
        case 0: // flip a bit
          if (out.length > 0) {
            out = Buffer.from(out);
            out[Math.min(at, out.length - 1)] ^= 1 << int(8);
          }
          break;
        case 1: // insert random bytes
          out = Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(6) }, () => int(256))), out.subarray(at)]);
          break;
        case 2: // drop bytes
          out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + int(8))]);
          break;
        case 3: // truncate
          out = out.subarray(0, at);
          break;
        case 4: // splice in the tail of another request
          out = Buffer.concat([out.subarray(0, at), other.subarray(int(other.length + 1))]);
          break;
        case 5: // a huge varint (as a length, a tag or a value)
          out = Buffer.concat([out.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), out.subarray(at)]);
          break;
      }
    }
    return out;
  }

  const count = (tally: Map<string, number>, key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);
  const attempt = <T>(decode: (b: Uint8Array) => T, bytes: Uint8Array): T | Error => {
    try {
      return decode(bytes);
    } catch (error) {
      return error as Error;
    }
  };

  function check<T extends object>(
    codec: { decode(b: Uint8Array): T; encode(m: T): { finish(): Uint8Array } },
    hand: (b: Uint8Array) => T,
    make: () => Buffer,
  ): Map<string, number> {
    const tally = new Map<string, number>();
    for (let i = 0; i < ITERATIONS; i++) {
      const valid = i % 2 === 0 ? make() : vary(make(), make);
      // Valid input: exactly the generated codec's message.
      expect(hand(valid), valid.toString("hex")).toEqual(codec.decode(valid));
      count(tally, "valid, the same message");

      const broken = mutate(valid, make());
      const expected = attempt((b) => codec.decode(b), broken);
      const actual = attempt(hand, broken);
      if (actual instanceof Error) {
        expect(actual.message, broken.toString("hex")).toMatch(MALFORMED);
        if (!(expected instanceof Error)) {
          // The generated codec read past a nested message's end, or skipped a group: the input is malformed.
          expect(actual.message, `refused what the generated codec accepts: ${broken.toString("hex")}`).toMatch(MALFORMED);
          count(tally, "mutated, refused (the generated codec misread it)");
        } else count(tally, "mutated, refused by both");
      } else {
        // Accepted: a well-formed request, the same after a round trip through the generated encoder.
        const again = hand(Buffer.from(codec.encode(actual).finish()));
        expect(again, broken.toString("hex")).toEqual(actual);
        count(tally, expected instanceof Error ? "mutated, accepted (the generated codec misread it)" : "mutated, accepted");
      }
    }
    if (process.env.FUZZ_TALLY) console.log(Object.fromEntries(tally));
    return tally;
  }

  it("DiscoveryRequest: valid input decodes exactly; broken input is refused or decodes to a well-formed request", () => {
    const tally = check(DiscoveryRequest, decodeDiscoveryRequest, sotw);
    expect(tally.get("mutated, accepted")).toBeGreaterThan(ITERATIONS / 20);
    expect(tally.get("mutated, refused by both")).toBeGreaterThan(ITERATIONS / 20);
  });

  it("DeltaDiscoveryRequest: valid input decodes exactly; broken input is refused or decodes to a well-formed request", () => {
    const tally = check(DeltaDiscoveryRequest, decodeDeltaDiscoveryRequest, delta);
    expect(tally.get("mutated, accepted")).toBeGreaterThan(ITERATIONS / 20);
    expect(tally.get("mutated, refused by both")).toBeGreaterThan(ITERATIONS / 20);
  });
});
