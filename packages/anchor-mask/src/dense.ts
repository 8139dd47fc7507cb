// Dense L x L masks for frameworks that want a matrix (anllm-method.md §2): 0/1 bytes or an
// additive float mask (0 / -inf or a finite minimum), single and batched. Rows are filled with
// memcpy/memset-style typed-array calls from the compact form, so the cost is memory traffic.
import { type CompactMask, compactMask } from "./compact";
import { AnchorMaskInputError } from "./errors";
import {
  type AnchorFlags,
  type AnchorStructure,
  anchorStructure,
  type StructureOptions,
} from "./structure";

/** Options of the additive (float) masks. */
export interface AdditiveOptions {
  /** Value of blocked entries: `-Infinity` (default) or a finite minimum such as -1e9 or -3.4e38. */
  readonly minValue?: number;
}

/** Options of the batched builders: per-row padding/documents instead of one sequence's. */
export interface BatchOptions
  extends Omit<StructureOptions, "length" | "attentionMask" | "documentIds" | "keepFull"> {
  /** `[batch]` right padding per row: tokens at index >= lengths[b] are padding */
  readonly lengths?: ArrayLike<number>;
  /** `[batch][seqLen]` 1 = real token, 0 = padding */
  readonly attentionMask?: ReadonlyArray<ArrayLike<number | boolean>>;
  /** `[batch][seqLen]` packed document ids per row */
  readonly documentIds?: ReadonlyArray<ArrayLike<number>>;
}

/** The typed-array operations the row filler needs (shared by Uint8Array and Float32Array). */
interface MaskRow extends ArrayLike<number> {
  set(array: ArrayLike<number>, offset?: number): void;
  fill(value: number, start?: number, end?: number): unknown;
  subarray(begin?: number, end?: number): MaskRow;
}

/**
 * Dense anchor mask, row = query, column = key, 1 = may attend.
 * @param isAnchor `[seqLen]` anchor flags
 * @returns `[seqLen, seqLen]` row-major
 * @example buildAnchorMask(markAnchors(ids, acStrategy(32001)), { length: 100 })
 */
export function buildAnchorMask(
  isAnchor: AnchorFlags,
  options: StructureOptions = {},
): Uint8Array<ArrayBuffer> {
  const s = anchorStructure(isAnchor, options);
  const out = new Uint8Array(s.seqLen * s.seqLen);
  fillMask(out, 1, 0, true, s, compactMask(s));
  return out;
}

/**
 * Plain causal mask (no anchors), honouring padding and packed documents of `options`.
 * @returns `[seqLen, seqLen]` row-major, 1 = may attend
 */
export function buildCausalMask(
  seqLen: number,
  options: Omit<StructureOptions, "keepFull" | "bosVisible"> = {},
): Uint8Array<ArrayBuffer> {
  checkSeqLen(seqLen);
  return buildAnchorMask(new Uint8Array(seqLen), { ...options, keepFull: [], bosVisible: false });
}

/**
 * Additive anchor mask: 0 where attention is allowed, `minValue` (default -inf) elsewhere; add it to
 * the attention scores before softmax. Padding rows see themselves, so no row is all -inf.
 * @returns `[seqLen, seqLen]` row-major
 */
export function buildAdditiveAnchorMask(
  isAnchor: AnchorFlags,
  options: StructureOptions & AdditiveOptions = {},
): Float32Array<ArrayBuffer> {
  const s = anchorStructure(isAnchor, options);
  const out = new Float32Array(s.seqLen * s.seqLen);
  fillMask(out, 0, minValueOf(options), false, s, compactMask(s));
  return out;
}

/**
 * Batched dense masks; all rows must have the same length (pad them and pass `lengths` or
 * `attentionMask`).
 * @param isAnchor `[batch][seqLen]` anchor flags
 * @returns `[batch, seqLen, seqLen]` row-major, 1 = may attend
 */
export function buildAnchorMaskBatch(
  isAnchor: ReadonlyArray<AnchorFlags>,
  options: BatchOptions = {},
): Uint8Array<ArrayBuffer> {
  const seqLen = batchSeqLen(isAnchor);
  const out = new Uint8Array(isAnchor.length * seqLen * seqLen);
  isAnchor.forEach((row, b) => {
    const s = anchorStructure(row, rowOptions(options, b, isAnchor.length));
    const view = out.subarray(b * seqLen * seqLen, (b + 1) * seqLen * seqLen);
    fillMask(view, 1, 0, true, s, compactMask(s));
  });
  return out;
}

/**
 * Batched additive masks (0 / `minValue`).
 * @param isAnchor `[batch][seqLen]` anchor flags
 * @returns `[batch, seqLen, seqLen]` row-major
 */
export function buildAdditiveAnchorMaskBatch(
  isAnchor: ReadonlyArray<AnchorFlags>,
  options: BatchOptions & AdditiveOptions = {},
): Float32Array<ArrayBuffer> {
  const seqLen = batchSeqLen(isAnchor);
  const out = new Float32Array(isAnchor.length * seqLen * seqLen);
  const minValue = minValueOf(options);
  isAnchor.forEach((row, b) => {
    const s = anchorStructure(row, rowOptions(options, b, isAnchor.length));
    const view = out.subarray(b * seqLen * seqLen, (b + 1) * seqLen * seqLen);
    fillMask(view, 0, minValue, false, s, compactMask(s));
  });
  return out;
}

/**
 * Converts a 0/1 mask (any shape) to an additive one: 1 -> 0, 0 -> `minValue` (default -inf).
 * @returns same length as `mask`
 */
export function toAdditiveMask(
  mask: ArrayLike<number>,
  options: AdditiveOptions = {},
): Float32Array<ArrayBuffer> {
  const minValue = minValueOf(options);
  const out = new Float32Array(mask.length);
  for (let k = 0; k < mask.length; k++) out[k] = mask[k] ? 0 : minValue;
  return out;
}

/**
 * Fills `out` ([seqLen, seqLen]) row by row from the compact form. `zeroed` says `out` already
 * holds `off` everywhere (a fresh Uint8Array), so blocked spans need not be written.
 */
function fillMask(
  out: MaskRow,
  on: number,
  off: number,
  zeroed: boolean,
  s: AnchorStructure,
  c: CompactMask,
): void {
  const n = s.seqLen;
  const ctor = on === 1 && off === 0 ? Uint8Array : Float32Array;
  const tmpl: MaskRow = new ctor(n).fill(off); // visible anchors (+ BOS) of the current document
  const validRow: MaskRow | null = s.hasHoles ? new ctor(n).fill(off) : null;
  if (validRow) for (let t = 0; t < n; t++) if (s.valid[t]) validRow.fill(on, t, t + 1);
  for (let i = 0; i < n; i++) {
    const row = out.subarray(i * n, (i + 1) * n);
    const start = c.segStart[i]!;
    const doc = s.docStart[i]!;
    if (!s.valid[i]) {
      if (!zeroed) row.fill(off);
      if (start === i) row.fill(on, i, i + 1);
      continue;
    }
    if (!zeroed) row.fill(off, 0, doc);
    if (s.isAnchor[i]) {
      if (!zeroed) row.fill(off, doc, start);
    } else if (start > doc) {
      row.set(tmpl.subarray(doc, start), doc);
    }
    const extra = c.extraKey[i]!;
    if (extra >= 0) row.fill(on, extra, extra + 1);
    if (validRow) row.set(validRow.subarray(start, i + 1), start);
    else row.fill(on, start, i + 1);
    if (!zeroed) row.fill(off, i + 1, n);
    if (s.keyAnchor[i] || (s.bosVisible && s.positions[i] === 0)) tmpl.fill(on, i, i + 1);
  }
}

function minValueOf(options: AdditiveOptions): number {
  const v = options.minValue ?? Number.NEGATIVE_INFINITY;
  if (Number.isNaN(v) || v >= 0) {
    throw new AnchorMaskInputError("options.minValue", `expected a negative number, got ${v}`);
  }
  return v;
}

function checkSeqLen(seqLen: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 0) {
    throw new AnchorMaskInputError("seqLen", `expected a non-negative integer, got ${seqLen}`);
  }
}

function batchSeqLen(rows: ReadonlyArray<AnchorFlags>): number {
  const seqLen = rows.length > 0 ? rows[0]!.length : 0;
  rows.forEach((row, b) => {
    if (row.length !== seqLen) {
      throw new AnchorMaskInputError(
        `isAnchor[${b}]`,
        `expected length ${seqLen} (the length of row 0; pad rows to one length), got ${row.length}`,
      );
    }
  });
  return seqLen;
}

function rowOptions(options: BatchOptions, b: number, batch: number): StructureOptions {
  for (const field of ["lengths", "attentionMask", "documentIds"] as const) {
    const v = options[field];
    if (v !== undefined && v.length !== batch) {
      throw new AnchorMaskInputError(
        `options.${field}`,
        `expected ${batch} rows (batch), got ${v.length}`,
      );
    }
  }
  return {
    bosVisible: options.bosVisible,
    padQuery: options.padQuery,
    length: options.lengths?.[b],
    attentionMask: options.attentionMask?.[b],
    documentIds: options.documentIds?.[b],
  };
}
