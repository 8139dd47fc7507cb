// Scorer adapter for @anllm/llama2-model: masked from-scratch forwards (head applied in row chunks,
// log-softmax on the host), the anchor/full KV cache via forwardChunk + clone, and generate().
import {
  generate,
  kvBytesPerEntry,
  type Llama2,
  type GenerateResult as ModelGenerateResult,
} from "@anllm/llama2-model";
import { matmul, noGrad, reshape, slice, type Tensor, tidy } from "@anllm/tensor";
import { EvalConfigError } from "./errors";
import {
  type CachedOptions,
  type CacheUsage,
  type ContinuationScores,
  type ForwardOptions,
  type GenerateResult,
  policyFlagIds,
  type Scorer,
  type ScorerGenerateOptions,
  type TokenLogprobs,
} from "./scorer";

/** Options of {@link LlamaScorer}. */
export interface LlamaScorerOptions {
  name?: string;
  /** Positions per forward (default config.maxSeqLen). */
  maxLength?: number;
  /** Logit rows read back per head matmul (default: about 8M floats worth). */
  headRows?: number;
}

/** log p(target) and argmax == target for every row of host logits [rows, vocab]. */
function scoreRows(
  logits: Float32Array,
  vocab: number,
  targets: ArrayLike<number>,
  out: TokenLogprobs,
  at: number,
) {
  for (let r = 0; r < targets.length; r++) {
    const row = logits.subarray(r * vocab, (r + 1) * vocab);
    let mx = row[0]!;
    let arg = 0;
    for (let v = 1; v < vocab; v++) {
      if (row[v]! > mx) {
        mx = row[v]!;
        arg = v;
      }
    }
    let s = 0;
    for (let v = 0; v < vocab; v++) s += Math.exp(row[v]! - mx);
    const t = targets[r]!;
    out.logprobs[at + r] = row[t]! - mx - Math.log(s);
    out.greedy[at + r] = arg === t ? 1 : 0;
  }
}

async function readAndDispose(t: Tensor): Promise<Float32Array> {
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

/** The evaluator's Scorer over a Llama2 model (any device the model lives on). */
export class LlamaScorer implements Scorer {
  readonly name: string;
  readonly maxLength: number;
  private readonly headRows: number;

  constructor(
    readonly model: Llama2,
    opts: LlamaScorerOptions = {},
  ) {
    this.name = opts.name ?? "llama2";
    this.maxLength = opts.maxLength ?? model.config.maxSeqLen;
    this.headRows = opts.headRows ?? Math.max(1, Math.floor(8_388_608 / model.config.vocabSize));
  }

  private get vocab(): number {
    return this.model.config.vocabSize;
  }

  private flags(ids: ArrayLike<number>, anchors: Set<number>): Uint8Array {
    return Uint8Array.from(ids as ArrayLike<number>, (t) => (anchors.has(t) ? 1 : 0));
  }

  /** Ragged batch: inputs seq[:-1] right-padded, masked forward, head in row chunks. */
  async scoreSequences(
    seqs: readonly Int32Array[],
    opts: ForwardOptions,
  ): Promise<TokenLogprobs[]> {
    const out: TokenLogprobs[] = seqs.map((s) => ({
      logprobs: new Float64Array(Math.max(0, s.length - 1)),
      greedy: new Uint8Array(Math.max(0, s.length - 1)),
    }));
    const live = seqs.map((_s, i) => i).filter((i) => seqs[i]!.length > 1);
    if (live.length === 0) return out;
    const seqLen = Math.max(...live.map((i) => seqs[i]!.length - 1));
    if (seqLen > this.maxLength)
      throw new EvalConfigError(`sequence of ${seqLen} positions exceeds ${this.maxLength}`);
    const batch = live.length;
    const anchors = new Set(opts.attention === "anchor" ? opts.anchorIds : []);
    const inputIds = new Int32Array(batch * seqLen);
    const isAnchor = new Uint8Array(batch * seqLen);
    const lengths = new Int32Array(batch);
    live.forEach((i, b) => {
      const inp = seqs[i]!.subarray(0, seqs[i]!.length - 1);
      inputIds.set(inp, b * seqLen);
      isAnchor.set(this.flags(inp, anchors), b * seqLen);
      lengths[b] = inp.length;
    });
    const hidden = noGrad(() =>
      tidy(() => {
        const h = this.model.hidden({
          inputIds,
          batch,
          seqLen,
          attention: opts.attention,
          isAnchor,
          lengths,
        }).hidden;
        return reshape(h, [batch * seqLen, this.model.config.dModel]);
      }),
    );
    try {
      for (let b = 0; b < batch; b++) {
        const seq = seqs[live[b]!]!;
        const n = seq.length - 1;
        for (let r0 = 0; r0 < n; r0 += this.headRows) {
          const r1 = Math.min(n, r0 + this.headRows);
          const logits = noGrad(() =>
            tidy(() =>
              matmul(slice(hidden, 0, b * seqLen + r0, b * seqLen + r1), this.model.headWeight(), {
                transB: true,
              }),
            ),
          );
          scoreRows(
            await readAndDispose(logits),
            this.vocab,
            seq.subarray(r0 + 1, r1 + 1),
            out[live[b]!]!,
            r0,
          );
        }
      }
    } finally {
      hidden.dispose();
    }
    return out;
  }

  /** Prefill (chunked) into a cache of `policy`, then each continuation on a clone. */
  async scoreContinuations(
    context: Int32Array,
    continuations: readonly Int32Array[],
    opts: CachedOptions,
  ): Promise<ContinuationScores> {
    if (context.length === 0) throw new EvalConfigError("scoreContinuations: empty context");
    const longest = Math.max(0, ...continuations.map((c) => c.length));
    if (context.length + longest - 1 > this.maxLength) {
      throw new EvalConfigError(
        `context ${context.length} + continuation ${longest} exceeds ${this.maxLength} positions`,
      );
    }
    const anchors = new Set(policyFlagIds(opts.policy, opts));
    const cache = this.model.createCache({ batch: 1, policy: opts.policy });
    try {
      const size = opts.chunkSize && opts.chunkSize > 0 ? opts.chunkSize : context.length;
      let last: Float32Array = new Float32Array(0);
      for (let s = 0; s < context.length; s += size) {
        const chunk = context.subarray(s, s + size);
        const logits = noGrad(() =>
          this.model.forwardChunk(cache, [chunk], {
            isAnchor: [this.flags(chunk, anchors)],
            lastOnly: true,
          }),
        );
        last = await readAndDispose(logits);
        await cache.settle();
      }
      const results: TokenLogprobs[] = [];
      const usage: CacheUsage[] = [];
      for (const cont of continuations) {
        const r: TokenLogprobs = {
          logprobs: new Float64Array(cont.length),
          greedy: new Uint8Array(cont.length),
        };
        if (cont.length > 0) scoreRows(last, this.vocab, cont.subarray(0, 1), r, 0);
        const c = cache.clone();
        try {
          if (cont.length > 1) {
            const inp = cont.subarray(0, cont.length - 1);
            const logits = noGrad(() =>
              this.model.forwardChunk(c, [inp], { isAnchor: [this.flags(inp, anchors)] }),
            );
            scoreRows(await readAndDispose(logits), this.vocab, cont.subarray(1), r, 1);
            await c.settle();
          }
          const st = c.stats();
          usage.push(
            this.usage(st.peakEntries[0]!, st.fullEntries[0]!, c.bytesPerEntry, st.meanEntries[0]),
          );
        } finally {
          c.dispose();
        }
        results.push(r);
      }
      return { continuations: results, usage };
    } finally {
      cache.dispose();
    }
  }

  /** Greedy generation; baselines ("full", "none") run with full causal attention. */
  async generate(
    prompts: readonly Int32Array[],
    opts: ScorerGenerateOptions,
  ): Promise<GenerateResult> {
    const res: ModelGenerateResult = await generate(this.model, [...prompts], {
      maxNewTokens: opts.maxNewTokens,
      cache: opts.cache,
      anchorIds: [...policyFlagIds(opts.cache, { anchorIds: opts.anchorIds })],
      separatorIds: [...(opts.separatorIds ?? [])],
      chunkSize: opts.chunkSize,
      eosId: opts.eosId ?? -1,
      temperature: 0,
    });
    const perEntry = kvBytesPerEntry(this.model.config);
    const usage = prompts.map((_, b) =>
      this.usage(
        res.stats.peakEntries[b]!,
        res.stats.fullEntries[b]!,
        perEntry,
        res.stats.meanEntries[b],
      ),
    );
    return { tokens: res.tokens, usage, timeMs: res.timeMs, prefillMs: res.prefillMs };
  }

  /** Teacher-forced scoring through a cache of `opts.policy`, chunk by chunk (Scorer). */
  async scoreThroughCache(
    seq: Int32Array,
    opts: CachedOptions,
  ): Promise<{ scores: TokenLogprobs; usage: CacheUsage }> {
    if (seq.length < 2) throw new EvalConfigError("scoreThroughCache: needs at least 2 tokens");
    const flags = new Set(policyFlagIds(opts.policy, opts));
    const cache = this.model.createCache({ batch: 1, policy: opts.policy });
    const n = seq.length - 1;
    const scores: TokenLogprobs = { logprobs: new Float64Array(n), greedy: new Uint8Array(n) };
    try {
      const size = opts.chunkSize && opts.chunkSize > 0 ? opts.chunkSize : n;
      for (let s = 0; s < n; s += size) {
        const chunk = seq.subarray(s, Math.min(n, s + size));
        const logits = noGrad(() =>
          this.model.forwardChunk(cache, [chunk], { isAnchor: [this.flags(chunk, flags)] }),
        );
        const rows = await readAndDispose(logits);
        await cache.settle();
        scoreRows(rows, this.vocab, seq.subarray(s + 1, s + 1 + chunk.length), scores, s);
      }
      const st = cache.stats();
      return {
        scores,
        usage: this.usage(
          st.peakEntries[0]!,
          st.fullEntries[0]!,
          cache.bytesPerEntry,
          st.meanEntries[0],
        ),
      };
    } finally {
      cache.dispose();
    }
  }

  private usage(peak: number, full: number, perEntry: number, mean?: number): CacheUsage {
    return {
      ...(mean !== undefined ? { meanEntries: mean } : {}),
      peakEntries: peak,
      fullEntries: full,
      peakBytes: peak * perEntry,
      fullBytes: full * perEntry,
    };
  }
}
