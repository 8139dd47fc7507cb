// Deterministic reference language model implementing Scorer: p(w) is a smoothed count of w among
// the tokens the query position may attend to, so causal/anchor masks and cache dropping change the
// scores exactly as attention visibility does. Hand-computable; used as the test oracle.
import { EvalConfigError } from "./errors";
import type {
  CachedOptions,
  CacheUsage,
  ContinuationScores,
  ForwardOptions,
  GenerateResult,
  Scorer,
  ScorerGenerateOptions,
  TokenLogprobs,
} from "./scorer";

/** One cached or chunk token with the attributes the anchor rule needs. */
interface Row {
  tok: number;
  pos: number;
  seg: number;
  anchor: boolean;
}

/** Options of {@link VisibleCountScorer}. */
export interface VisibleCountOptions {
  vocabSize: number;
  /** Additive smoothing (default 1). */
  alpha?: number;
  maxLength?: number;
  /** Bytes one cache entry would take (default 8), for CacheUsage bytes. */
  bytesPerEntry?: number;
}

/**
 * p(w | query i) = (alpha + #{visible j : x_j = w}) / (alpha * vocabSize + #visible), where the visible
 * set is what attention would let i see (itself included). Greedy = lowest id with maximal count.
 */
export class VisibleCountScorer implements Scorer {
  readonly name = "visible-count";
  readonly maxLength: number;
  readonly vocabSize: number;
  private readonly alpha: number;
  private readonly bytesPerEntry: number;

  constructor(opts: VisibleCountOptions) {
    if (!(opts.vocabSize > 0)) throw new EvalConfigError("vocabSize must be positive");
    this.vocabSize = opts.vocabSize;
    this.alpha = opts.alpha ?? 1;
    this.maxLength = opts.maxLength ?? 4096;
    this.bytesPerEntry = opts.bytesPerEntry ?? 8;
  }

  /** From scratch with running counts: anchors of closed segments + the current segment. */
  async scoreSequences(
    seqs: readonly Int32Array[],
    opts: ForwardOptions,
  ): Promise<TokenLogprobs[]> {
    const anchors = new Set(opts.anchorIds);
    return seqs.map((seq) => {
      this.checkIds(seq);
      const n = seq.length;
      const logprobs = new Float64Array(Math.max(0, n - 1));
      const greedy = new Uint8Array(Math.max(0, n - 1));
      const segCounts = new Float64Array(this.vocabSize);
      const anchorCounts = new Float64Array(this.vocabSize);
      let nSeg = 0;
      let nAnchor = 0;
      for (let i = 0; i < n - 1; i++) {
        const tok = seq[i]!;
        const isA = opts.attention === "anchor" && anchors.has(tok);
        segCounts[tok]! += 1;
        nSeg += 1;
        const useA = !isA;
        const dist = (w: number) => segCounts[w]! + (useA ? anchorCounts[w]! : 0);
        const total = nSeg + (useA ? nAnchor : 0);
        const next = seq[i + 1]!;
        logprobs[i] = Math.log((this.alpha + dist(next)) / (this.alpha * this.vocabSize + total));
        greedy[i] = this.argmax(dist) === next ? 1 : 0;
        if (isA) {
          // The segment closes: only its anchor stays visible to later non-anchor tokens.
          anchorCounts[tok]! += 1;
          nAnchor += 1;
          segCounts.fill(0);
          nSeg = 0;
        }
      }
      return { logprobs, greedy };
    });
  }

  /** Explicit cache of rows; the anchor policy drops non-anchors of closed segments after a chunk. */
  async scoreContinuations(
    context: Int32Array,
    continuations: readonly Int32Array[],
    opts: CachedOptions,
  ): Promise<ContinuationScores> {
    if (context.length === 0) throw new EvalConfigError("scoreContinuations: empty context");
    onlyFullOrAnchor(opts.policy);
    const anchors = opts.policy === "anchor" ? new Set(opts.anchorIds) : new Set<number>();
    const state = { cache: [] as Row[], nextPos: 0, nextSeg: 0, peak: 0 };
    const chunk = opts.chunkSize && opts.chunkSize > 0 ? opts.chunkSize : context.length;
    let lastRowCounts: ((w: number) => number) | null = null;
    let lastTotal = 0;
    for (let s = 0; s < context.length; s += chunk) {
      const out = this.runChunk(state, context.subarray(s, s + chunk), anchors, opts.policy);
      lastRowCounts = out.lastCounts;
      lastTotal = out.lastTotal;
    }
    const prefixPeak = state.peak;
    const results: TokenLogprobs[] = [];
    const usage: CacheUsage[] = [];
    for (const cont of continuations) {
      this.checkIds(cont);
      const clone = { ...state, cache: state.cache.slice() };
      const logprobs = new Float64Array(cont.length);
      const greedy = new Uint8Array(cont.length);
      if (cont.length > 0) {
        logprobs[0] = this.logp(lastRowCounts!, lastTotal, cont[0]!);
        greedy[0] = this.argmax(lastRowCounts!) === cont[0] ? 1 : 0;
      }
      if (cont.length > 1) {
        const rows = this.runChunk(clone, cont.subarray(0, cont.length - 1), anchors, opts.policy);
        for (let t = 1; t < cont.length; t++) {
          const counts = rows.rowCounts[t - 1]!;
          logprobs[t] = this.logp((w) => counts[w]!, rows.rowTotals[t - 1]!, cont[t]!);
          greedy[t] = this.argmax((w) => counts[w]!) === cont[t] ? 1 : 0;
        }
      }
      results.push({ logprobs, greedy });
      const full = context.length + Math.max(0, cont.length - 1);
      const peak = Math.max(prefixPeak, clone.peak);
      usage.push(this.usage(peak, full));
    }
    return { continuations: results, usage };
  }

  /** Greedy decoding; "none" re-scores the whole sequence each step with causal attention. */
  async generate(
    prompts: readonly Int32Array[],
    opts: ScorerGenerateOptions,
  ): Promise<GenerateResult> {
    onlyFullOrAnchor(opts.cache);
    const t0 = performance.now();
    const tokens: Int32Array[] = [];
    const usage: CacheUsage[] = [];
    for (const prompt of prompts) {
      const out: number[] = [];
      if (opts.cache === "none") {
        const seq = Array.from(prompt);
        for (let k = 0; k < opts.maxNewTokens; k++) {
          // Recompute: the last row's visible set is rebuilt from the whole sequence each step.
          const counts = this.countsOf(seq);
          const next = this.argmax((w) => counts[w]!);
          seq.push(next);
          out.push(next);
          if (next === opts.eosId) break;
        }
        usage.push(this.usage(seq.length - 1, seq.length - 1));
      } else {
        const anchors = opts.cache === "anchor" ? new Set(opts.anchorIds) : new Set<number>();
        const state = { cache: [] as Row[], nextPos: 0, nextSeg: 0, peak: 0 };
        const chunk = opts.chunkSize && opts.chunkSize > 0 ? opts.chunkSize : prompt.length;
        let last: (w: number) => number = () => 0;
        for (let s = 0; s < prompt.length; s += chunk) {
          last = this.runChunk(
            state,
            prompt.subarray(s, s + chunk),
            anchors,
            opts.cache,
          ).lastCounts;
        }
        for (let k = 0; k < opts.maxNewTokens; k++) {
          const next = this.argmax(last);
          out.push(next);
          if (next === opts.eosId || k === opts.maxNewTokens - 1) break;
          last = this.runChunk(state, Int32Array.of(next), anchors, opts.cache).lastCounts;
        }
        usage.push(this.usage(state.peak, state.nextPos));
      }
      tokens.push(Int32Array.from(out));
    }
    return { tokens, usage, timeMs: performance.now() - t0 };
  }

  /** Appends a chunk: each row sees allowed cache rows and allowed earlier chunk rows. */
  private runChunk(
    state: { cache: Row[]; nextPos: number; nextSeg: number; peak: number },
    chunk: Int32Array,
    anchors: Set<number>,
    policy: CachedOptions["policy"],
  ) {
    this.checkIds(chunk);
    const rows: Row[] = [];
    for (const tok of chunk) {
      const anchor = anchors.has(tok);
      rows.push({ tok, pos: state.nextPos++, seg: state.nextSeg, anchor });
      if (anchor) state.nextSeg += 1;
    }
    state.peak = Math.max(state.peak, state.cache.length + rows.length);
    const keys = [...state.cache, ...rows];
    const rowCounts: Float64Array[] = [];
    const rowTotals: number[] = [];
    for (const q of rows) {
      const counts = new Float64Array(this.vocabSize);
      let total = 0;
      for (const k of keys) {
        const ok =
          k.pos <= q.pos && (policy === "full" || q.seg === k.seg || (k.anchor && !q.anchor));
        if (ok) {
          counts[k.tok]! += 1;
          total += 1;
        }
      }
      rowCounts.push(counts);
      rowTotals.push(total);
    }
    state.cache = keys;
    if (policy === "anchor") {
      state.cache = keys.filter((r) => r.anchor || r.seg === state.nextSeg);
    }
    const lastCounts = rowCounts[rowCounts.length - 1]!;
    return {
      rowCounts,
      rowTotals,
      lastCounts: (w: number) => lastCounts[w]!,
      lastTotal: rowTotals[rowTotals.length - 1]!,
    };
  }

  private countsOf(seq: readonly number[]): Float64Array {
    const c = new Float64Array(this.vocabSize);
    for (const t of seq) c[t]! += 1;
    return c;
  }

  private logp(counts: (w: number) => number, total: number, w: number): number {
    return Math.log((this.alpha + counts(w)) / (this.alpha * this.vocabSize + total));
  }

  private argmax(counts: (w: number) => number): number {
    let best = 0;
    for (let w = 1; w < this.vocabSize; w++) if (counts(w) > counts(best)) best = w;
    return best;
  }

  private usage(peak: number, full: number): CacheUsage {
    const b = this.bytesPerEntry;
    return { peakEntries: peak, fullEntries: full, peakBytes: peak * b, fullBytes: full * b };
  }

  private checkIds(seq: Int32Array): void {
    for (const t of seq) {
      if (t < 0 || t >= this.vocabSize) {
        throw new EvalConfigError(`token id ${t} outside vocabulary [0, ${this.vocabSize})`);
      }
    }
  }
}

/** The reference model implements the two original policies only. */
function onlyFullOrAnchor(policy: CachedOptions["policy"] | "none"): void {
  if (typeof policy === "object")
    throw new EvalConfigError(
      `VisibleCountScorer implements the full and anchor cache policies only, got ${policy.kind}`,
    );
}
