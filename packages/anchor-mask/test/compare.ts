// Fast comparison for large masks in property tests (vitest's toEqual walks typed arrays slowly).

/** Index of the first differing entry, -1 when equal (a length mismatch counts as a difference). */
export function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return k;
  return -1;
}
