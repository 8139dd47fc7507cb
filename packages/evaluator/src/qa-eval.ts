// Multiple-choice QA evaluation: harness prompts -> token requests -> scores (full attention, anchor
// mask, or anchor cache) -> acc / acc_norm, plus cache reduction C and speed-up T for anchor runs.
import { EvalConfigError } from "./errors";
import { type CacheReduction, summarizeUsage } from "./metrics";
import { encodeRequest, type PromptOptions, prepareDocs, type TokenRequest } from "./qa-prompts";
import { type RequestScore, scoreCached, scoreRecompute } from "./qa-scoring";
import { measureQaSpeed, type QaSpeedReport } from "./qa-speed";
import { type QaDoc, type TaskName, taskMetrics } from "./qa-tasks";
import type { CachePolicy, Scorer } from "./scorer";
import type { TextTokenizer } from "./token-file";

/** Options of {@link evaluateTask}. */
export interface QaEvalOptions extends PromptOptions {
  /** "full" = causal attention (from scratch); "anchor" = AnLLM anchor attention ("AnSAN"). */
  attention: "full" | "anchor";
  anchorIds?: readonly number[];
  /** For attention "anchor": "cache" (prefill into the reduced cache, default) or "mask" (masked forward). */
  inference?: "cache" | "mask";
  /** Prepend BOS (0.4 behaviour); default false as pre-0.4 `hf-causal-experimental`. */
  bos?: boolean;
  /** Harness max_length (default: the scorer's maxLength). */
  maxLength?: number;
  /** Requests per from-scratch forward (default 1). */
  batchSize?: number;
  /** Prefill chunk size of the cached path (default: whole context). */
  chunkSize?: number;
  /** Anchor cache runs: also time the no-cache and full-cache baselines (default true). */
  measureSpeed?: boolean;
  /** Time the baselines on the first N documents only (default all); T compares the same N. */
  speedDocs?: number;
  /** Anchor cache runs: also score with the anchor mask only and compare (default false). */
  verifyMask?: boolean;
  /**
   * Score through a cache of this policy (cached path; `attention` then only labels the run and
   * the timing baselines are skipped unless the policy is "anchor").
   */
  policy?: CachePolicy;
  /** Separator ids (sepllm's flags). */
  separatorIds?: readonly number[];
}

/** Per-document outcome. */
export interface DocResult {
  index: number;
  id: string;
  gold: number;
  lls: number[];
  pred: number;
  acc: number;
  accNorm?: number;
}

/** Mean and harness standard error (sample stddev / sqrt(n)). */
export interface MeanStderr {
  mean: number;
  stderr: number;
}

/** Result of one task. */
export interface TaskResult {
  task: TaskName;
  n: number;
  numFewshot: number;
  attention: "full" | "anchor";
  inference: "recompute" | "mask" | "cache";
  /** the cache policy scored with (policy runs) */
  policy?: string;
  acc: MeanStderr;
  accNorm?: MeanStderr;
  truncatedRequests: number;
  cache?: CacheReduction;
  speed?: QaSpeedReport;
  /** Anchor cache vs mask-only scores of the same requests. */
  maskCheck?: { maxAbsDiff: number; predictionAgreement: number };
  timeMs: number;
  docs: DocResult[];
}

/** Index of the first maximum (numpy argmax). */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

function meanStderr(xs: readonly number[]): MeanStderr {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const v = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, stderr: Math.sqrt(v / n) };
}

/** acc (and acc_norm by code-point length) of one document from its log-likelihoods. */
export function scoreDoc(
  doc: QaDoc,
  lls: readonly number[],
): { pred: number; acc: number; accNorm?: number } {
  if (doc.kind === "boolq") {
    const pred = lls[0]! > lls[1]! ? 0 : 1;
    return { pred, acc: pred === doc.gold ? 1 : 0 };
  }
  const pred = argmax(lls);
  if (doc.kind === "winogrande") return { pred, acc: pred === doc.gold ? 1 : 0 };
  const norm = argmax(lls.map((ll, i) => ll / [...doc.choices[i]!].length));
  return { pred, acc: pred === doc.gold ? 1 : 0, accNorm: norm === doc.gold ? 1 : 0 };
}

/** Evaluates one task's documents (already loaded) with the harness rules. */
export async function evaluateTask(
  scorer: Scorer,
  tokenizer: TextTokenizer,
  task: TaskName,
  docs: readonly QaDoc[],
  trainDocs: readonly QaDoc[] | undefined,
  opts: QaEvalOptions,
): Promise<TaskResult> {
  const anchorIds = opts.anchorIds ?? [];
  const policyKind =
    opts.policy === undefined
      ? undefined
      : typeof opts.policy === "string"
        ? opts.policy
        : opts.policy.kind;
  if (
    (policyKind === undefined ? opts.attention === "anchor" : policyKind === "anchor") &&
    anchorIds.length === 0
  ) {
    throw new EvalConfigError(
      "anchor attention needs anchorIds (e.g. [29889] for EP, the <AC> id for AC)",
    );
  }
  const maxLength = opts.maxLength ?? scorer.maxLength;
  const prepared = prepareDocs(docs, trainDocs, opts);
  const perDoc: TokenRequest[][] = prepared.map((p) =>
    p.requests.map((r) => encodeRequest(tokenizer, r, { bos: opts.bos, maxLength })),
  );
  const inference = opts.policy
    ? "cache"
    : opts.attention === "full"
      ? "recompute"
      : (opts.inference ?? "cache");
  const { scores, docMs } = await scoreAll(scorer, perDoc, inference, anchorIds, opts);
  const timeMs = docMs.reduce((a, b) => a + b, 0);
  const docResults: DocResult[] = prepared.map((p, i) => {
    const lls = scores[i]!.map((s) => s.ll);
    return { index: p.index, id: p.doc.id, gold: p.doc.gold, lls, ...scoreDoc(p.doc, lls) };
  });
  const metrics = taskMetrics(task);
  const result: TaskResult = {
    task,
    n: docResults.length,
    numFewshot: opts.numFewshot,
    attention: opts.attention,
    inference,
    ...(policyKind !== undefined ? { policy: policyKind } : {}),
    acc: meanStderr(docResults.map((d) => d.acc)),
    ...(metrics.includes("acc_norm")
      ? { accNorm: meanStderr(docResults.map((d) => d.accNorm!)) }
      : {}),
    truncatedRequests: perDoc.flat().filter((r) => r.truncated > 0).length,
    timeMs,
    docs: docResults,
  };
  if (inference === "cache") {
    result.cache = summarizeUsage(scores.map((s) => s.map((r) => r.usage!)));
    if ((opts.measureSpeed ?? true) && (policyKind ?? "anchor") === "anchor") {
      const n = Math.min(perDoc.length, opts.speedDocs ?? perDoc.length);
      const anchorMs = docMs.slice(0, n).reduce((a, b) => a + b, 0);
      result.speed = await measureQaSpeed(scorer, perDoc.slice(0, n), anchorIds, anchorMs, opts);
    }
    if (opts.verifyMask && (policyKind ?? "anchor") === "anchor") {
      const docList = prepared.map((p) => p.doc);
      result.maskCheck = await maskCheck(scorer, perDoc, scores, docList, anchorIds, opts);
    }
  }
  return result;
}

/** Scores every document's requests in `inference` mode, timing each document. */
async function scoreAll(
  scorer: Scorer,
  perDoc: readonly TokenRequest[][],
  inference: TaskResult["inference"],
  anchorIds: readonly number[],
  opts: QaEvalOptions,
): Promise<{ scores: RequestScore[][]; docMs: number[] }> {
  const run = async (reqs: TokenRequest[]): Promise<RequestScore[]> => {
    if (inference === "cache")
      return scoreCached(
        scorer,
        reqs,
        opts.policy ?? "anchor",
        anchorIds,
        opts.chunkSize,
        opts.separatorIds,
      );
    const attention = inference === "mask" ? "anchor" : "causal";
    return scoreRecompute(scorer, reqs, attention, anchorIds, opts.batchSize);
  };
  if (inference === "cache" && (opts.measureSpeed ?? true) && perDoc.length > 0) {
    await run(perDoc[0]!); // untimed warm-up, as for the baselines in measureQaSpeed
  }
  const scores: RequestScore[][] = [];
  const docMs: number[] = [];
  for (const reqs of perDoc) {
    const t0 = performance.now();
    scores.push(await run(reqs));
    docMs.push(performance.now() - t0);
  }
  return { scores, docMs };
}

async function maskCheck(
  scorer: Scorer,
  perDoc: TokenRequest[][],
  cached: RequestScore[][],
  docs: QaDoc[],
  anchorIds: readonly number[],
  opts: QaEvalOptions,
): Promise<{ maxAbsDiff: number; predictionAgreement: number }> {
  let maxAbsDiff = 0;
  let agree = 0;
  for (let d = 0; d < perDoc.length; d++) {
    const masked = await scoreRecompute(scorer, perDoc[d]!, "anchor", anchorIds, opts.batchSize);
    masked.forEach((m, k) => {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(m.ll - cached[d]![k]!.ll));
    });
    const a = scoreDoc(
      docs[d]!,
      masked.map((m) => m.ll),
    ).pred;
    const b = scoreDoc(
      docs[d]!,
      cached[d]!.map((m) => m.ll),
    ).pred;
    if (a === b) agree++;
  }
  return { maxAbsDiff, predictionAgreement: agree / perDoc.length };
}
