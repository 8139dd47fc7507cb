// Anchor selection (apps/docs/guide/method.md): AnLLM-EP marks tokens whose id is in a set of
// endpoint ids, AnLLM-AC marks an added anchor token. Ids come from the caller's tokenizer, never
// hard-coded here.
import { AnchorMaskInputError } from "./errors";

/**
 * How anchors are chosen from token ids.
 * - `ep`: every token whose id is in `tokenIds` is an anchor (e.g. Llama-2 "." = 29889).
 * - `ac`: every occurrence of the added anchor token `tokenId` (e.g. `<AC>` = 32001) is an anchor.
 */
export type AnchorStrategy =
  | { readonly kind: "ep"; readonly tokenIds: readonly number[] }
  | { readonly kind: "ac"; readonly tokenId: number };

/** Builds an `ep` strategy from endpoint token ids (at least one). */
export function epStrategy(tokenIds: readonly number[]): AnchorStrategy {
  if (tokenIds.length === 0) {
    throw new AnchorMaskInputError("tokenIds", "expected at least one endpoint token id, got []");
  }
  for (const [k, id] of tokenIds.entries()) checkTokenId(`tokenIds[${k}]`, id);
  return { kind: "ep", tokenIds: [...tokenIds] };
}

/** Builds an `ac` strategy from the added anchor token's id. */
export function acStrategy(tokenId: number): AnchorStrategy {
  checkTokenId("tokenId", tokenId);
  return { kind: "ac", tokenId };
}

function checkTokenId(field: string, id: number): void {
  if (!Number.isInteger(id) || id < 0) {
    throw new AnchorMaskInputError(field, `expected a non-negative integer token id, got ${id}`);
  }
}

/**
 * Marks the anchors of a token sequence.
 * @param tokens token ids, `[seqLen]`
 * @returns `[seqLen]` 1 = anchor, 0 = not
 * @example markAnchors([1, 450, 29889, 13], epStrategy([29889])) // Uint8Array [0, 0, 1, 0]
 */
export function markAnchors(
  tokens: ArrayLike<number>,
  strategy: AnchorStrategy,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(tokens.length);
  switch (strategy.kind) {
    case "ac": {
      checkTokenId("strategy.tokenId", strategy.tokenId);
      const id = strategy.tokenId;
      for (let t = 0; t < tokens.length; t++) out[t] = tokens[t] === id ? 1 : 0;
      return out;
    }
    case "ep": {
      if (strategy.tokenIds.length === 0) {
        throw new AnchorMaskInputError("strategy.tokenIds", "expected at least one id, got []");
      }
      const ids = new Set(strategy.tokenIds);
      if (ids.size === 1) {
        const id = strategy.tokenIds[0]!;
        for (let t = 0; t < tokens.length; t++) out[t] = tokens[t] === id ? 1 : 0;
      } else {
        for (let t = 0; t < tokens.length; t++) out[t] = ids.has(tokens[t]!) ? 1 : 0;
      }
      return out;
    }
    default:
      strategy satisfies never;
      throw new AnchorMaskInputError(
        "strategy.kind",
        `expected "ep" or "ac", got ${String(strategy)}`,
      );
  }
}
