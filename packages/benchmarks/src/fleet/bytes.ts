// Byte copies for the load generator's hot path. Buffer#copy with offsets
// makes a Uint8Array view of the source on every call (Node 20's
// _copyActual), which dominates when most copies are a few bytes (a nonce, a
// version, a frame header); short copies are a plain loop here.

/** Copies `source[start, end)` into `target` at `at`; returns the number of bytes copied. */
export function copyBytes(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number): number {
  const length = end - start;
  if (length <= 64) {
    for (let i = 0; i < length; i++) target[at + i] = source[start + i]!;
  } else if (start === 0 && end === source.length) target.set(source, at);
  else target.set(source.subarray(start, end), at);
  return length;
}
