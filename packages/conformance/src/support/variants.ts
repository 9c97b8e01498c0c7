// The four ways a client talks xDS: SotW or delta, over ADS or per-type services.
import type { FakeEnvoyProtocol } from "@xdskit/testing";

export interface Variant {
  readonly name: string;
  readonly protocol: FakeEnvoyProtocol;
  readonly ads: boolean;
}

export const VARIANTS: readonly Variant[] = [
  { name: "SotW over ADS", protocol: "sotw", ads: true },
  { name: "SotW per-type", protocol: "sotw", ads: false },
  { name: "delta over ADS", protocol: "delta", ads: true },
  { name: "delta per-type", protocol: "delta", ads: false },
];
