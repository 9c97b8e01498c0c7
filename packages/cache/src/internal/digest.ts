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

/** The digest of one member of a set: depends on its name and its content version. */
export function memberLanes(name: string, version: string): Lanes {
  const d = createHash("sha256").update(name).update("\0").update(version).digest();
  return [d.readUInt32BE(0), d.readUInt32BE(4), d.readUInt32BE(8), d.readUInt32BE(12)];
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
