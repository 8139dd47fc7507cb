// Batched inference = one AnchorCacheState per sequence; this packs their ragged steps into the
// padded [batch, Lq] / [batch, Lk] Int32 arrays that @anllm/tensor's attention mask takes.
import type { CacheStep } from "./cache-state";

/** `kUntil` of a key no query evicts: visible to every later query (cache-policy.ts). */
export const NO_EVICTION = 2147483647;

/** Padded per-token attention arrays for a batch of steps (row b = sequence b). */
export interface BatchedStepArrays {
  readonly batch: number;
  /** longest chunk in the batch (query axis) */
  readonly lq: number;
  /** longest key axis (cacheLength + chunkLength) in the batch */
  readonly lk: number;
  /** `[batch, lq]` */ readonly qPos: Int32Array<ArrayBuffer>;
  /** `[batch, lq]` */ readonly qSeg: Int32Array<ArrayBuffer>;
  /** `[batch, lq]` */ readonly qAnchor: Int32Array<ArrayBuffer>;
  /** `[batch, lq]` */ readonly qRopePos: Int32Array<ArrayBuffer>;
  /** `[batch, lq]` 1 = real query, 0 = padding (its output is to be ignored) */
  readonly qValid: Int32Array<ArrayBuffer>;
  /** `[batch, lk]` */ readonly kPos: Int32Array<ArrayBuffer>;
  /** `[batch, lk]` */ readonly kSeg: Int32Array<ArrayBuffer>;
  /** `[batch, lk]` */ readonly kAnchor: Int32Array<ArrayBuffer>;
  /** `[batch, lk]` 1 = real key (cache row or chunk row), 0 = padding: never attend */
  readonly kValid: Int32Array<ArrayBuffer>;
  /** `[batch, lk]` first query position that no longer sees the key (NO_EVICTION when unbounded) */
  readonly kUntil: Int32Array<ArrayBuffer>;
}

/**
 * Packs one step per sequence into padded arrays (right padding on both axes).
 * Key row layout per sequence: its cache rows, then its chunk rows, then padding.
 */
export function packSteps(steps: ReadonlyArray<CacheStep>): BatchedStepArrays {
  const batch = steps.length;
  let lq = 0;
  let lk = 0;
  for (const s of steps) {
    lq = Math.max(lq, s.chunkLength);
    lk = Math.max(lk, s.cacheLength + s.chunkLength);
  }
  const q = () => new Int32Array(batch * lq);
  const k = () => new Int32Array(batch * lk);
  const out = {
    batch,
    lq,
    lk,
    qPos: q(),
    qSeg: q(),
    qAnchor: q(),
    qRopePos: q(),
    qValid: q(),
    kPos: k(),
    kSeg: k(),
    kAnchor: k(),
    kValid: k(),
    kUntil: k().fill(NO_EVICTION),
  };
  steps.forEach((s, b) => {
    out.qPos.set(s.qPos, b * lq);
    out.qSeg.set(s.qSeg, b * lq);
    out.qAnchor.set(s.qAnchor, b * lq);
    out.qRopePos.set(s.qRopePos, b * lq);
    out.qValid.fill(1, b * lq, b * lq + s.chunkLength);
    out.kPos.set(s.kPos, b * lk);
    out.kSeg.set(s.kSeg, b * lk);
    out.kAnchor.set(s.kAnchor, b * lk);
    out.kValid.fill(1, b * lk, b * lk + s.kPos.length);
    if (s.kUntil) out.kUntil.set(s.kUntil, b * lk);
  });
  return out;
}
