// `anllm eval cache --policy a,b,...`: KV-cache policies side by side on one model and the same
// prompts. Per prompt length and policy: kept entries and bytes (peak and mean over the steps, C
// against the full cache), decode time per token and its speed-up against the full cache and no
// cache (T), perplexity through the cache (teacher-forced, chunk by chunk, the policy applied
// after every chunk) beside the full cache's on the same prompt, and associative-recall accuracy
// by distance (recall-task.ts). With facts the prompt of a length is one recall document (its
// restated facts are the queries), scored once per policy for both perplexity and recall;
// without, a prompt of text sentences. Times are medians of `repeats` runs in one process.
import type { CachePolicy as PolicySpec } from "@anllm/anchor-mask";
import { buildLongPrompt } from "./cache-bench";
import { EvalConfigError } from "./errors";
import { median } from "./metrics";
import { type RecallPrompt, recallPrompt, type TokenizedFact } from "./recall-task";
import type { CachedOptions, GenerateResult, Scorer, ScorerGenerateOptions } from "./scorer";

/** A named policy of the comparison (name = what the table shows, e.g. `sink`). */
export interface NamedPolicy {
  name: string;
  /** the full specification (`parsePolicy` text), for the report */
  spec: string;
  policy: PolicySpec;
}

/** Input of {@link runPolicyBench}. */
export interface PolicyBenchInput {
  scorer: Scorer;
  policies: readonly NamedPolicy[];
  /** Text sentences as token ids (perplexity and timing prompts). */
  sentences: readonly Int32Array[];
  /** Facts for the recall prompts (distinct keys, enough to fill the longest prompt); none = skip. */
  facts?: readonly TokenizedFact[];
  anchorIds: readonly number[];
  separatorIds: readonly number[];
  /** AnLLM-AC: id appended after every sentence and fact. */
  appendAnchorId?: number;
  bosId?: number;
  promptLengths: readonly number[];
  /** Recall distances in tokens (default 16, 64, 256, 1024, 2048 below each prompt length). */
  distances?: readonly number[];
  /** Recall queries per distance in each prompt (default 8). */
  queriesPerDistance?: number;
  /** New tokens per timed generation (default 8). */
  maxNewTokens?: number;
  /** Prefill / scoring chunk (default 64). */
  chunkSize?: number;
  repeats?: number;
  skipNoCache?: boolean;
  /** called before each measurement (progress on stderr) */
  onProgress?: (what: string) => void;
}

/** Recall accuracy at one distance bucket. */
export interface RecallBucket {
  /** the distance asked for (tokens) */
  distance: number;
  /** mean distance of the queries placed for it */
  meanDistance: number;
  correct: number;
  total: number;
  accuracy: number;
}

/** One row of the comparison: one policy at one prompt length. */
export interface PolicyBenchRow {
  promptLength: number;
  policy: string;
  spec: string;
  /** K/V entries: peak (chunk rows included) and mean after each step, while generating */
  peakEntries: number;
  meanEntries: number;
  fullEntries: number;
  peakBytes: number;
  meanBytes: number;
  fullBytes: number;
  /** 1 - peakEntries / fullEntries (the paper's C) */
  C: number;
  /** 1 - meanEntries / fullEntries */
  Cmean: number;
  /** decode time per new token (ms, median of repeats; prefill excluded) */
  msPerToken: number;
  prefillMs: number;
  /** full cache's msPerToken / this policy's */
  tFullCache: number;
  /** no cache's msPerToken / this policy's (absent with skipNoCache) */
  tNoCache?: number;
  /** perplexity of the text window scored through this policy's cache */
  ppl: number;
  /** perplexity of the same window through the full cache */
  pplFull: number;
  recall: RecallBucket[];
}

/** The whole comparison: rows plus the no-cache baseline per prompt length. */
export interface PolicyBenchReport {
  rows: PolicyBenchRow[];
  noCache: { promptLength: number; msPerToken: number; prefillMs: number }[];
  settings: {
    maxNewTokens: number;
    chunkSize: number;
    repeats: number;
    distances: number[];
    /** what the prompts were: the recall document (facts given) or text sentences */
    prompt: "recall document" | "text sentences";
  };
}

const DEFAULT_DISTANCES = [16, 64, 256, 1024, 2048];

async function timedGenerate(
  scorer: Scorer,
  prompt: Int32Array,
  opts: ScorerGenerateOptions,
  repeats: number,
): Promise<{ result: GenerateResult; msPerToken: number; prefillMs: number }> {
  const per: number[] = [];
  const pre: number[] = [];
  let result: GenerateResult | undefined;
  for (let r = 0; r < repeats; r++) {
    result = await scorer.generate([prompt], opts);
    const n = result.tokens[0]?.length ?? 0;
    const prefill = result.prefillMs ?? 0;
    pre.push(prefill);
    per.push(n > 1 ? (result.timeMs - prefill) / (n - 1) : result.timeMs);
  }
  return { result: result as GenerateResult, msPerToken: median(per), prefillMs: median(pre) };
}

async function throughCache(scorer: Scorer, seq: Int32Array, opts: CachedOptions) {
  if (!scorer.scoreThroughCache)
    throw new EvalConfigError(`scorer ${scorer.name} cannot score through a cache`);
  return scorer.scoreThroughCache(seq, opts);
}

function perplexity(logprobs: Float64Array): number {
  let s = 0;
  for (const x of logprobs) s += x;
  return Math.exp(-s / logprobs.length);
}

function recallBuckets(prompt: RecallPrompt, greedy: Uint8Array): RecallBucket[] {
  const by = new Map<number, { d: number; ok: number; n: number }>();
  for (const q of prompt.queries) {
    let ok = true;
    // answer token t is predicted from position t - 1
    for (let t = q.answerAt; t < q.answerAt + q.answerLength; t++) if (!greedy[t - 1]) ok = false;
    const b = by.get(q.target) ?? { d: 0, ok: 0, n: 0 };
    b.d += q.distance;
    b.ok += ok ? 1 : 0;
    b.n += 1;
    by.set(q.target, b);
  }
  return [...by.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([distance, b]) => ({
      distance,
      meanDistance: b.d / b.n,
      correct: b.ok,
      total: b.n,
      accuracy: b.ok / b.n,
    }));
}

/** Runs every policy at every prompt length (see the file comment). */
export async function runPolicyBench(input: PolicyBenchInput): Promise<PolicyBenchReport> {
  const maxNewTokens = input.maxNewTokens ?? 8;
  const chunkSize = input.chunkSize ?? 64;
  const repeats = input.repeats ?? 1;
  const distances = [...(input.distances ?? DEFAULT_DISTANCES)];
  if (input.policies.length === 0) throw new EvalConfigError("--policy: no policy given");
  const ids = { anchorIds: input.anchorIds, separatorIds: input.separatorIds };
  const gen = (cache: ScorerGenerateOptions["cache"]): ScorerGenerateOptions => ({
    maxNewTokens,
    cache,
    chunkSize,
    ...ids,
  });
  // untimed warm-up of every path (kernels compiled, buffers allocated)
  const warm = buildLongPrompt(input.sentences, Math.min(64, input.scorer.maxLength), 0);
  for (const p of input.policies)
    await input.scorer.generate([warm], { ...gen(p.policy), maxNewTokens: 2 });
  if (!input.skipNoCache) await input.scorer.generate([warm], { ...gen("none"), maxNewTokens: 2 });
  const rows: PolicyBenchRow[] = [];
  const noCache: PolicyBenchReport["noCache"] = [];
  for (const length of input.promptLengths) {
    if (length + maxNewTokens > input.scorer.maxLength)
      throw new EvalConfigError(
        `prompt ${length} + ${maxNewTokens} new tokens exceeds max length ${input.scorer.maxLength}`,
      );
    const here = distances.filter((d) => d < length);
    // with facts, one recall document is the prompt for timing, perplexity and recall alike
    const recall = input.facts
      ? recallPrompt(input.facts, length, here, {
          ...input,
          perDistance: input.queriesPerDistance ?? 8,
        })
      : null;
    const prompt =
      recall?.ids ?? buildLongPrompt(input.sentences, length, 0, input.appendAnchorId, input.bosId);
    const score = (policy: CachedOptions["policy"]) =>
      throughCache(input.scorer, prompt, { policy, chunkSize, ...ids });
    input.onProgress?.(`prompt ${length}: full cache`);
    const full = await timedGenerate(input.scorer, prompt, gen("full"), repeats);
    const fullScores = await score("full");
    const fullPpl = perplexity(fullScores.scores.logprobs);
    if (!input.skipNoCache) {
      input.onProgress?.(`prompt ${length}: no cache`);
      const none = await timedGenerate(input.scorer, prompt, gen("none"), repeats);
      noCache.push({
        promptLength: length,
        msPerToken: none.msPerToken,
        prefillMs: none.prefillMs,
      });
    }
    const noneMs = noCache.find((n) => n.promptLength === length)?.msPerToken;
    for (const p of input.policies) {
      input.onProgress?.(`prompt ${length}: ${p.spec}`);
      const t =
        p.spec === "full"
          ? full
          : await timedGenerate(input.scorer, prompt, gen(p.policy), repeats);
      const u = t.result.usage[0];
      if (!u) throw new EvalConfigError("generate reported no cache usage");
      const scored = p.spec === "full" ? fullScores : await score(p.policy);
      const buckets = recall ? recallBuckets(recall, scored.scores.greedy) : [];
      const perEntry = u.fullEntries > 0 ? u.fullBytes / u.fullEntries : 0;
      const mean = u.meanEntries ?? u.peakEntries;
      rows.push({
        promptLength: length,
        policy: p.name,
        spec: p.spec,
        peakEntries: u.peakEntries,
        meanEntries: mean,
        fullEntries: u.fullEntries,
        peakBytes: u.peakBytes,
        meanBytes: mean * perEntry,
        fullBytes: u.fullBytes,
        C: 1 - u.peakEntries / u.fullEntries,
        Cmean: 1 - mean / u.fullEntries,
        msPerToken: t.msPerToken,
        prefillMs: t.prefillMs,
        tFullCache: full.msPerToken / t.msPerToken,
        ...(noneMs !== undefined ? { tNoCache: noneMs / t.msPerToken } : {}),
        ppl: perplexity(scored.scores.logprobs),
        pplFull: fullPpl,
        recall: buckets,
      });
    }
  }
  return {
    rows,
    noCache,
    settings: {
      maxNewTokens,
      chunkSize,
      repeats,
      distances,
      prompt: input.facts ? "recall document" : "text sentences",
    },
  };
}

/** One Markdown table per prompt length (policies as rows). */
export function policyMarkdownTables(report: PolicyBenchReport): string {
  const lengths = [...new Set(report.rows.map((r) => r.promptLength))];
  const distances = [...new Set(report.rows.flatMap((r) => r.recall.map((b) => b.distance)))].sort(
    (a, b) => a - b,
  );
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  const out: string[] = [];
  for (const L of lengths) {
    const none = report.noCache.find((n) => n.promptLength === L);
    out.push(
      `### Prompt ${L} tokens${none ? ` (no cache: ${none.msPerToken.toFixed(1)} ms/token)` : ""}`,
      "",
      `| policy | peak entries | mean entries | peak bytes | C | C (mean) | ms/token | T vs full | T vs none | ppl | ppl (full cache) | ${distances.map((d) => `recall@${d}`).join(" | ")} |`,
      `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|${distances.map(() => "---:").join("|")}|`,
    );
    for (const r of report.rows.filter((x) => x.promptLength === L)) {
      const rec = distances.map((d) => {
        const b = r.recall.find((x) => x.distance === d);
        return b ? `${pct(b.accuracy)} (${b.correct}/${b.total})` : "-";
      });
      out.push(
        `| ${r.policy} | ${r.peakEntries} | ${r.meanEntries.toFixed(0)} | ${kib(r.peakBytes)} | ${pct(r.C)} | ${pct(r.Cmean)} | ${r.msPerToken.toFixed(1)} | ${r.tFullCache.toFixed(2)} | ${r.tNoCache !== undefined ? r.tNoCache.toFixed(2) : "-"} | ${r.ppl.toFixed(2)} | ${r.pplFull.toFixed(2)} | ${rec.join(" | ")} |`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}
