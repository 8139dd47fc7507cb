// Text generation (the paper's Algorithm 1, apps/docs/guide/method.md): prefill the prompts in
// chunks, then decode one token per step, reducing the anchor cache after each chunk; or recompute
// without a cache.
import type { CachePolicy } from "@anllm/anchor-mask";
import { noGrad, seededRandom, type Tensor, tidy } from "@anllm/tensor";
import { ModelInputError } from "./errors";
import type { CacheStats, KVCache } from "./kv-cache";
import { linear, pickRows } from "./layers";
import type { Llama2 } from "./model";
import { type SampleOptions, sampleToken } from "./sampling";
import { kvBytesPerEntry } from "./spec";

/** Options of `generate`. */
export interface GenerateOptions extends SampleOptions {
  maxNewTokens: number;
  seed?: number;
  /** stop a sequence after it emits this id (default config.eosTokenId; -1 = never) */
  eosId?: number;
  /** token ids that count as anchors (EP ids or the AC token) */
  anchorIds?: number[];
  /**
   * "anchor": reduced cache; "full": full cache, causal attention; "none": recompute each step;
   * or an anchor-mask cache policy (sink, sepllm, h2o, ...)
   */
  cache: "anchor" | "full" | "none" | CachePolicy;
  /** token ids that are separators (sepllm's flags) */
  separatorIds?: number[];
  /** prefill chunk size (default: whole prompt) */
  chunkSize?: number;
  /** cache option: rotary positions after a drop (default "original") */
  positions?: "original" | "compacted";
  /** cache option: original-position ranges [start, end) kept in full */
  keepFull?: [number, number][];
  /**
   * attention rule; default "anchor" for cache "anchor", "causal" for cache "full", and for
   * "none" "anchor" when anchorIds are given (else "causal")
   */
  attention?: "anchor" | "causal";
  /**
   * Called (and awaited) after each cached forward step: every prefill chunk (before its tokens'
   * successors are picked) and every generated token. Lets a page show the cache as it evolves.
   * Not called with cache "none".
   */
  onStep?: (step: GenerateStep) => void | Promise<void>;
}

/** What {@link GenerateOptions.onStep} sees: the new tokens so far and the live cache. */
export interface GenerateStep {
  /** "prefill" after a prompt chunk, "decode" after a generated token was fed */
  phase: "prefill" | "decode";
  /** tokens generated so far, per sequence */
  generated: readonly (readonly number[])[];
  /** the cache after this step's reduction (read it, do not keep or dispose it) */
  cache: KVCache;
}

/** Result of `generate`: new tokens per prompt (EOS included if emitted). */
export interface GenerateResult {
  tokens: Int32Array[];
  stats: CacheStats;
  timeMs: number;
  /** time until the first new token was picked (the prefill, or the first recompute) */
  prefillMs: number;
}

function flagsOf(ids: ArrayLike<number>, anchors: Set<number>): Uint8Array {
  return Uint8Array.from(ids as ArrayLike<number>, (t) => (anchors.has(t) ? 1 : 0));
}

/** Last-row logits of each sequence, read back: [batch][vocabSize]. */
async function readRows(logits: Tensor, batch: number, vocab: number): Promise<Float32Array[]> {
  const data = (await logits.data()) as Float32Array;
  logits.dispose();
  return Array.from({ length: batch }, (_, b) => data.subarray(b * vocab, (b + 1) * vocab));
}

/**
 * Generate up to maxNewTokens per prompt (batch = prompts.length, ragged prompts allowed).
 * Seeded: the same options give the same tokens.
 */
export async function generate(
  model: Llama2,
  prompts: Int32Array[],
  opts: GenerateOptions,
): Promise<GenerateResult> {
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) {
    throw new ModelInputError("generate: every prompt needs at least one token");
  }
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) {
    throw new ModelInputError(
      `generate: maxNewTokens must be an integer >= 0, got ${opts.maxNewTokens}`,
    );
  }
  if (opts.chunkSize !== undefined && !(Number.isInteger(opts.chunkSize) && opts.chunkSize > 0)) {
    throw new ModelInputError(
      `generate: chunkSize must be a positive integer, got ${opts.chunkSize}`,
    );
  }
  const t0 = performance.now();
  const anchors = new Set(opts.anchorIds ?? []);
  const rng = seededRandom(opts.seed ?? 0);
  const eos = opts.eosId ?? model.config.eosTokenId;
  const out: number[][] = prompts.map(() => []);
  const done = prompts.map(() => opts.maxNewTokens <= 0);
  let prefillMs = -1;
  const pick = (rows: Float32Array[]) => {
    if (prefillMs < 0) prefillMs = performance.now() - t0;
    rows.forEach((row, b) => {
      if (done[b]) return;
      const t = sampleToken(row, opts, rng);
      const o = out[b] as number[];
      o.push(t);
      if (t === eos || o.length >= opts.maxNewTokens) done[b] = true;
    });
  };
  const stats =
    opts.cache === "none"
      ? await runRecompute(model, prompts, out, done, anchors, pick, opts.attention)
      : await runCached(model, prompts, out, done, anchors, pick, opts);
  const timeMs = performance.now() - t0;
  return {
    tokens: out.map((o) => Int32Array.from(o)),
    stats,
    timeMs,
    prefillMs: prefillMs < 0 ? timeMs : prefillMs,
  };
}

type Pick = (rows: Float32Array[]) => void;

async function runCached(
  model: Llama2,
  prompts: Int32Array[],
  out: number[][],
  done: boolean[],
  anchorSet: Set<number>,
  pick: Pick,
  opts: GenerateOptions,
): Promise<CacheStats> {
  const batch = prompts.length;
  const vocab = model.config.vocabSize;
  let anchors = anchorSet;
  const policy = opts.cache as Exclude<GenerateOptions["cache"], "none">;
  // a policy's per-token flags: separators for sepllm, anchors otherwise
  if (typeof policy === "object" && policy.kind === "sepllm") anchors = new Set(opts.separatorIds);
  const cache = model.createCache({
    batch,
    policy,
    positions: opts.positions,
    keepFull: opts.keepFull,
    attention: opts.attention,
  });
  try {
    const maxLen = Math.max(...prompts.map((p) => p.length));
    const size = opts.chunkSize ?? maxLen;
    let last: Float32Array[] = [];
    for (let s = 0; s < maxLen; s += size) {
      const chunks = prompts.map((p) =>
        p.subarray(Math.min(s, p.length), Math.min(s + size, p.length)),
      );
      const logits = noGrad(() =>
        model.forwardChunk(cache, chunks, {
          isAnchor: chunks.map((c) => flagsOf(c, anchors)),
          lastOnly: true,
        }),
      );
      const rows = await readRows(logits, batch, vocab);
      await cache.settle();
      // a sequence whose prompt ended in this chunk takes its next-token logits from here
      last = rows.map((r, b) =>
        (chunks[b] as Int32Array).length > 0 ? r.slice() : (last[b] as Float32Array),
      );
      await opts.onStep?.({ phase: "prefill", generated: out, cache });
    }
    pick(last);
    while (!done.every(Boolean)) {
      const chunks = out.map((o, b) =>
        done[b] ? new Int32Array(0) : Int32Array.of(o[o.length - 1] as number),
      );
      const logits = noGrad(() =>
        model.forwardChunk(cache, chunks, {
          isAnchor: chunks.map((c) => flagsOf(c, anchors)),
          lastOnly: true,
        }),
      );
      const rows = await readRows(logits, batch, vocab);
      await cache.settle();
      await opts.onStep?.({ phase: "decode", generated: out, cache });
      pick(rows);
    }
    return cache.stats();
  } finally {
    cache.dispose();
  }
}

async function runRecompute(
  model: Llama2,
  prompts: Int32Array[],
  out: number[][],
  done: boolean[],
  anchors: Set<number>,
  pick: Pick,
  attentionOpt: "anchor" | "causal" | undefined,
): Promise<CacheStats> {
  const batch = prompts.length;
  const c = model.config;
  const attention = attentionOpt ?? (anchors.size > 0 ? "anchor" : "causal");
  let peak = 0;
  let fed = prompts.map((p) => p.length);
  while (!done.every(Boolean)) {
    const all = prompts.map((p, b) => Int32Array.from([...p, ...(out[b] as number[])]));
    fed = all.map((s) => s.length);
    const seqLen = Math.max(...fed);
    const inputIds = new Int32Array(batch * seqLen);
    const isAnchor = new Uint8Array(batch * seqLen);
    all.forEach((s, b) => {
      inputIds.set(s, b * seqLen);
      isAnchor.set(flagsOf(s, anchors), b * seqLen);
    });
    peak = Math.max(
      peak,
      fed.reduce((a, n) => a + n, 0),
    );
    const lengths = Int32Array.from(fed);
    const logits = noGrad(() =>
      tidy(() => {
        const { hidden } = model.hidden({ inputIds, batch, seqLen, attention, isAnchor, lengths });
        return linear(
          pickRows(
            hidden,
            Int32Array.from(fed, (n) => n - 1),
          ),
          model.headWeight(),
        );
      }),
    );
    pick(await readRows(logits, batch, c.vocabSize));
  }
  const bytesPerEntry = kvBytesPerEntry(c);
  return {
    entries: fed.map(() => 0),
    bytes: 0,
    meanEntries: fed.map(() => 0),
    peakEntries: fed,
    peakBytes: peak * bytesPerEntry,
    fullEntries: fed,
    fullBytes: fed.reduce((a, n) => a + n, 0) * bytesPerEntry,
    allocatedBytes: 0,
  };
}
