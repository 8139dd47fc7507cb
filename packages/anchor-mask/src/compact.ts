// Compact, O(L) form of the anchor mask for kernels (apps/docs/guide/method.md): per query,
// the start of its own run (same segment and document) plus a slice of the sorted anchor list.
// A kernel visits only those keys: O(L * (segment length + anchors)) work instead of O(L^2).
import {
  type AnchorFlags,
  type AnchorStructure,
  anchorStructure,
  type StructureOptions,
} from "./structure";

/**
 * Query `i` may attend exactly to:
 * 1. its own run: keys `j` in `[segStart[i], i]` (empty when `segStart[i] > i`); when `hasHoles`,
 *    only those with `valid[j] || j == i`;
 * 2. the anchors `anchorIndex[anchorBegin[i]]`, ..., `anchorIndex[anchorEnd[i] - 1]` (all `< segStart[i]`);
 * 3. `extraKey[i]` when it is `>= 0` (the document's BOS under `bosVisible`, if not already listed).
 * The three sets are disjoint.
 */
export interface CompactMask {
  readonly seqLen: number;
  /** `[seqLen]` first key of the query's own run; padding rows: `i` (self) or `i + 1` (none) */
  readonly segStart: Int32Array<ArrayBuffer>;
  /** `[nKeyAnchors]` indices of anchors (and keep-full tokens), increasing */
  readonly anchorIndex: Int32Array<ArrayBuffer>;
  /** `[seqLen]` first entry of `anchorIndex` the query sees */
  readonly anchorBegin: Int32Array<ArrayBuffer>;
  /** `[seqLen]` one past the last entry of `anchorIndex` the query sees */
  readonly anchorEnd: Int32Array<ArrayBuffer>;
  /** `[seqLen]` one more visible key (BOS under `bosVisible`) or -1 */
  readonly extraKey: Int32Array<ArrayBuffer>;
  /** `[seqLen]` 1 = real token; needed by a kernel only when `hasHoles` */
  readonly valid: Uint8Array<ArrayBuffer>;
  /** true when some own run contains padding (then check `valid` inside the run) */
  readonly hasHoles: boolean;
}

/**
 * Builds the compact form from a structure or from anchor flags (+ options).
 * @example compactMask([0, 0, 0, 1, 0]).segStart // Int32Array [0, 0, 0, 0, 4]
 */
export function compactMask(
  input: AnchorStructure | AnchorFlags,
  options?: StructureOptions,
): CompactMask {
  const s = isStructure(input) ? input : anchorStructure(input, options);
  const n = s.seqLen;
  const { valid, isAnchor, keyAnchor, docStart } = s;
  const segStart = new Int32Array(n);
  const anchorBegin = new Int32Array(n);
  const anchorEnd = new Int32Array(n);
  const extraKey = new Int32Array(n);
  let nKeyAnchors = 0;
  for (let t = 0; t < n; t++) nKeyAnchors += keyAnchor[t]!;
  const anchorIndex = new Int32Array(nKeyAnchors);
  const selfRow = s.padQuery === "self" ? 0 : 1;
  let count = 0; // key anchors strictly before t
  let docBegin = 0; // key anchors before the current document
  let runStart = -1; // first real token of the current run, -1 while pending
  let runBegin = 0; // key anchors before the current run's start
  let bos = -1; // first real token of the current document
  for (let t = 0; t < n; t++) {
    if (t === docStart[t]) {
      docBegin = count;
      runStart = -1;
      bos = -1;
    }
    extraKey[t] = -1;
    if (!valid[t]) {
      segStart[t] = t + selfRow;
      anchorBegin[t] = count;
      anchorEnd[t] = count;
      continue;
    }
    if (bos < 0) bos = t;
    if (runStart < 0) {
      runStart = t;
      runBegin = count;
    }
    segStart[t] = runStart;
    anchorBegin[t] = docBegin;
    anchorEnd[t] = isAnchor[t] ? docBegin : runBegin;
    if (s.bosVisible && bos < runStart && !(keyAnchor[bos] && !isAnchor[t])) extraKey[t] = bos;
    if (keyAnchor[t]) anchorIndex[count++] = t;
    if (isAnchor[t]) runStart = -1;
  }
  return {
    seqLen: n,
    segStart,
    anchorIndex,
    anchorBegin,
    anchorEnd,
    extraKey,
    valid: s.valid,
    hasHoles: s.hasHoles,
  };
}

/**
 * The keys query `i` may attend to, increasing, read from the compact form.
 * @returns `[nVisible]` key indices
 */
export function visibleKeys(c: CompactMask, i: number): Int32Array<ArrayBuffer> {
  const keys: number[] = [];
  const extra = c.extraKey[i]!;
  let extraDone = extra < 0;
  for (let a = c.anchorBegin[i]!; a < c.anchorEnd[i]!; a++) {
    const k = c.anchorIndex[a]!;
    if (!extraDone && extra < k) {
      keys.push(extra);
      extraDone = true;
    }
    keys.push(k);
  }
  if (!extraDone) keys.push(extra);
  for (let j = c.segStart[i]!; j <= i; j++) {
    if (!c.hasHoles || c.valid[j] || j === i) keys.push(j);
  }
  return Int32Array.from(keys);
}

/** Distinguishes a prebuilt structure from raw anchor flags. */
export function isStructure(x: AnchorStructure | AnchorFlags): x is AnchorStructure {
  return (x as AnchorStructure).segmentIds instanceof Int32Array && "keyAnchor" in x;
}
