// Runs several QA tasks with one configuration and averages them: the function behind `anllm eval qa`.
import { EvalConfigError } from "./errors";
import { loadTask, type TaskSource } from "./qa-data";
import { evaluateTask, type QaEvalOptions, type TaskResult } from "./qa-eval";
import type { TaskName } from "./qa-tasks";
import type { Scorer } from "./scorer";
import type { TextTokenizer } from "./token-file";

/** Input of {@link runQaEval}. */
export interface QaSuiteInput extends QaEvalOptions {
  scorer: Scorer;
  tokenizer: TextTokenizer;
  /** Task -> files; tasks run in the given key order. */
  tasks: Partial<Record<TaskName, TaskSource>>;
  /** Keep per-document results in the output (default false: only aggregates). */
  keepDocs?: boolean;
}

/** Averages over the tasks that ran. */
export interface QaAverage {
  /** mean of per-task acc */
  acc: number;
  /** mean of acc_norm where the task has it, acc otherwise */
  accNormOrAcc: number;
  /** mean cache reduction C over tasks (anchor cache runs) */
  C?: number;
  tNoCache?: number;
  tFullCache?: number;
  tasks: number;
}

/** Output of {@link runQaEval}. */
export interface QaSuiteResult {
  model: string;
  numFewshot: number;
  attention: "full" | "anchor";
  results: TaskResult[];
  average: QaAverage;
}

/** Mean of a list, undefined when empty. */
function mean(xs: number[]): number | undefined {
  return xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
}

/** Loads and evaluates every task, then averages (paper Table 1 row). */
export async function runQaEval(input: QaSuiteInput): Promise<QaSuiteResult> {
  if (input.numFewshot > 0) {
    const missing = Object.entries(input.tasks)
      .filter(([, s]) => !s?.train)
      .map(([t]) => t);
    if (missing.length > 0)
      throw new EvalConfigError(
        `${input.numFewshot}-shot needs each task's training split for the demonstrations (the harness never draws them from the scored split); none given for ${missing.join(", ")}`,
      );
  }
  const results: TaskResult[] = [];
  for (const [task, source] of Object.entries(input.tasks) as [TaskName, TaskSource][]) {
    const data = await loadTask(task, source);
    const r = await evaluateTask(
      input.scorer,
      input.tokenizer,
      task,
      data.docs,
      data.trainDocs,
      input,
    );
    results.push(input.keepDocs ? r : { ...r, docs: [] });
  }
  return {
    model: input.scorer.name,
    numFewshot: input.numFewshot,
    attention: input.attention,
    results,
    average: averageResults(results),
  };
}

/** Average row over task results. */
export function averageResults(results: readonly TaskResult[]): QaAverage {
  const avg: QaAverage = {
    acc: mean(results.map((r) => r.acc.mean)) ?? Number.NaN,
    accNormOrAcc: mean(results.map((r) => (r.accNorm ?? r.acc).mean)) ?? Number.NaN,
    tasks: results.length,
  };
  const c = mean(results.flatMap((r) => (r.cache ? [r.cache.C] : [])));
  const tn = mean(results.flatMap((r) => (r.speed ? [r.speed.tNoCache] : [])));
  const tf = mean(results.flatMap((r) => (r.speed ? [r.speed.tFullCache] : [])));
  if (c !== undefined) avg.C = c;
  if (tn !== undefined) avg.tNoCache = tn;
  if (tf !== undefined) avg.tFullCache = tf;
  return avg;
}
