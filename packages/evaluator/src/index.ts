// Public API of @anllm/evaluator: perplexity (LongLoRA protocol), lm-eval-harness multiple-choice QA,
// K/V cache reduction and speed-up, reports; all written against the small Scorer interface.

export * from "./cache-bench";
export * from "./errors";
export { LlamaScorer, type LlamaScorerOptions } from "./llama-scorer";
export * from "./loader-bridge";
export * from "./metrics";
export * from "./perplexity";
export * from "./plot";
export * from "./ppl-eval";
export * from "./py-random";
export * from "./qa-data";
export * from "./qa-eval";
export * from "./qa-prompts";
export * from "./qa-scoring";
export * from "./qa-speed";
export * from "./qa-suite";
export * from "./qa-tasks";
export * from "./report";
export * from "./scorer";
export * from "./token-file";
export { type VisibleCountOptions, VisibleCountScorer } from "./visible-count-scorer";
