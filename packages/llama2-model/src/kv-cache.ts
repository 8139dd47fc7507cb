// Per-sequence (ragged) K/V cache with anchor-based reduction (anllm-method.md §4). The bookkeeping
// (positions, segment ids, rows kept) is @anllm/anchor-mask's AnchorCacheState; this file holds the
// K/V tensors and runs a chunk through the model, exact for any chunking.
import { AnchorCacheState, type CacheStep, packSteps } from "@anllm/anchor-mask";
import {
  type AttentionMask,
  concat,
  embedding,
  gather,
  keep,
  slice,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from "@anllm/tensor";
import type { LlamaConfig } from "./config";
import { ModelInputError } from "./errors";
import { decoderLayer, type LayerContext, linear, rmsNormRows } from "./layers";
import type { Llama2 } from "./model";
import { pickRows, uploadMask } from "./model";
import { EMBED, FINAL_NORM } from "./weights";

/** Options of `Llama2.createCache`. */
export interface CacheOptions {
  batch: number;
  /** "anchor": drop finished segments' non-anchor rows; "full": keep every row */
  policy: "full" | "anchor";
  /** rotary positions after a drop: "original" (default, exact) or "compacted" (released code) */
  positions?: "original" | "compacted";
  /** original-position range [start, end) kept in the cache and visible like anchors */
  keepFullRange?: [number, number];
  /** attention rule: "anchor" (default for policy anchor) or "causal" (default for policy full) */
  attention?: "anchor" | "causal";
  /** option: position 0 (BOS) kept and visible to all queries (off by default) */
  bosVisible?: boolean;
}

/** Cache statistics: entries per sequence now / at peak / for a full cache, and bytes (all layers, K+V, f32). */
export interface CacheStats {
  entries: number[];
  bytes: number;
  peakEntries: number[];
  peakBytes: number;
  fullEntries: number[];
  fullBytes: number;
}

/** The K/V cache of a batch of sequences; each sequence has its own length. */
export class KVCache {
  readonly batch: number;
  readonly attention: "anchor" | "causal";
  /** [nLayers][batch] K rows [1, nKvHeads, len, headDim] (null while empty) */
  k: (Tensor | null)[][];
  /** [nLayers][batch] V rows [1, nKvHeads, len, headDim] */
  v: (Tensor | null)[][];
  states: AnchorCacheState[];
  /** per sequence, the anchor flags of every chunk appended (to rebuild the state on clone) */
  history: Uint8Array[][];
  peakBytes = 0;
  readonly bytesPerEntry: number;

  constructor(
    readonly config: LlamaConfig,
    readonly options: CacheOptions,
  ) {
    if (!Number.isInteger(options.batch) || options.batch < 1) {
      throw new ModelInputError(
        `createCache: batch must be a positive integer, got ${options.batch}`,
      );
    }
    this.batch = options.batch;
    this.attention = options.attention ?? (options.policy === "anchor" ? "anchor" : "causal");
    const empty = () =>
      Array.from({ length: config.nLayers }, () => new Array(this.batch).fill(null));
    this.k = empty();
    this.v = empty();
    this.states = Array.from({ length: this.batch }, () => this.newState());
    this.history = Array.from({ length: this.batch }, () => []);
    this.bytesPerEntry = 2 * config.nLayers * config.nKvHeads * config.headDim * 4;
  }

  private newState(): AnchorCacheState {
    const o = this.options;
    return new AnchorCacheState({
      policy: o.policy,
      positions: o.positions ?? "original",
      keepFull: o.keepFullRange ? [o.keepFullRange] : [],
      bosVisible: o.bosVisible ?? false,
    });
  }

  /** Entries (rows) cached for each sequence now. */
  lengths(): number[] {
    return this.states.map((s) => s.cacheLength);
  }

  /** Entries now / at peak / full-cache equivalents, and the matching bytes. */
  stats(): CacheStats {
    const entries = this.lengths();
    const fullEntries = this.states.map((s) => s.totalTokens);
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    return {
      entries,
      bytes: sum(entries) * this.bytesPerEntry,
      peakEntries: this.states.map((s) => s.peakRows),
      peakBytes: this.peakBytes,
      fullEntries,
      fullBytes: sum(fullEntries) * this.bytesPerEntry,
    };
  }

  /** An independent copy (tensors copied, state rebuilt): score several continuations of one prefix. */
  clone(): KVCache {
    const c = new KVCache(this.config, this.options);
    c.peakBytes = this.peakBytes;
    for (let b = 0; b < this.batch; b++) {
      const hist = (this.history[b] as Uint8Array[]).map((h) => h.slice());
      c.history[b] = hist;
      for (const flags of hist) (c.states[b] as AnchorCacheState).append(flags);
    }
    const copy = (t: Tensor | null) => (t ? keep(concat([t], 2)) : null);
    c.k = this.k.map((row) => row.map(copy));
    c.v = this.v.map((row) => row.map(copy));
    return c;
  }

  /** Free all K/V tensors. */
  dispose(): void {
    for (const t of [...this.k.flat(), ...this.v.flat()]) t?.dispose();
    this.k = this.k.map((row) => row.map(() => null));
    this.v = this.v.map((row) => row.map(() => null));
  }
}

/** Rows `idx` (increasing) along axis 2 of x [1, nKvHeads, L, headDim] -> [1, nKvHeads, n, headDim]. */
function selectRows(x: Tensor, idx: Int32Array): Tensor {
  const index = tensor(idx, [idx.length], { dtype: "i32", device: x.device });
  const out = gather(x, 2, index);
  index.dispose();
  return out;
}

function isIdentity(idx: Int32Array, n: number): boolean {
  if (idx.length !== n) return false;
  for (let i = 0; i < n; i++) if (idx[i] !== i) return false;
  return true;
}

/** The attention-rule arrays of a packed step (keys = cache rows + chunk rows + padding). */
function stepMask(
  cache: KVCache,
  steps: CacheStep[],
): { mask: AttentionMask; lq: number; lk: number; ropePos: Int32Array } {
  const p = packSteps(steps);
  const mask: AttentionMask = {
    qPos: p.qPos,
    kPos: p.kPos,
    qSeg: p.qSeg,
    kSeg: p.kSeg,
    qAnchor: p.qAnchor,
    kAnchor: p.kAnchor,
    kValid: p.kValid,
    mode: cache.attention,
    bosVisible: cache.options.bosVisible ?? false,
  };
  return { mask, lq: p.lq, lk: p.lk, ropePos: p.qRopePos };
}

function checkChunks(
  cache: KVCache,
  chunks: Int32Array[],
  isAnchor: Uint8Array[] | undefined,
  vocab: number,
) {
  if (chunks.length !== cache.batch) {
    throw new ModelInputError(
      `forwardChunk: got ${chunks.length} chunks for a cache of batch ${cache.batch}`,
    );
  }
  chunks.forEach((c, b) => {
    const flags = isAnchor?.[b];
    if (isAnchor && flags?.length !== c.length) {
      throw new ModelInputError(
        `forwardChunk: isAnchor[${b}] has length ${flags?.length}, chunk has ${c.length}`,
      );
    }
    for (const id of c) {
      if (!(id >= 0 && id < vocab))
        throw new ModelInputError(`forwardChunk: token id ${id} outside [0, ${vocab})`);
    }
  });
  if (chunks.every((c) => c.length === 0))
    throw new ModelInputError("forwardChunk: every chunk is empty");
}

/** Implementation of Llama2.forwardChunk (see there). */
export function forwardChunk(
  model: Llama2,
  cache: KVCache,
  chunks: Int32Array[],
  opts: { isAnchor?: Uint8Array[]; lastOnly?: boolean },
): Tensor {
  const c = model.config;
  checkChunks(cache, chunks, opts.isAnchor, c.vocabSize);
  const flags = chunks.map((ch, b) =>
    opts.isAnchor ? (opts.isAnchor[b] as Uint8Array).slice() : new Uint8Array(ch.length),
  );
  const steps = cache.states.map((s, b) => s.plan(flags[b] as Uint8Array));
  const { mask: hostMask, lq, lk, ropePos } = stepMask(cache, steps);
  const device = model.param(EMBED).device;
  const mask = uploadMask(hostMask, cache.batch, lq, lk, device);
  const ids = new Int32Array(cache.batch * lq);
  for (const [b, ch] of chunks.entries()) ids.set(ch, b * lq);
  const newK: (Tensor | null)[][] = [];
  const newV: (Tensor | null)[][] = [];
  const logits = tidy(() => {
    const ctx: LayerContext = {
      config: c,
      params: model.parameters(),
      ropePos: tensor(ropePos, [cache.batch, lq], { dtype: "i32", device }),
      mask,
      kvHook: (layer, k, v) => {
        const out = appendRows(cache, steps, layer, k, v, lk);
        newK[layer] = out.keptK.map((t) => (t ? keep(t) : null));
        newV[layer] = out.keptV.map((t) => (t ? keep(t) : null));
        return { k: out.k, v: out.v };
      },
    };
    let x = embedding(model.param(EMBED), tensor(ids, [cache.batch, lq], { dtype: "i32", device }));
    for (let l = 0; l < c.nLayers; l++) x = decoderLayer(x, l, ctx);
    if (opts.lastOnly)
      x = pickRows(
        x,
        Int32Array.from(chunks, (ch) => Math.max(0, ch.length - 1)),
      );
    return linear(rmsNormRows(x, model.param(FINAL_NORM), c.rmsNormEps), model.headWeight());
  });
  mask.packed.dispose();
  const held = steps.reduce((a, s) => a + s.cacheLength + s.chunkLength, 0);
  cache.peakBytes = Math.max(cache.peakBytes, held * cache.bytesPerEntry);
  const reused = new Set([...newK.flat(), ...newV.flat()]);
  for (const t of [...cache.k.flat(), ...cache.v.flat()]) if (t && !reused.has(t)) t.dispose();
  cache.k = newK;
  cache.v = newV;
  steps.forEach((s, b) => {
    (cache.states[b] as AnchorCacheState).commit(s);
    (cache.history[b] as Uint8Array[]).push(flags[b] as Uint8Array);
  });
  return logits;
}

/**
 * Keys/values to attend for one layer, [batch, nKvHeads, lk, headDim] (cache rows, chunk rows,
 * zero padding per sequence), and each sequence's rows kept after the step.
 */
function appendRows(
  cache: KVCache,
  steps: CacheStep[],
  layer: number,
  k: Tensor,
  v: Tensor,
  lk: number,
) {
  const { nKvHeads, headDim } = cache.config;
  const build = (fresh: Tensor, old: (Tensor | null)[]) => {
    const padded: Tensor[] = [];
    const kept: (Tensor | null)[] = [];
    steps.forEach((s, b) => {
      const parts: Tensor[] = [];
      if (s.cacheLength > 0) parts.push(old[b] as Tensor);
      if (s.chunkLength > 0) parts.push(slice(slice(fresh, 0, b, b + 1), 2, 0, s.chunkLength));
      const len = s.cacheLength + s.chunkLength;
      if (len === 0) {
        padded.push(zeros([1, nKvHeads, lk, headDim], { device: fresh.device }));
        kept.push(null);
        return;
      }
      const rows = parts.length === 1 ? (parts[0] as Tensor) : concat(parts, 2); // [1, nKvHeads, len, headDim]
      if (isIdentity(s.keep, len)) kept.push(rows);
      else kept.push(s.keep.length > 0 ? selectRows(rows, s.keep) : null);
      const pad = lk - len;
      padded.push(
        pad > 0
          ? concat([rows, zeros([1, nKvHeads, pad, headDim], { device: fresh.device })], 2)
          : rows,
      );
    });
    return { all: padded.length === 1 ? (padded[0] as Tensor) : concat(padded, 0), kept };
  };
  const kk = build(k, cache.k[layer] as (Tensor | null)[]);
  const vv = build(v, cache.v[layer] as (Tensor | null)[]);
  return { k: kk.all, v: vv.all, keptK: kk.kept, keptV: vv.kept };
}
