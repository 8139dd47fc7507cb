// The golden example of the method page (typed in once, in anchor-mask's test fixture, not
// computed), and an independent implementation of the rule (the vectorised form) for other inputs.
import golden from "../../../packages/anchor-mask/test/fixtures/golden-10x10.json" with {
  type: "json",
};

/** Tokens `<s> a1 a2 A b1 A c1 c2 A d1`; anchors at 3, 5, 8. */
export const GOLDEN_LABELS: string[] = golden.labels;
export const GOLDEN_ANCHORS: number[] = golden.isAnchor.flatMap((a, i) => (a ? [i] : []));

/** Rows = query, 1 = may attend (apps/docs/guide/method.md, the rule). */
export const GOLDEN_MASK: string[] = golden.mask;

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
