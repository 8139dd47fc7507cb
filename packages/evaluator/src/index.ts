// Public API of @anllm/evaluator: perplexity (LongLoRA protocol), lm-eval-harness multiple-choice QA,
// K/V cache reduction and speed-up, reports; all written against the small Scorer interface.
// Prompt building, per-request scoring and table helpers stay internal.

export { type AnchorStream, type AnchorStreamOptions, deriveAnchorStream } from "./anchor-stream";
export {
  buildLongPrompt,
  type CacheBenchInput,
  type CacheBenchRow,
  runCacheBench,
} from "./cache-bench";
export {
  DataFormatError,
  EvalConfigError,
  EvaluatorError,
  NonFiniteScoreError,
  ScorerContractError,
} from "./errors";
export { LlamaScorer, type LlamaScorerOptions } from "./llama-scorer";
export {
  type CacheEvalInput,
  heldoutTexts,
  runCacheEval,
  sentenceAnchorTransform,
  textTokenizerOf,
  tokenizeSentences,
} from "./loader-bridge";
export type { CacheReduction } from "./metrics";
export { type PasskeyCell, type PasskeyPrompt, passkeyPrompt, runPasskey } from "./passkey";
export {
  evaluatePerplexity,
  type PerplexityOptions,
  type PerplexityResult,
  windowStarts,
} from "./perplexity";
export { type PplSeries, pplPlotSpec, pplPlotSvg } from "./plot";
export {
  type NamedPolicy,
  type PolicyBenchInput,
  type PolicyBenchReport,
  type PolicyBenchRow,
  policyMarkdownTables,
  type RecallBucket,
  runPolicyBench,
} from "./policy-bench";
export { type PplEvalInput, type PplEvalOutput, runPerplexityEval } from "./ppl-eval";
export { PyRandom } from "./py-random";
export {
  FEWSHOT_FILES,
  findFewshotFile,
  loadTask,
  readTaskFile,
  type TaskData,
  type TaskSource,
} from "./qa-data";
export {
  type DocResult,
  evaluateTask,
  type MeanStderr,
  type QaEvalOptions,
  type TaskResult,
} from "./qa-eval";
export type { PromptOptions } from "./qa-prompts";
export type { QaSpeedReport } from "./qa-speed";
export { type QaAverage, type QaSuiteInput, type QaSuiteResult, runQaEval } from "./qa-suite";
export { type QaDoc, TASK_NAMES, type TaskName } from "./qa-tasks";
export {
  factSentence,
  RECALL_KEY_COUNT,
  RECALL_KEY_IDS,
  RECALL_LAYOUTS,
  RECALL_VALUE_COUNT,
  RECALL_VALUE_IDS,
  type RecallFact,
  type RecallLayout,
  type RecallPrompt,
  type RecallQuery,
  type RecallTrainingOptions,
  recallFacts,
  recallPrompt,
  recallTokenizerJson,
  recallTrainingDocuments,
  type TokenizedFact,
  tokenizeFact,
} from "./recall-task";
export {
  cacheMarkdownTable,
  type EvalReport,
  pplMarkdownTable,
  type QaRow,
  qaMarkdownTable,
  writeReport,
} from "./report";
export type {
  AttentionKind,
  CachedOptions,
  CachePolicy,
  CacheUsage,
  ContinuationScores,
  ForwardOptions,
  GenerateResult,
  Scorer,
  ScorerGenerateOptions,
  TokenLogprobs,
} from "./scorer";
export {
  loadEvalTokens,
  readTokenFile,
  type TextTokenizer,
  type TokenizeOptions,
  type TokenizeReport,
  tokenizeDocuments,
  writeTokenFile,
} from "./token-file";
export { type VisibleCountOptions, VisibleCountScorer } from "./visible-count-scorer";
