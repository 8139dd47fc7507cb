// Browser-safe entry (@anllm/redpajama-loader/text): the byte tokenizer, added tokens (<AC>, [PAD]),
// sentence splitting and anchor encoding of documents and prompts, exactly as the loader applies
// them. The main entry adds datasets, files, workers and the SentencePiece/HF tokenizers (Node).
export {
  type AnchorConfig,
  type DocEncodeOptions,
  type EncodedDoc,
  encodeDocument,
  type ResolvedAnchors,
  resolveAnchors,
} from "./anchors";
export { byteTokenizer } from "./byte-tokenizer";
export { TokenizerError } from "./errors";
export { encodePrompt } from "./prompt";
export { type SplitOptions, splitSentences } from "./sentences";
export {
  type EncodeOptions,
  type Tokenizer,
  type TokenizerSpec,
  withAddedTokens,
  withAnchorToken,
} from "./tokenizer";
