// The paper-style long-prompt experiment behind `anllm eval cache`: many-sentence prompts of several
// lengths, then generation with the anchor cache, a full cache and no cache (recompute); reports C and T.
import { EvalConfigError } from "./errors";
import { type CacheReduction, median, summarizeUsage } from "./metrics";
import type { GenerateResult, Scorer, ScorerGenerateOptions } from "./scorer";
import type { TextTokenizer } from "./token-file";

/** Input of {@link runCacheBench}. */
export interface CacheBenchInput {
  scorer: Scorer;
  /** Sentences as token ids (EP: each ends with its anchor) or text (then `tokenizer` is required). */
  sentences: readonly (Int32Array | string)[];
  tokenizer?: TextTokenizer;
  /** Ids that count as anchors. */
  anchorIds: readonly number[];
  /** AnLLM-AC: id appended after every sentence (e.g. the <AC> id). */
  appendAnchorId?: number;
  /** Prompt lengths in tokens (default 1024, 2048, 4096). */
  promptLengths?: readonly number[];
  /** Prompts per length (default 1); prompt i starts at sentence 7 * i. */
  promptsPerLength?: number;
  /** New tokens per prompt (default 32). */
  maxNewTokens?: number;
  /** Prefill chunk size (default 64): the transient chunk is what the anchor cache's peak adds. */
  chunkSize?: number;
  /** Timed repeats per mode; the median is reported (default 1). */
  repeats?: number;
  /** Timed repeats of the no-cache baseline, the slowest mode by far (default: `repeats`). */
  noCacheRepeats?: number;
  /** Prepend this id (e.g. BOS) to every prompt. */
  bosId?: number;
  /** Skip the (slow) no-cache baseline. */
  skipNoCache?: boolean;
}

/** One row of the cache report. */
export interface CacheBenchRow extends CacheReduction {
  promptLength: number;
  prompts: number;
  meanNewTokens: number;
  anchorMs: number;
  fullCacheMs: number;
  noCacheMs?: number;
  /** noCacheMs / anchorMs (the paper's T) */
  tNoCache?: number;
  /** fullCacheMs / anchorMs */
  tFullCache: number;
  /** Fraction of prompts whose full-cache and no-cache generations agree (same model, same attention). */
  baselinesAgree?: number;
}

/** Concatenates sentences (cycling from `offset`) until exactly `length` tokens. */
export function buildLongPrompt(
  sentences: readonly Int32Array[],
  length: number,
  offset = 0,
  appendAnchorId?: number,
  bosId?: number,
): Int32Array {
  if (sentences.length === 0 || sentences.every((s) => s.length === 0)) {
    throw new EvalConfigError("buildLongPrompt: no sentence tokens");
  }
  const out: number[] = bosId !== undefined ? [bosId] : [];
  for (let i = offset; out.length < length; i++) {
    out.push(...sentences[i % sentences.length]!);
    if (appendAnchorId !== undefined) out.push(appendAnchorId);
  }
  return Int32Array.from(out.slice(0, length));
}

async function timed(
  scorer: Scorer,
  prompts: Int32Array[],
  opts: ScorerGenerateOptions,
  repeats: number,
): Promise<{ result: GenerateResult; ms: number }> {
  const times: number[] = [];
  let result: GenerateResult | undefined;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    result = await scorer.generate(prompts, opts);
    times.push(performance.now() - t0);
  }
  return { result: result!, ms: median(times) };
}

const same = (a: Int32Array, b: Int32Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Runs the experiment at every prompt length; each mode gets an untimed warm-up first. */
export async function runCacheBench(input: CacheBenchInput): Promise<CacheBenchRow[]> {
  const sentences = input.sentences.map((s) => {
    if (typeof s !== "string") return s;
    if (!input.tokenizer) throw new EvalConfigError("text sentences need a tokenizer");
    return Int32Array.from(input.tokenizer.encode(s));
  });
  const base = {
    maxNewTokens: input.maxNewTokens ?? 32,
    anchorIds: input.anchorIds,
    chunkSize: input.chunkSize ?? 64,
  };
  const repeats = input.repeats ?? 1;
  const warm = [
    buildLongPrompt(sentences, Math.min(64, input.scorer.maxLength), 0, input.appendAnchorId),
  ];
  const modes: ScorerGenerateOptions["cache"][] = input.skipNoCache
    ? ["anchor", "full"]
    : ["anchor", "full", "none"];
  for (const cache of modes) {
    await input.scorer.generate(warm, { ...base, maxNewTokens: 2, cache });
  }
  const rows: CacheBenchRow[] = [];
  for (const length of input.promptLengths ?? [1024, 2048, 4096]) {
    if (length + base.maxNewTokens > input.scorer.maxLength) {
      throw new EvalConfigError(
        `prompt ${length} + ${base.maxNewTokens} new tokens exceeds max length ${input.scorer.maxLength}`,
      );
    }
    const prompts = Array.from({ length: input.promptsPerLength ?? 1 }, (_, i) =>
      buildLongPrompt(sentences, length, 7 * i, input.appendAnchorId, input.bosId),
    );
    const anchor = await timed(input.scorer, prompts, { ...base, cache: "anchor" }, repeats);
    const full = await timed(input.scorer, prompts, { ...base, cache: "full" }, repeats);
    const none = input.skipNoCache
      ? undefined
      : await timed(
          input.scorer,
          prompts,
          { ...base, cache: "none" },
          input.noCacheRepeats ?? repeats,
        );
    const reduction = summarizeUsage(anchor.result.usage.map((u) => [u]));
    rows.push({
      promptLength: length,
      prompts: prompts.length,
      meanNewTokens: anchor.result.tokens.reduce((a, t) => a + t.length, 0) / prompts.length,
      ...reduction,
      anchorMs: anchor.ms,
      fullCacheMs: full.ms,
      tFullCache: full.ms / anchor.ms,
      ...(none
        ? {
            noCacheMs: none.ms,
            tNoCache: none.ms / anchor.ms,
            baselinesAgree:
              prompts.filter((_, i) => same(full.result.tokens[i]!, none.result.tokens[i]!))
                .length / prompts.length,
          }
        : {}),
    });
  }
  return rows;
}
