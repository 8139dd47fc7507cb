// The anchor attention rule (apps/docs/guide/method.md, the rule; paper Eq. 4) for one (query, key)
// pair, with the padding, packing, BOS-visible and keep-full options. The dense and compact
// builders must agree with this function entry for entry (the tests check it against an independent
// brute force).
import type { AnchorStructure } from "./structure";

/**
 * May query `i` attend to key `j`?
 *
 * `j <= i AND valid(j) AND sameDoc(i, j) AND (seg[i] == seg[j] OR (keyAnchor[j] AND NOT isAnchor[i])
 * OR (bosVisible AND position[j] == 0))`; a padding query sees only itself (`padQuery: "self"`,
 * the default) or nothing (`"none"`). Without keep-full ranges `keyAnchor` equals `isAnchor`.
 * @param i query index in `[0, seqLen)`
 * @param j key index in `[0, seqLen)`
 * @example isAllowed(4, 3, anchorStructure([0, 0, 0, 1, 0])) // true: b1 sees the anchor A
 */
export function isAllowed(i: number, j: number, s: AnchorStructure): boolean {
  if (!s.valid[i]) return i === j && s.padQuery === "self";
  if (j > i || !s.valid[j]) return false;
  const docs = s.documentIds;
  if (docs !== null && docs[i] !== docs[j]) return false;
  if (s.segmentIds[i] === s.segmentIds[j]) return true;
  if (s.keyAnchor[j] && !s.isAnchor[i]) return true;
  return s.bosVisible && s.positions[j] === 0;
}
