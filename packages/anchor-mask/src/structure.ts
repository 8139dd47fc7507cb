// Per-token structure of one sequence (apps/docs/guide/method.md, the rule): anchor flags, segment
// ids (exclusive prefix count of anchors), padding, packed documents, positions. Everything else
// (the rule, dense masks, the compact form, the tensor attention arrays) is derived from these
// length-L arrays.
import { AnchorMaskInputError } from "./errors";

/** Anchor flags of one sequence: any truthy entry (1 / true) marks an anchor. `[seqLen]` */
export type AnchorFlags = ArrayLike<number | boolean>;

/** Options shared by `anchorStructure`, the dense builders and the compact form. */
export interface StructureOptions {
  /** Right padding: tokens at index >= `length` are padding. Default: no padding. */
  readonly length?: number;
  /** Padding mask, HF style: 1 = real token, 0 = padding (left, right or holes). `[seqLen]` */
  readonly attentionMask?: ArrayLike<number | boolean>;
  /** Packing: document id per token; each document must be one contiguous run. `[seqLen]` */
  readonly documentIds?: ArrayLike<number>;
  /** Documented deviation (off by default): each document's first real token is visible to all. */
  readonly bosVisible?: boolean;
  /**
   * Inference option "keep range full" applied to the mask: real tokens with index in one of these
   * half-open ranges `[start, end)` are visible to every later non-anchor query of the same
   * document, exactly like anchors (anchor queries still see only their own segment).
   */
  readonly keepFull?: ReadonlyArray<readonly [number, number]>;
  /** What a padding query row sees in dense masks: itself only (default; no NaN) or nothing. */
  readonly padQuery?: "self" | "none";
}

/** The length-L description of one sequence's anchor mask. Pad tokens are never anchors. */
export interface AnchorStructure {
  readonly seqLen: number;
  /** `[seqLen]` 1 = anchor (real tokens only; anchor flags on padding are ignored) */
  readonly isAnchor: Uint8Array<ArrayBuffer>;
  /** `[seqLen]` 1 = visible as an anchor to later non-anchor queries: anchors + keep-full tokens */
  readonly keyAnchor: Uint8Array<ArrayBuffer>;
  /** `[seqLen]` number of (real) anchors strictly before the token, counted over the whole row */
  readonly segmentIds: Int32Array<ArrayBuffer>;
  /** `[seqLen]` 1 = real token, 0 = padding */
  readonly valid: Uint8Array<ArrayBuffer>;
  /** `[seqLen]` number of real tokens before this one in its document (0 = the document's BOS) */
  readonly positions: Int32Array<ArrayBuffer>;
  /** `[seqLen]` document id per token, or null when the row holds one document */
  readonly documentIds: Int32Array<ArrayBuffer> | null;
  /** `[seqLen]` index of the first token of the token's document run */
  readonly docStart: Int32Array<ArrayBuffer>;
  /** true when some real token follows a pad token inside a document (needs per-key validity) */
  readonly hasHoles: boolean;
  readonly bosVisible: boolean;
  readonly padQuery: "self" | "none";
}

/**
 * Derives segment ids: `seg[t]` = number of anchors strictly before `t` (exclusive prefix count).
 * @param isAnchor `[seqLen]` anchor flags
 * @returns `[seqLen]` segment ids
 * @example segmentIds([0, 1, 0, 1, 1, 0]) // Int32Array [0, 0, 1, 1, 2, 3]
 */
export function segmentIds(isAnchor: AnchorFlags): Int32Array<ArrayBuffer> {
  const seg = new Int32Array(isAnchor.length);
  let count = 0;
  for (let t = 0; t < isAnchor.length; t++) {
    seg[t] = count;
    if (isAnchor[t]) count++;
  }
  return seg;
}

/**
 * Builds the full per-token structure of one sequence.
 * @param isAnchor `[seqLen]` anchor flags (e.g. from `markAnchors`)
 * @example anchorStructure(markAnchors(ids, epStrategy([29889])), { length: 37 })
 */
export function anchorStructure(
  isAnchor: AnchorFlags,
  options: StructureOptions = {},
): AnchorStructure {
  const seqLen = isAnchor.length;
  const valid = validFlags(seqLen, options);
  const docs =
    options.documentIds === undefined ? null : documentArray(seqLen, options.documentIds);
  const full = keepFullFlags(seqLen, options.keepFull);
  const anchor = new Uint8Array(seqLen);
  const keyAnchor = new Uint8Array(seqLen);
  const seg = new Int32Array(seqLen);
  const positions = new Int32Array(seqLen);
  const docStart = new Int32Array(seqLen);
  let count = 0;
  let pos = 0;
  let start = 0;
  let padAfterReal = false;
  let hasHoles = false;
  for (let t = 0; t < seqLen; t++) {
    if (docs !== null && t > 0 && docs[t] !== docs[t - 1]) {
      start = t;
      pos = 0;
      padAfterReal = false;
    }
    docStart[t] = start;
    seg[t] = count;
    positions[t] = pos;
    if (valid[t]) {
      if (padAfterReal) hasHoles = true;
      const a = isAnchor[t] ? 1 : 0;
      anchor[t] = a;
      keyAnchor[t] = a | full[t]!;
      count += a;
      pos++;
    } else if (pos > 0) {
      padAfterReal = true;
    }
  }
  return {
    seqLen,
    isAnchor: anchor,
    keyAnchor,
    segmentIds: seg,
    valid,
    positions,
    documentIds: docs,
    docStart,
    hasHoles,
    bosVisible: options.bosVisible ?? false,
    padQuery: options.padQuery ?? "self",
  };
}

function validFlags(seqLen: number, options: StructureOptions): Uint8Array<ArrayBuffer> {
  const valid = new Uint8Array(seqLen);
  const { length, attentionMask } = options;
  if (length !== undefined && (!Number.isInteger(length) || length < 0 || length > seqLen)) {
    throw new AnchorMaskInputError(
      "options.length",
      `expected an integer in [0, ${seqLen}], got ${length}`,
    );
  }
  if (attentionMask !== undefined) {
    if (attentionMask.length !== seqLen) {
      throw new AnchorMaskInputError(
        "options.attentionMask",
        `expected length ${seqLen} (seqLen), got ${attentionMask.length}`,
      );
    }
    for (let t = 0; t < seqLen; t++) valid[t] = attentionMask[t] ? 1 : 0;
  } else {
    valid.fill(1);
  }
  if (length !== undefined) valid.fill(0, length);
  return valid;
}

function documentArray(seqLen: number, documentIds: ArrayLike<number>): Int32Array<ArrayBuffer> {
  if (documentIds.length !== seqLen) {
    throw new AnchorMaskInputError(
      "options.documentIds",
      `expected length ${seqLen} (seqLen), got ${documentIds.length}`,
    );
  }
  const docs = new Int32Array(seqLen);
  const seen = new Set<number>();
  for (let t = 0; t < seqLen; t++) {
    const d = documentIds[t]!;
    if (!Number.isInteger(d) || d < -2147483648 || d > 2147483647) {
      throw new AnchorMaskInputError(`options.documentIds[${t}]`, `expected an int32, got ${d}`);
    }
    if (t > 0 && d !== docs[t - 1]) {
      if (seen.has(d)) {
        throw new AnchorMaskInputError(
          `options.documentIds[${t}]`,
          `document ${d} appears again after another document; each document must be one contiguous run`,
        );
      }
      seen.add(docs[t - 1]!);
    }
    docs[t] = d;
  }
  return docs;
}

function keepFullFlags(
  seqLen: number,
  ranges: ReadonlyArray<readonly [number, number]> | undefined,
): Uint8Array<ArrayBuffer> {
  const full = new Uint8Array(seqLen);
  for (const [k, range] of (ranges ?? []).entries()) {
    const [start, end] = range;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
      throw new AnchorMaskInputError(
        `options.keepFull[${k}]`,
        `expected [start, end) with integers 0 <= start <= end, got [${start}, ${end}]`,
      );
    }
    full.fill(1, Math.min(start, seqLen), Math.min(end, seqLen));
  }
  return full;
}
