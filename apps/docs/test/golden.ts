// The golden example of anllm-method.md §2, typed in from the method document (not computed), and
// an independent implementation of the rule (the vectorised form) for other inputs.

/** Tokens `<s> a1 a2 A b1 A c1 c2 A d1`; anchors at 3, 5, 8. */
export const GOLDEN_LABELS = ["<s>", "a1", "a2", "A", "b1", "A", "c1", "c2", "A", "d1"];
export const GOLDEN_ANCHORS = [3, 5, 8];

/** Rows = query, 1 = may attend (anllm-method.md §2). */
export const GOLDEN_MASK = [
  "1000000000",
  "1100000000",
  "1110000000",
  "1111000000",
  "0001100000",
  "0000110000",
  "0001011000",
  "0001011100",
  "0000001110",
  "0001010011",
];

/** `allowed(i,j) = j <= i AND (seg[i] == seg[j] OR (isA[j] AND NOT isA[i]))`, as row strings. */
export function ruleMask(isAnchor: readonly number[]): string[] {
  const seg: number[] = [];
  let count = 0;
  for (const a of isAnchor) {
    seg.push(count);
    count += a;
  }
  return isAnchor.map((ai, i) =>
    isAnchor
      .map((aj, j) => (j <= i && (seg[i] === seg[j] || (aj === 1 && ai === 0)) ? "1" : "0"))
      .join(""),
  );
}

/** Rows of a row-major [n, n] 0/1 matrix as strings. */
export function rowsOf(mask: ArrayLike<number>, n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => String(mask[i * n + j])).join(""),
  );
}
