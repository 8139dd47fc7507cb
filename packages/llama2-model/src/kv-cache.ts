// The K/V cache of cached inference, with anchor-based reduction (apps/docs/guide/method.md). It
// owns, per layer, one K and one V buffer [batch, nKvHeads, capacity, headDim] and, per sequence,
// an AnchorCacheState (@anllm/anchor-mask) that says which keys a chunk sees and which rows survive
// it. Sequence b's rows are the first lengths()[b] rows of its slice: a chunk's rows are written
// after them in place, and the rows dropped after an anchor are compacted in place. Capacity
// doubles when a chunk would not fit; the attention runs over the whole capacity with unused rows
// masked out (kValid 0), so buffers never need to be sliced.
import { AnchorCacheState, type CacheStep, packSteps } from "@anllm/anchor-mask";
import {
  compactRowsInPlace,
  contiguous,
  keep,
  type MaskInput,
  noGrad,
  type Tensor,
  writeRowsInPlace,
  zeros,
} from "@anllm/tensor";
import type { LlamaConfig } from "./config";
import { ModelInputError } from "./errors";
import type { LayerKV } from "./layers";
import { kvBytesPerEntry } from "./spec";
import type { ModelDType } from "./weights";

/** Options of `Llama2.createCache`. */
export interface KVCacheOptions {
  batch: number;
  /** "anchor": drop finished segments' non-anchor rows; "full": keep every row */
  policy: "full" | "anchor";
  /** rotary positions after a drop: "original" (default, exact) or "compacted" (released code) */
  positions?: "original" | "compacted";
  /** original-position ranges [start, end) kept in the cache and visible like anchors */
  keepFull?: [number, number][];
  /** attention rule: "anchor" (default for policy anchor) or "causal" (default for policy full) */
  attention?: "anchor" | "causal";
  /** option: position 0 (BOS) kept and visible to all queries (off by default) */
  bosVisible?: boolean;
  /** rows to reserve per sequence up front (default: allocated on the first chunk, then doubled) */
  capacity?: number;
  /** dtype of the K/V rows (Llama2.createCache: the model's dtype; else f32) */
  dtype?: ModelDType;
}

/**
 * Cache statistics: entries (rows) per sequence now / at peak / for a full cache, and the matching
 * bytes (all layers, K+V, in the cache's dtype: 2 bytes per value in f16); `allocatedBytes` is the reserved capacity of every sequence.
 */
export interface CacheStats {
  entries: number[];
  bytes: number;
  peakEntries: number[];
  peakBytes: number;
  fullEntries: number[];
  fullBytes: number;
  allocatedBytes: number;
}

/** What the forward of one chunk needs from the cache (from `plan`). */
export interface ChunkPlan {
  /** query rows per sequence: the longest chunk (shorter chunks are right-padded) */
  lq: number;
  /** i32 [batch * lq] rotary position of each chunk token */
  positions: Int32Array;
  /** the rule over the key axis [cached rows, chunk rows, unused capacity] (lk = capacity) */
  mask: MaskInput;
}

/** Smallest capacity allocated (rows per sequence). */
const MIN_CAPACITY = 16;

/**
 * The K/V cache of a batch of sequences; each sequence has its own length. One chunk step is
 * `plan` (the keys this chunk sees), `append` for every layer (done by the model's forward),
 * then `commit` (drop the rows the policy no longer needs); `Llama2.forwardChunk` runs the three.
 */
export class KVCache implements LayerKV {
  readonly batch: number;
  /** K+V bytes of one cached row (all layers, in the cache's dtype) */
  readonly bytesPerEntry: number;
  /** dtype of the cached K/V rows */
  readonly dtype: ModelDType;
  private readonly nLayers: number;
  private readonly mode: "anchor" | "causal";
  private states: AnchorCacheState[];
  /** per layer [batch, nKvHeads, rows, headDim], null until the first append */
  private k: (Tensor | null)[];
  private v: (Tensor | null)[];
  /** capacity (rows per sequence) the next appends grow the buffers to */
  private rows: number;
  private steps: CacheStep[] | null = null;
  private peakBytes = 0;
  private disposed = false;

  constructor(
    private readonly config: LlamaConfig,
    private readonly options: KVCacheOptions,
  ) {
    if (!Number.isInteger(options.batch) || options.batch < 1) {
      throw new ModelInputError(
        `createCache: batch must be a positive integer, got ${options.batch}`,
      );
    }
    const cap = options.capacity ?? 0;
    if (!Number.isInteger(cap) || cap < 0) {
      throw new ModelInputError(
        `createCache: capacity must be an integer >= 0, got ${options.capacity}`,
      );
    }
    this.batch = options.batch;
    this.nLayers = config.nLayers;
    this.mode = options.attention ?? (options.policy === "anchor" ? "anchor" : "causal");
    this.dtype = options.dtype ?? "f32";
    this.bytesPerEntry = kvBytesPerEntry(config, this.dtype);
    this.rows = cap;
    this.k = new Array(this.nLayers).fill(null);
    this.v = new Array(this.nLayers).fill(null);
    this.states = Array.from(
      { length: this.batch },
      () =>
        new AnchorCacheState({
          policy: options.policy,
          positions: options.positions ?? "original",
          keepFull: options.keepFull ?? [],
          bosVisible: options.bosVisible ?? false,
        }),
    );
  }

  /** Rows reserved per sequence (every layer's K and V buffers have this many). */
  get capacity(): number {
    return this.rows;
  }

  /** Entries (rows) cached for each sequence now. */
  lengths(): number[] {
    return this.states.map((s) => s.cacheLength);
  }

  /** Original positions, segment ids, visible-as-anchor flags and rotary positions of sequence b's rows. */
  cachedRows(b: number): ReturnType<AnchorCacheState["cachedRows"]> {
    const s = this.states[b];
    if (!s) throw new ModelInputError(`cachedRows: no sequence ${b} in a cache of ${this.batch}`);
    return s.cachedRows();
  }

  /** Entries now / at peak / full-cache equivalents, and the matching bytes. */
  stats(): CacheStats {
    const entries = this.lengths();
    const fullEntries = this.states.map((s) => s.totalTokens);
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const allocated = this.k[0] ? (this.k[0].shape[2] as number) : 0;
    return {
      entries,
      bytes: sum(entries) * this.bytesPerEntry,
      peakEntries: this.states.map((s) => s.peakRows),
      peakBytes: this.peakBytes,
      fullEntries,
      fullBytes: sum(fullEntries) * this.bytesPerEntry,
      allocatedBytes: allocated * this.batch * this.bytesPerEntry,
    };
  }

  /**
   * Plans a chunk of `isAnchor[b].length` tokens per sequence (0 = the sequence sits this step
   * out): the rotary positions and the attention rule over [cached rows, chunk rows]. Grows the
   * capacity when the chunk does not fit. A new plan replaces one that was never committed.
   */
  plan(isAnchor: Uint8Array[]): ChunkPlan {
    this.checkLive();
    if (isAnchor.length !== this.batch) {
      throw new ModelInputError(
        `forwardChunk: got ${isAnchor.length} chunks for a cache of batch ${this.batch}`,
      );
    }
    if (isAnchor.every((f) => f.length === 0))
      throw new ModelInputError("forwardChunk: every chunk is empty");
    const steps = this.states.map((s, b) => s.plan(isAnchor[b] as Uint8Array));
    const need = Math.max(...steps.map((s) => s.cacheLength + s.chunkLength));
    if (need > this.rows) this.rows = Math.max(need, 2 * this.rows, MIN_CAPACITY);
    this.steps = steps;
    const p = packSteps(steps);
    const cap = this.rows;
    // packSteps pads keys to the longest sequence; the buffers hold `cap` rows per sequence
    const widen = (a: Int32Array) => {
      const out = new Int32Array(this.batch * cap);
      for (let b = 0; b < this.batch; b++) out.set(a.subarray(b * p.lk, (b + 1) * p.lk), b * cap);
      return out;
    };
    const mask: MaskInput = {
      batch: this.batch,
      lq: p.lq,
      lk: cap,
      mode: this.mode,
      qPos: p.qPos,
      qSeg: p.qSeg,
      qAnchor: p.qAnchor,
      kPos: widen(p.kPos),
      kSeg: widen(p.kSeg),
      kAnchor: widen(p.kAnchor),
      kValid: widen(p.kValid),
      bosVisible: this.options.bosVisible ?? false,
    };
    return { lq: p.lq, positions: p.qRopePos, mask };
  }

  /**
   * Writes the planned chunk's K/V of one layer (k, v [batch, nKvHeads, lq, headDim], rows past a
   * sequence's chunk ignored) after each sequence's cached rows, in place.
   * @returns the layer's buffers [batch, nKvHeads, capacity, headDim], to attend with the plan's mask
   */
  append(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const steps = this.steps;
    if (!steps) throw new ModelInputError("KVCache.append: no planned chunk (call plan first)");
    const at = steps.map((s) => s.cacheLength);
    const count = steps.map((s) => s.chunkLength);
    const write = (bufs: (Tensor | null)[], x: Tensor) => {
      const buf = this.reserve(bufs[layer] ?? null, x);
      bufs[layer] = buf;
      writeRowsInPlace(buf, x, at, count);
      return buf;
    };
    return { k: write(this.k, k), v: write(this.v, v) };
  }

  /** Applies the planned chunk: each sequence keeps the rows its state keeps, moved in place. */
  commit(): void {
    const steps = this.steps;
    if (!steps) throw new ModelInputError("KVCache.commit: no planned chunk (call plan first)");
    const keeps = steps.map((s) => s.keep);
    const moves = steps.some((s) => s.keep.some((r, i) => r !== i));
    if (moves) for (const t of [...this.k, ...this.v]) if (t) compactRowsInPlace(t, keeps);
    const held = steps.reduce((a, s) => a + s.cacheLength + s.chunkLength, 0);
    this.peakBytes = Math.max(this.peakBytes, held * this.bytesPerEntry);
    steps.forEach((s, b) => {
      (this.states[b] as AnchorCacheState).commit(s);
    });
    this.steps = null;
  }

  /** An independent copy (buffers copied, states forked): score several continuations of one prefix. */
  clone(): KVCache {
    this.checkLive();
    const c = new KVCache(this.config, this.options);
    c.states = this.states.map((s) => s.fork());
    c.rows = this.rows;
    c.peakBytes = this.peakBytes;
    const copy = (t: Tensor | null) => (t ? keep(noGrad(() => contiguous(t))) : null);
    c.k = this.k.map(copy);
    c.v = this.v.map(copy);
    return c;
  }

  /** Frees the K/V buffers; the cache cannot be used afterwards. */
  dispose(): void {
    for (const t of [...this.k, ...this.v]) t?.dispose();
    this.k.fill(null);
    this.v.fill(null);
    this.steps = null;
    this.disposed = true;
  }

  private checkLive(): void {
    if (this.disposed) throw new ModelInputError("KVCache: used after dispose()");
  }

  /** `buf` if it has the capacity, else a larger buffer holding its rows (`buf` is freed). */
  private reserve(buf: Tensor | null, like: Tensor): Tensor {
    if (buf && buf.shape[2] === this.rows) return buf;
    const [batch, heads, , headDim] = like.shape as [number, number, number, number];
    const grown = keep(
      zeros([batch, heads, this.rows, headDim], { device: like.device, dtype: this.dtype }),
    );
    if (buf) {
      writeRowsInPlace(grown, buf, new Array(batch).fill(0));
      buf.dispose();
    }
    return grown;
  }
}
