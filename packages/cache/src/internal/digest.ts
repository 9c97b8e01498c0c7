import { createHash } from "node:crypto";

/**
 * Content hashing for versions. A resource's version is the SHA-256 of its
 * encoding; a set of resources gets an order-independent digest (the lane-wise
 * sum of per-entry digests), so a set's version can be updated in O(1) when
 * one member changes, and two processes holding the same set agree on it.
 */

/** SHA-256 of the bytes, as 32 hex characters (128 bits are plenty for a version). */
export function hashBytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 32);
}

/** Four 32-bit lanes: the digest of one member or the sum for a set. */
export type Lanes = [number, number, number, number];

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The digest of one member of a set: a 128-bit hash of its name and content
 * version. Not cryptographic (the version inside is): a fast, well-mixed,
 * deterministic hash, so a set of 100,000 members is digested in
 * milliseconds and every process computes the same lanes.
 */
export function memberLanes(name: string, version: string): Lanes {
  const text = `${name}\0${version}`;
  let h1 = 0x9747b28c;
  let h2 = 0x2f6b7a1d;
  let h3 = 0x5bd1e995;
  let h4 = 0x1b873593;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = rotl(Math.imul(h1 ^ c, 0xcc9e2d51), 15);
    h2 = rotl(Math.imul(h2 ^ c, 0x1b873593), 16);
    h3 = rotl(Math.imul(h3 ^ c, 0x38b34ae5), 17);
    h4 = rotl(Math.imul(h4 ^ c, 0xa1e38b93), 18);
  }
  h1 = (h1 + h2 + h3 + h4 + text.length) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) >>> 0;
  return [h1, (h2 + h1) >>> 0, (h3 + h1) >>> 0, (h4 + h1) >>> 0];
}

export function emptyLanes(): Lanes {
  return [0, 0, 0, 0];
}

/** Adds (sign 1) or removes (sign -1) a member, in place. */
export function addLanes(into: Lanes, member: Lanes, sign: 1 | -1): void {
  for (let i = 0; i < 4; i++) into[i] = (into[i]! + sign * member[i]!) >>> 0;
}

/** The version string of a set: its lanes and its size, so the empty set has a version too. */
export function lanesVersion(lanes: Lanes, size: number): string {
  let out = "";
  for (const lane of lanes) out += lane.toString(16).padStart(8, "0");
  return `${out}.${size.toString(16)}`;
}
