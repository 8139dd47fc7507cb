// Public surface of @anllm/anchor-mask: the AnLLM anchor attention mask (apps/docs/guide/method.md)
// as a dependency-free library: anchor selection, structure, dense and compact masks, cache state.
export {
  type AttentionArrays,
  attentionArrays,
  attentionArraysBatch,
} from "./attention-arrays";
export { type BatchedStepArrays, NO_EVICTION, packSteps } from "./cache-batch";
export {
  type CachePolicy,
  type CachePolicyName,
  type CachePolicyState,
  type CachePolicyStateOptions,
  createCacheState,
  DEFAULT_SEPARATORS,
  FullCacheState,
  formatPolicy,
  HeavyHitterCacheState,
  h2oKeep,
  POLICY_NAMES,
  parsePolicy,
  policyKeeps,
  policyNeedsScores,
  WindowCacheState,
  windowUntil,
} from "./cache-policy";
export {
  AnchorCacheState,
  anchorKeepIndices,
  type CacheStateOptions,
  type CacheStep,
  stepAllowed,
  stepMask,
} from "./cache-state";
export { type CompactMask, compactMask, visibleKeys } from "./compact";
export {
  type AdditiveOptions,
  type BatchOptions,
  buildAdditiveAnchorMask,
  buildAdditiveAnchorMaskBatch,
  buildAnchorMask,
  buildAnchorMaskBatch,
  buildCausalMask,
  type OutOptions,
  toAdditiveMask,
} from "./dense";
export { AnchorCacheError, AnchorMaskInputError } from "./errors";
export { type FormatOptions, formatMask } from "./pretty";
export { isAllowed } from "./rule";
export { type AnchorStrategy, acStrategy, epStrategy, markAnchors } from "./strategy";
export {
  type AnchorFlags,
  type AnchorStructure,
  anchorStructure,
  type StructureOptions,
  segmentIds,
} from "./structure";
