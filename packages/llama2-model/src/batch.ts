// ModelBatch (token ids + anchor flags + padding/packing) and its per-token arrays: positions,
// the attention-rule arrays (anchor-mask's attentionArraysBatch; the rule is specified in
// apps/docs/guide/method.md) and the loss targets.
import { attentionArraysBatch, type CachePolicy, windowUntil } from "@anllm/anchor-mask";
import type { MaskInput } from "@anllm/tensor";
import { ModelInputError } from "./errors";

/** A batch for training / scoring; every array is row-major [batch * seqLen] unless noted. */
export interface ModelBatch {
  /** [batch * seqLen] token ids */
  inputIds: Int32Array;
  batch: number;
  seqLen: number;
  attention: "causal" | "anchor";
  /** [batch * seqLen] 1 = anchor token (required for attention "anchor") */
  isAnchor?: Uint8Array;
  /** [batch * seqLen] packing: document id per token (documents never see each other) */
  documentIds?: Int32Array;
  /** [batch] real lengths; tokens at index >= length are right padding */
  lengths?: Int32Array;
  /**
   * [batch * seqLen] HF-style labels aligned with inputIds (the model shifts them: position t is
   * trained to predict labels[t + 1]); -100 = ignored. Default: inputIds.
   */
  labels?: Int32Array;
  /** option: key position 0 of each document visible to all queries (off by default) */
  bosVisible?: boolean;
  /** option "keep range full": token index ranges [start, end) visible like anchors (per row) */
  keepFull?: [number, number][];
  /**
   * causal attention restricted to what this cache policy keeps (SepLLM's trainable mode, or
   * StreamingLLM's window): a query sees key j iff the policy's cache holds j after the query
   * (anchor-mask's `windowUntil`, the same function as the cache). `isAnchor` then holds the
   * separator flags; requires attention "causal".
   */
  windowPolicy?: Extract<CachePolicy, { kind: "sink" | "sepllm" }>;
  /**
   * `[nLayers, batch, nKvHeads, seqLen]` per layer and KV head, the first query position (qPos)
   * that no longer sees each key: causal attention in which every (layer, KV head) drops keys on
   * its own schedule, the dense form of a cache that evicts per head (h2o's rows, from
   * `KVCache.headPositions` after each chunk). Requires attention "causal", not with windowPolicy.
   */
  headUntil?: Int32Array;
}

/** Per-token arrays of a batch, host side. */
export interface BatchArrays {
  /** [batch * seqLen] rotary position (restarts at each packed document) */
  positions: Int32Array<ArrayBuffer>;
  /** the attention-rule arrays (queries = keys = the batch's tokens), for makeAttentionMask */
  mask: MaskInput;
  /** [batch * seqLen] 1 = real token */
  valid: Int32Array<ArrayBuffer>;
}

/** Check a batch's array lengths and id range; throws ModelInputError naming the field. */
export function checkBatch(b: ModelBatch, vocabSize: number): void {
  const n = b.batch * b.seqLen;
  if (!Number.isInteger(b.batch) || !Number.isInteger(b.seqLen) || b.batch < 1 || b.seqLen < 1) {
    throw new ModelInputError(`batch/seqLen must be positive integers, got ${b.batch}/${b.seqLen}`);
  }
  const check = (name: string, a: ArrayLike<number> | undefined, len: number) => {
    if (a && a.length !== len) {
      throw new ModelInputError(`ModelBatch.${name} has length ${a.length}, expected ${len}`);
    }
  };
  check("inputIds", b.inputIds, n);
  check("isAnchor", b.isAnchor, n);
  check("documentIds", b.documentIds, n);
  check("labels", b.labels, n);
  check("lengths", b.lengths, b.batch);
  if (b.windowPolicy && b.attention !== "causal") {
    throw new ModelInputError('ModelBatch.windowPolicy needs attention "causal"');
  }
  if (b.headUntil && (b.attention !== "causal" || b.windowPolicy)) {
    throw new ModelInputError('ModelBatch.headUntil needs attention "causal" and no windowPolicy');
  }
  if (b.attention === "anchor" && !b.isAnchor) {
    throw new ModelInputError('ModelBatch.isAnchor is required when attention is "anchor"');
  }
  for (let i = 0; i < n; i++) {
    const id = b.inputIds[i] as number;
    if (!(id >= 0 && id < vocabSize)) {
      throw new ModelInputError(`ModelBatch.inputIds[${i}] = ${id} is outside [0, ${vocabSize})`);
    }
  }
}

/** Positions, validity and the attention-rule arrays of a batch (no L x L mask anywhere). */
export function batchArrays(b: ModelBatch): BatchArrays {
  const { batch, seqLen } = b;
  const rows = (a: ArrayLike<number> & { subarray(s: number, e: number): ArrayLike<number> }) =>
    Array.from({ length: batch }, (_, r) => a.subarray(r * seqLen, (r + 1) * seqLen));
  const flags = b.isAnchor ?? new Uint8Array(batch * seqLen);
  const a = attentionArraysBatch(rows(flags), {
    lengths: b.lengths,
    documentIds: b.documentIds ? rows(b.documentIds) : undefined,
    keepFull: b.keepFull,
    bosVisible: b.bosVisible,
  });
  const mask: MaskInput = {
    batch,
    lq: seqLen,
    mode: b.attention,
    qPos: a.qPos,
    kPos: a.kPos,
    qSeg: a.qSeg,
    kSeg: a.kSeg,
    qAnchor: a.qAnchor,
    kAnchor: a.kAnchor,
    qDoc: a.qDoc ?? undefined,
    kDoc: a.kDoc ?? undefined,
    kValid: a.kValid,
    kUntil: b.windowPolicy ? batchUntil(b.windowPolicy, flags, a.kPos, batch, seqLen) : undefined,
    bosVisible: a.bosVisible,
  };
  return { positions: a.qPos, mask, valid: a.kValid };
}

/**
 * The per-layer masks of `b.headUntil`: each over `batch * nKvHeads` entries (entry b * nKvHeads +
 * h = sequence b as KV head h sees it), the batch's causal rule plus that head's kUntil. The
 * attention then runs with the KV heads folded into the batch (layers.ts).
 */
export function headMaskInputs(
  b: ModelBatch,
  arrays: BatchArrays,
  nLayers: number,
  nKvHeads: number,
): MaskInput[] | undefined {
  const until = b.headUntil;
  if (!until) return undefined;
  const { batch, seqLen } = b;
  const per = batch * nKvHeads * seqLen;
  if (until.length !== nLayers * per)
    throw new ModelInputError(
      `ModelBatch.headUntil has length ${until.length}, expected nLayers x batch x nKvHeads x seqLen = ${nLayers * per}`,
    );
  // each sequence's row repeated once per KV head
  const spread = (a: ArrayLike<number> | undefined) => {
    if (a === undefined) return undefined;
    const out = new Int32Array(per);
    for (let r = 0; r < batch * nKvHeads; r++) {
      const src = Math.floor(r / nKvHeads) * seqLen;
      for (let t = 0; t < seqLen; t++) out[r * seqLen + t] = a[src + t] as number;
    }
    return out;
  };
  const m = arrays.mask;
  const shared: MaskInput = {
    batch: batch * nKvHeads,
    lq: seqLen,
    mode: "causal",
    qPos: spread(m.qPos),
    kPos: spread(m.kPos),
    qDoc: spread(m.qDoc),
    kDoc: spread(m.kDoc),
    kValid: spread(m.kValid),
    bosVisible: m.bosVisible,
  };
  return Array.from({ length: nLayers }, (_, l) => ({
    ...shared,
    kUntil: until.slice(l * per, (l + 1) * per),
  }));
}

/** kUntil [batch * seqLen] of a window policy, row by row (positions restart per document). */
function batchUntil(
  policy: NonNullable<ModelBatch["windowPolicy"]>,
  flags: Uint8Array,
  positions: Int32Array,
  batch: number,
  seqLen: number,
): Int32Array<ArrayBuffer> {
  const out = new Int32Array(batch * seqLen);
  for (let r = 0; r < batch; r++) {
    const span = [r * seqLen, (r + 1) * seqLen] as const;
    out.set(windowUntil(policy, flags.subarray(...span), positions.subarray(...span)), span[0]);
  }
  return out;
}

/**
 * Next-token targets [batch * seqLen]: target[t] = labels[t + 1] (labels default to inputIds);
 * -100 for the last token, padding, and across packed-document boundaries.
 */
export function shiftedTargets(b: ModelBatch, valid: ArrayLike<number>): Int32Array<ArrayBuffer> {
  const { batch, seqLen } = b;
  const labels = b.labels ?? b.inputIds;
  const out = new Int32Array(batch * seqLen).fill(-100);
  for (let r = 0; r < batch; r++) {
    for (let t = 0; t < seqLen - 1; t++) {
      const i = r * seqLen + t;
      if (!valid[i] || !valid[i + 1]) continue;
      if (b.documentIds && b.documentIds[i] !== b.documentIds[i + 1]) continue;
      out[i] = labels[i + 1] as number;
    }
  }
  return out;
}
