// The CLI's bridge from @anllm/redpajama-loader to the trainer: a resumable BatchStream whose
// cursor is the loader's JSON state after the last batch handed out, and the conversion of a
// loader batch into the model's ModelBatch.

import type { ModelBatch } from "@anllm/llama2-model";
import {
  type Batch,
  createLoader,
  type LoaderOptions,
  type LoaderState,
} from "@anllm/redpajama-loader";
import type { BatchStream, Json } from "@anllm/trainer";

/** A BatchStream over the loader; `epochs` passes (the loader reshuffles per epoch). */
export function loaderStream(opts: Omit<LoaderOptions, "resume">): BatchStream<Batch> {
  let last: LoaderState | null = null;
  return {
    async *iterate(cursor: Json | undefined) {
      const resume = cursor ? (cursor as unknown as LoaderState) : undefined;
      last = resume ?? null;
      const loader = await createLoader({ ...opts, ...(resume ? { resume } : {}) });
      for await (const b of loader.batches()) {
        last = b.state;
        yield b;
      }
    },
    cursor: () => last as unknown as Json,
  };
}

/**
 * A loader batch as the model's input (anchor attention unless `causal`). Document ids go along so
 * that packed rows never let one document see another's tokens or anchors (paper mode has one
 * document per row, where they change nothing).
 */
export function toModelBatch(b: Batch, attention: "causal" | "anchor"): ModelBatch {
  return {
    inputIds: b.inputIds,
    batch: b.batch,
    seqLen: b.seqLen,
    attention,
    isAnchor: b.anchorMask,
    documentIds: b.docIds,
    lengths: b.lengths,
  };
}

/** Real (non-padding) tokens of a batch. */
export function batchTokens(b: Batch): number {
  let n = 0;
  for (const l of b.lengths) n += l;
  return n;
}
