// What the interactive page and the method figures show, computed with @anllm/anchor-mask itself:
// tokens -> anchor flags -> segment ids -> dense mask, and the K/V rows kept after each token.
import {
  AnchorCacheState,
  acStrategy,
  buildAnchorMask,
  epStrategy,
  markAnchors,
  segmentIds,
} from "@anllm/anchor-mask";
import {
  type AcPlacement,
  type EndpointPiece,
  type IllustrativeToken,
  LLAMA2_IDS,
  tokenizeAc,
  tokenizeEp,
} from "./illustrative-tokenizer";
import { type Llama2Encoder, llama2Ac, llama2Ep } from "./llama2-tokens";

/** Everything the page renders for one input. */
export interface MaskView {
  readonly tokens: readonly IllustrativeToken[];
  /** [seqLen] 1 = anchor */
  readonly isAnchor: Uint8Array;
  /** [seqLen] number of anchors strictly before each token */
  readonly segmentIds: Int32Array;
  /** [seqLen, seqLen] row-major, 1 = query (row) may attend to key (column) */
  readonly mask: Uint8Array;
  /** keptAfter[t]: original positions of the cache rows kept after token t (one-token steps) */
  readonly keptAfter: Int32Array[];
  /** largest number of K/V rows held during one-token decoding (cache + the new token) */
  readonly peakCache: number;
}

/** Input of the interactive page. */
export type MaskInput =
  | { readonly kind: "ep"; readonly text: string; readonly endpoints: readonly EndpointPiece[] }
  | { readonly kind: "ac"; readonly text: string; readonly placement: AcPlacement };

/** Anchor flags, mask and cache trace of a token sequence whose anchors are already marked. */
export function viewOfFlags(tokens: readonly IllustrativeToken[], isAnchor: Uint8Array): MaskView {
  // Replay one-token decoding through the package's cache state machine.
  const state = new AnchorCacheState();
  const keptAfter: Int32Array[] = [];
  for (let t = 0; t < isAnchor.length; t++) {
    state.append(isAnchor.subarray(t, t + 1));
    keptAfter.push(state.cachedRows().pos);
  }
  return {
    tokens,
    isAnchor,
    segmentIds: segmentIds(isAnchor),
    mask: buildAnchorMask(isAnchor),
    keptAfter,
    peakCache: state.peakRows,
  };
}

/**
 * Tokenizes `input` (with the real Llama-2 tokenizer when `llama2` is given, else the illustrative
 * one) and marks anchors with @anllm/anchor-mask.
 */
export function maskView(input: MaskInput, llama2?: Llama2Encoder): MaskView {
  if (input.kind === "ep") {
    const tokens = llama2 ? llama2Ep(llama2, input.text) : tokenizeEp(input.text);
    const ids = input.endpoints.map((p) => LLAMA2_IDS[p]);
    const isAnchor =
      ids.length > 0
        ? markAnchors(
            tokens.map((t) => t.id),
            epStrategy(ids),
          )
        : new Uint8Array(tokens.length);
    return viewOfFlags(tokens, isAnchor);
  }
  const tokens = llama2
    ? llama2Ac(llama2, input.text, input.placement)
    : tokenizeAc(input.text, input.placement);
  const isAnchor = markAnchors(
    tokens.map((t) => t.id),
    acStrategy(LLAMA2_IDS.ac),
  );
  return viewOfFlags(tokens, isAnchor);
}
