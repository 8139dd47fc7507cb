// Public API of @anllm/redpajama-loader: datasets and documents, tokenizers, anchors, the loader
// with its resumable state, Parquet export, the embedded corpus and the errors. Lower layers (line
// reader, record normalisation, shuffle, batch builder) stay internal.
export {
  type AnchorConfig,
  type DocEncodeOptions,
  type EncodedDoc,
  encodeDocument,
  type ResolvedAnchors,
  resolveAnchors,
} from "./anchors";
export {
  BAD_INPUT_REASONS,
  type BadInputReason,
  BadInputReport,
  type BadInputSample,
} from "./bad-input";
export { byteTokenizer } from "./byte-tokenizer";
export { defaultDatasetPath } from "./default-dataset";
export { type ReadDocumentsOptions, readDocuments } from "./documents";
export {
  BadRecordError,
  DatasetError,
  LoaderOptionsError,
  ResumeStateError,
  TokenizerError,
  TokenizeWorkerError,
} from "./errors";
export { hfTokenizerFiles } from "./hf-files";
export { loadTokenizerJson, tokenizerFromJson } from "./hf-tokenizer";
export {
  type DatasetLayout,
  type DatasetSource,
  type ResolvedDataset,
  resolveDataset,
} from "./layouts";
export { llama2Tokenizer, llama2TokenizerJson } from "./llama2-tokenizer";
export {
  type Batch,
  createLoader,
  type LoaderOptions,
  type LoaderStats,
  type RedPajamaLoader,
} from "./loader";
export type { LoaderState } from "./loader-state";
export {
  exportParquet,
  type ParquetExportOptions,
  type ParquetExportResult,
} from "./parquet-export";
export { encodePrompt } from "./prompt";
export type { DocRecord, FileInfo } from "./records";
export { type SplitOptions, splitSentences } from "./sentences";
export type { SequenceBatch } from "./sequences";
export {
  type EncodeOptions,
  type Tokenizer,
  type TokenizerSpec,
  withAddedTokens,
  withAnchorToken,
} from "./tokenizer";
export { bpeModelEntry, specialTokenEntry } from "./tokenizer-json";
export { tokenizerFromSpec } from "./tokenizer-spec";
export { stopIdleWorkers, tokenizeWorkerStats } from "./worker-pool";
