// Dense L x L masks for frameworks that want a matrix (method.md, the rule): 0/1 bytes or an
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

/** Output buffer options of the single-sequence builders. */
export interface OutOptions<T> {
  /** Write into this buffer (length seqLen * seqLen) instead of allocating; every entry is written. */
  readonly out?: T;
}

/** Options of the batched builders: per-row padding/documents instead of one sequence's. */
export interface BatchOptions
  extends Omit<StructureOptions, "length" | "attentionMask" | "documentIds"> {
  /** `[batch]` right padding per row: tokens at index >= lengths[b] are padding */
  readonly lengths?: ArrayLike<number>;
  /** `[batch][seqLen]` 1 = real token, 0 = padding */
  readonly attentionMask?: ReadonlyArray<ArrayLike<number | boolean>>;
  /** `[batch][seqLen]` packed document ids per row */
  readonly documentIds?: ReadonlyArray<ArrayLike<number>>;
}

/** The typed-array operations the row filler needs (shared by Uint8Array and Float32Array). */
interface MaskRow {
  [index: number]: number;
  readonly length: number;
  copyWithin(target: number, start: number, end?: number): unknown;
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
export function buildAnchorMask<T extends Uint8Array = Uint8Array<ArrayBuffer>>(
  isAnchor: AnchorFlags,
  options: StructureOptions & OutOptions<T> = {},
): T {
  const s = anchorStructure(isAnchor, options);
  const out = options.out ?? (new Uint8Array(s.seqLen * s.seqLen) as T);
  checkOut(out, s.seqLen);
  fillMask(out, 1, 0, options.out === undefined, s, compactMask(s));
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
export function buildAdditiveAnchorMask<T extends Float32Array = Float32Array<ArrayBuffer>>(
  isAnchor: AnchorFlags,
  options: StructureOptions & AdditiveOptions & OutOptions<T> = {},
): T {
  const s = anchorStructure(isAnchor, options);
  const out = options.out ?? (new Float32Array(s.seqLen * s.seqLen) as T);
  checkOut(out, s.seqLen);
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
 * holds `off` everywhere (a fresh Uint8Array), so blocked spans need not be written. Inside a run a
 * row is the previous real row of the run plus the new diagonal entry (one `copyWithin`); only the
 * first row of a run reads the per-document anchor template.
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
  const tmpl: MaskRow = (on === 1 && off === 0 ? new Uint8Array(n) : new Float32Array(n)).fill(off);
  let prev = -1; // previous real row of the current run, -1 at a run start
  for (let i = 0; i < n; i++) {
    const base = i * n;
    if (!s.valid[i]) {
      if (!zeroed) out.fill(off, base, base + n);
      if (c.segStart[i] === i) out[base + i] = on;
      continue;
    }
    const start = c.segStart[i]!;
    if (start === i) prev = -1;
    const doc = s.docStart[i]!;
    if (prev >= 0 && !s.isAnchor[i]) {
      // Same prefix, template and run so far; a dirty buffer also takes the previous row's blocked
      // tail (entries prev+1..i-1 are padding, hence blocked), saving one call per row.
      out.copyWithin(base, prev * n, prev * n + (zeroed ? i : n));
    } else {
      if (!zeroed) out.fill(off, base, base + start);
      if (prev >= 0) out.copyWithin(base + start, prev * n + start, prev * n + i);
      else if (!s.isAnchor[i] && start > doc) out.set(tmpl.subarray(doc, start), base + doc);
      const extra = c.extraKey[i]!;
      if (extra >= 0) out[base + extra] = on;
      if (!zeroed) out.fill(off, base + i + 1, base + n);
    }
    out[base + i] = on;
    if (s.keyAnchor[i] || (s.bosVisible && s.positions[i] === 0)) tmpl[i] = on;
    prev = s.isAnchor[i] ? -1 : i;
  }
}

function checkOut(out: { length: number }, seqLen: number): void {
  if (out.length !== seqLen * seqLen) {
    throw new AnchorMaskInputError(
      "options.out",
      `expected length ${seqLen * seqLen} (seqLen^2 = ${seqLen}^2), got ${out.length}`,
    );
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
    keepFull: options.keepFull,
    length: options.lengths?.[b],
    attentionMask: options.attentionMask?.[b],
    documentIds: options.documentIds?.[b],
  };
}
