// Per-token Int32 arrays for a training-style forward (Lq == Lk), in the naming of @anllm/tensor's
// AttentionMask: the rule over these arrays reproduces the dense anchor mask (method.md, the rule)
// except on padding rows, which a per-token kernel leaves empty (output zeros) instead of self-only.
import { isStructure } from "./compact";
import type { BatchOptions } from "./dense";
import { AnchorMaskInputError } from "./errors";
import {
  type AnchorFlags,
  type AnchorStructure,
  anchorStructure,
  type StructureOptions,
} from "./structure";

/**
 * Query/key arrays for one row or a batch (`[batch, seqLen]` flattened, batch = 1 for one row).
 * Query i may attend key j iff `kValid[j] && kPos[j] <= qPos[i] && qDoc[i] == kDoc[j] &&
 * (qSeg[i] == kSeg[j] || (kAnchor[j] && !qAnchor[i]) || (bosVisible && kPos[j] == 0))`.
 */
export interface AttentionArrays {
  readonly batch: number;
  readonly seqLen: number;
  /** `[batch, seqLen]` positions (restart at 0 at each document's first real token) */
  readonly qPos: Int32Array<ArrayBuffer>;
  readonly kPos: Int32Array<ArrayBuffer>;
  /** `[batch, seqLen]` segment ids */
  readonly qSeg: Int32Array<ArrayBuffer>;
  readonly kSeg: Int32Array<ArrayBuffer>;
  /** `[batch, seqLen]` 1 = anchor (query side: true anchors; key side: anchors + keep-full) */
  readonly qAnchor: Int32Array<ArrayBuffer>;
  readonly kAnchor: Int32Array<ArrayBuffer>;
  /** `[batch, seqLen]` document ids, or null when no row is packed */
  readonly qDoc: Int32Array<ArrayBuffer> | null;
  readonly kDoc: Int32Array<ArrayBuffer> | null;
  /** `[batch, seqLen]` 1 = real token, 0 = padding */
  readonly kValid: Int32Array<ArrayBuffer>;
  readonly bosVisible: boolean;
}

/**
 * Per-token attention arrays of one sequence (Lq == Lk: training, prefill without a cache).
 * @param input `[seqLen]` anchor flags, or a prebuilt structure
 */
export function attentionArrays(
  input: AnchorStructure | AnchorFlags,
  options?: StructureOptions,
): AttentionArrays {
  const s = isStructure(input) ? input : anchorStructure(input, options);
  return fromStructures([s]);
}

/**
 * Per-token attention arrays of a batch of equal-length rows.
 * @param isAnchor `[batch][seqLen]` anchor flags
 * @returns arrays `[batch, seqLen]` (row-major, flattened)
 */
export function attentionArraysBatch(
  isAnchor: ReadonlyArray<AnchorFlags>,
  options: BatchOptions = {},
): AttentionArrays {
  const structures = isAnchor.map((row, b) => {
    if (row.length !== isAnchor[0]!.length) {
      throw new AnchorMaskInputError(
        `isAnchor[${b}]`,
        `expected length ${isAnchor[0]!.length} (the length of row 0), got ${row.length}`,
      );
    }
    return anchorStructure(row, {
      bosVisible: options.bosVisible,
      keepFull: options.keepFull,
      length: options.lengths?.[b],
      attentionMask: options.attentionMask?.[b],
      documentIds: options.documentIds?.[b],
    });
  });
  return fromStructures(structures);
}

function fromStructures(rows: readonly AnchorStructure[]): AttentionArrays {
  const batch = rows.length;
  const seqLen = batch > 0 ? rows[0]!.seqLen : 0;
  const make = () => new Int32Array(batch * seqLen);
  const pos = make();
  const seg = make();
  const qAnchor = make();
  const kAnchor = make();
  const valid = make();
  const packed = rows.some((s) => s.documentIds !== null);
  const doc = packed ? make() : null;
  rows.forEach((s, b) => {
    const at = b * seqLen;
    pos.set(s.positions, at);
    seg.set(s.segmentIds, at);
    qAnchor.set(s.isAnchor, at);
    kAnchor.set(s.keyAnchor, at);
    valid.set(s.valid, at);
    if (doc && s.documentIds) doc.set(s.documentIds, at);
  });
  return {
    batch,
    seqLen,
    qPos: pos,
    kPos: pos,
    qSeg: seg,
    kSeg: seg,
    qAnchor,
    kAnchor,
    qDoc: doc,
    kDoc: doc,
    kValid: valid,
    bosVisible: rows.some((s) => s.bosVisible),
  };
}
