// The K/V cache of cached inference, with anchor-based reduction (apps/docs/guide/method.md). It
// owns, per layer, one K and one V buffer [batch, nKvHeads, capacity, headDim] and, per sequence,
// an AnchorCacheState (@anllm/anchor-mask) that says which keys a chunk sees and which rows survive
// it. Sequence b's rows are the first lengths()[b] rows of its slice: a chunk's rows are written
// after them in place, and the rows dropped after an anchor are compacted in place. Under h2o each
// (layer, KV head) keeps its own rows (the same number everywhere, so one mask serves them all) and
// is compacted with its own list. Capacity
// doubles when a chunk would not fit; the attention runs over the whole capacity with unused rows
// masked out (kValid 0), so buffers never need to be sliced.
import {
  AnchorCacheState,
  type CachePolicy,
  type CachePolicyState,
  type CacheStep,
  createCacheState,
  packSteps,
  policyNeedsScores,
} from "@anllm/anchor-mask";
import {
  add,
  compactRowsInPlace,
  concat,
  contiguous,
  keep,
  type MaskInput,
  noGrad,
  reshape,
  rope,
  type Tensor,
  tensor,
  tidy,
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
  /**
   * "anchor": drop finished segments' non-anchor rows; "full": keep every row (with the attention
   * option's rule); or any anchor-mask cache policy (full, anchor, sink, sepllm, h2o: the
   * causal policies attend causally within what they keep)
   */
  policy: "full" | "anchor" | CachePolicy;
  /** rotary base (needed to re-rotate kept keys under sink's `positions=cache`) */
  ropeTheta?: number;
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
  /** mean entries held after each chunk step, per sequence */
  meanEntries: number[];
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
  private states: CachePolicyState[];
  private readonly needsScores: boolean;
  /** per sequence: sum of entries after each step, and the steps */
  private entrySums: number[];
  private stepCount: number[];
  /** per layer: [batch, nKvHeads, capacity] column sums of this chunk's attention (h2o) */
  private columnSums: (Tensor | null)[];
  /** h2o: a chunk whose eviction waits for `settle` (its scores are on the device) */
  private unsettled = false;
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
    const policy = options.policy;
    const anchorRule =
      policy === "anchor" || (typeof policy === "object" && policy.kind === "anchor");
    this.mode = options.attention ?? (anchorRule ? "anchor" : "causal");
    this.needsScores = typeof policy === "object" && policyNeedsScores(policy);
    this.entrySums = new Array(options.batch).fill(0);
    this.stepCount = new Array(options.batch).fill(0);
    this.dtype = options.dtype ?? "f32";
    this.bytesPerEntry = kvBytesPerEntry(config, this.dtype);
    this.rows = cap;
    this.k = new Array(this.nLayers).fill(null);
    this.v = new Array(this.nLayers).fill(null);
    this.columnSums = new Array(this.nLayers).fill(null);
    const anchorOptions = {
      positions: options.positions ?? "original",
      keepFull: options.keepFull ?? [],
      bosVisible: options.bosVisible ?? false,
    };
    this.states = Array.from({ length: this.batch }, () =>
      typeof policy === "string"
        ? new AnchorCacheState({ ...anchorOptions, policy })
        : // h2o: one row set per layer and KV head (H2O's rule), at layer * nKvHeads + head
          createCacheState(policy, { ...anchorOptions, heads: this.nLayers * config.nKvHeads }),
    );
  }

  /** Whether the layers must hand their attention column sums to `addColumnSums` (h2o). */
  get wantsColumnSums(): boolean {
    return this.needsScores;
  }

  /** Adds one layer's column sums [batch, nKvHeads, capacity] to this chunk's scores (h2o). */
  addColumnSums(layer: number, sums: Tensor): void {
    const prev = this.columnSums[layer];
    this.columnSums[layer] = keep(prev ? add(prev, sums) : contiguous(sums));
    prev?.dispose();
  }

  /** Rows reserved per sequence (every layer's K and V buffers have this many). */
  get capacity(): number {
    return this.rows;
  }

  /**
   * Original position of the token each (layer, KV head) holds in each of sequence b's rows:
   * `[nLayers * nKvHeads][rows]` at `layer * nKvHeads + head` under h2o; one list shared by every
   * layer and head under the other policies (`[1][rows]`).
   */
  headPositions(b: number): Int32Array[] {
    const s = this.states[b];
    if (!s)
      throw new ModelInputError(`headPositions: no sequence ${b} in a cache of ${this.batch}`);
    return s.headPositions();
  }

  /** Entries (rows) cached for each sequence now (per layer and KV head). */
  lengths(): number[] {
    return this.states.map((s) => s.cacheLength);
  }

  /**
   * Original positions, segment ids, visible-as-anchor flags and rotary positions of sequence b's
   * rows (h2o: a row's position is the newest any head holds there; see `headPositions`).
   */
  cachedRows(b: number): ReturnType<CachePolicyState["cachedRows"]> {
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
      meanEntries: this.entrySums.map((s, b) =>
        this.stepCount[b] ? s / (this.stepCount[b] as number) : 0,
      ),
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
    if (this.unsettled)
      throw new ModelInputError(
        "KVCache.plan: the previous chunk's h2o eviction is pending (await cache.settle() after each forwardChunk)",
      );
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
      kUntil: widen(p.kUntil),
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

  /**
   * Applies the planned chunk: each sequence keeps the rows its state keeps, moved in place. Under
   * h2o the rows to keep depend on this chunk's attention scores, which are on the device: the
   * eviction then waits for `settle()` (async), which every caller awaits after `forwardChunk`.
   */
  commit(): void {
    const steps = this.steps;
    if (!steps) throw new ModelInputError("KVCache.commit: no planned chunk (call plan first)");
    if (this.needsScores) {
      this.unsettled = true;
      return;
    }
    this.apply(
      steps,
      steps.map(() => undefined),
    );
  }

  /** Completes a pending h2o eviction (reads the chunk's column sums); a no-op otherwise. */
  async settle(): Promise<void> {
    if (!this.unsettled) return;
    const steps = this.steps as CacheStep[];
    const layers = this.columnSums;
    if (layers.some((t) => !t))
      throw new ModelInputError(
        "KVCache.settle: attention column sums were not recorded for every layer (h2o)",
      );
    const nKv = this.config.nKvHeads;
    const cap = this.rows;
    // [batch, nLayers, nKvHeads, capacity]: one row of scores per (layer, KV head), one read-back
    const all = tidy(() =>
      noGrad(() =>
        concat(
          layers.map((t) => reshape(t as Tensor, [this.batch, 1, nKv, cap])),
          1,
        ),
      ),
    );
    const host = (await all.data()) as Float32Array;
    all.dispose();
    for (const t of layers) t?.dispose();
    this.columnSums.fill(null);
    this.unsettled = false;
    const heads = this.nLayers * nKv;
    this.apply(
      steps,
      steps.map((s, b) => {
        const n = s.cacheLength + s.chunkLength;
        const out = new Float32Array(heads * n);
        for (let h = 0; h < heads; h++) {
          const at = (b * heads + h) * cap;
          out.set(host.subarray(at, at + n), h * n);
        }
        return out;
      }),
    );
  }

  private apply(steps: CacheStep[], scores: (Float32Array | undefined)[]): void {
    const oldRope = steps.map((s) => s.kRopePos);
    // each head's key axis of the step: the rows it held, then the chunk (positions increasing)
    const keyPos = steps.map((s, b) =>
      (this.states[b] as CachePolicyState).headPositions().map((held) => {
        const axis = new Int32Array(held.length + s.qPos.length);
        axis.set(held);
        axis.set(s.qPos, held.length);
        return axis;
      }),
    );
    steps.forEach((s, b) => {
      (this.states[b] as CachePolicyState).commit(s, scores[b]);
    });
    // the rows each head kept (h2o chooses at commit), as indices into its key axis:
    // keeps[b][h], h over the state's row sets (1, or nLayers * nKvHeads)
    const keeps = this.states.map((state, b) =>
      state.headPositions().map((kept, h) => indicesIn(keyPos[b]![h]!, kept)),
    );
    const moves = keeps.some((kb) => kb.some((kp) => kp.some((r, i) => r !== i)));
    const shared = keeps.every((kb) => kb.length === 1);
    if (moves) {
      const nKv = this.config.nKvHeads;
      for (let l = 0; l < this.nLayers; l++) {
        // one list per sequence, or one per (sequence, KV head) slice of this layer
        const lists = shared
          ? keeps.map((kb) => kb[0] as Int32Array)
          : keeps.flatMap((kb) => kb.slice(l * nKv, (l + 1) * nKv));
        for (const t of [this.k[l], this.v[l]]) if (t) compactRowsInPlace(t, lists);
      }
    }
    // only a shared row set can change rotary positions (sink's positions=cache; h2o never does)
    if (shared)
      this.reRope(
        keeps.map((kb) => kb[0] as Int32Array),
        oldRope,
      );
    const held = steps.reduce((a, s) => a + s.cacheLength + s.chunkLength, 0);
    this.peakBytes = Math.max(this.peakBytes, held * this.bytesPerEntry);
    steps.forEach((s, b) => {
      if (s.chunkLength === 0) return;
      this.entrySums[b] =
        (this.entrySums[b] as number) + (this.states[b] as CachePolicyState).cacheLength;
      this.stepCount[b] = (this.stepCount[b] as number) + 1;
    });
    this.steps = null;
  }

  /** Re-rotates kept keys whose rotary position the policy changed (sink, positions=cache). */
  private reRope(keeps: Int32Array[], oldRope: Int32Array[]): void {
    const cap = this.rows;
    const delta = new Int32Array(this.batch * cap);
    let any = false;
    keeps.forEach((kp, b) => {
      const now = (this.states[b] as CachePolicyState).cachedRows().ropePos;
      kp.forEach((k, r) => {
        const d = (now[r] as number) - (oldRope[b]![k] as number);
        delta[b * cap + r] = d;
        if (d !== 0) any = true;
      });
    });
    if (!any) return;
    noGrad(() => {
      for (let l = 0; l < this.nLayers; l++) {
        const buf = this.k[l];
        if (!buf) continue;
        const pos = tensor(delta, [this.batch, cap], { dtype: "i32", device: buf.device });
        const turned = keep(
          rope(buf, pos, { theta: this.options.ropeTheta ?? this.config.ropeTheta }),
        );
        pos.dispose();
        buf.dispose();
        this.k[l] = turned;
      }
    });
  }

  /** An independent copy (buffers copied, states forked): score several continuations of one prefix. */
  clone(): KVCache {
    this.checkLive();
    const c = new KVCache(this.config, this.options);
    c.states = this.states.map((s) => s.fork());
    c.rows = this.rows;
    c.peakBytes = this.peakBytes;
    c.entrySums = [...this.entrySums];
    c.stepCount = [...this.stepCount];
    const copy = (t: Tensor | null) => (t ? keep(noGrad(() => contiguous(t))) : null);
    c.k = this.k.map(copy);
    c.v = this.v.map(copy);
    return c;
  }

  /** Frees the K/V buffers; the cache cannot be used afterwards. */
  dispose(): void {
    for (const t of [...this.k, ...this.v, ...this.columnSums]) t?.dispose();
    this.columnSums.fill(null);
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

/** Indices in `axis` (increasing positions) of `kept`, an increasing subsequence of it. */
function indicesIn(axis: Int32Array, kept: Int32Array): Int32Array {
  const out = new Int32Array(kept.length);
  let j = 0;
  for (let i = 0; i < kept.length; i++) {
    while (j < axis.length && axis[j] !== kept[i]) j++;
    if (j === axis.length)
      throw new Error(`internal: kept position ${kept[i]} is not on the step's key axis`);
    out[i] = j;
  }
  return out;
}
