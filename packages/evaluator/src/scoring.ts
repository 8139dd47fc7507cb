// Browser-safe entry (@anllm/evaluator/scoring): the Scorer contract, the Llama2 scorer and the
// visible-count scorer, perplexity over token ids, anchor streams and cache-usage metrics. The main
// entry adds what reads data files (QA tasks, token files, reports) and runs in Node.
export { type AnchorStream, type AnchorStreamOptions, deriveAnchorStream } from "./anchor-stream";
export {
  DataFormatError,
  EvalConfigError,
  EvaluatorError,
  NonFiniteScoreError,
  ScorerContractError,
} from "./errors";
export { LlamaScorer, type LlamaScorerOptions } from "./llama-scorer";
export { type CacheReduction, median, summarizeUsage } from "./metrics";
export {
  evaluatePerplexity,
  type PerplexityOptions,
  type PerplexityResult,
  windowStarts,
} from "./perplexity";
export { PyRandom } from "./py-random";
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
export { type VisibleCountOptions, VisibleCountScorer } from "./visible-count-scorer";
