// "Train in the tab": a short AnLLM-AC run of the tiny preset on a slice of the embedded corpus,
// built from the packages' browser entries. The model is made as `anllm train --model tiny
// --anchor ac` makes it (byte tokenizer, <AC> row initialised to the mean embedding), and each step
// is @anllm/trainer's step: loss, backward, global-norm clipping, AdamW at the scheduled rate.
// The tests run the same options through `train()` of @anllm/trainer/node and compare the losses.
import { Llama2, type LlamaConfig, type ModelBatch, preset } from "@anllm/llama2-model";
import {
  byteTokenizer,
  encodeDocument,
  type ResolvedAnchors,
  type Tokenizer,
  withAnchorToken,
} from "@anllm/redpajama-loader/text";
import { backward, type Tensor, tidy } from "@anllm/tensor";
import { AdamW, clipFactor, globalGradNorm, learningRate } from "@anllm/trainer";
import type { CorpusSlice, TabTrainingOptions } from "./tab-options";

export {
  CORPUS_SLICE_FILE,
  type CorpusSlice,
  TAB_TRAINING,
  type TabTrainingOptions,
} from "./tab-options";

/** The tiny preset with the byte tokenizer and <AC>, as `anllm train --model tiny --anchor ac`. */
export function tabModel(seed: number): {
  model: Llama2;
  tokenizer: Tokenizer;
  anchors: ResolvedAnchors;
} {
  const base = byteTokenizer();
  const config: LlamaConfig = {
    ...preset("tiny"),
    vocabSize: base.vocabSize,
    bosTokenId: base.bosId,
    eosTokenId: base.eosId,
    padTokenId: base.padId,
  };
  const model = Llama2.init(config, { seed });
  const tokenizer = withAnchorToken(base);
  while (model.config.vocabSize < tokenizer.vocabSize) model.addAnchorToken({ init: "mean" });
  const acId = tokenizer.tokenToId("<AC>");
  if (acId === undefined) throw new Error("the byte tokenizer with <AC> has no <AC> id");
  const anchors: ResolvedAnchors = {
    mode: "ac",
    ids: [acId],
    placement: "after",
    lineBreaks: "space",
  };
  return { model, tokenizer, anchors };
}

/** The batches of the run: step i takes documents i*batch .. i*batch+batch-1 (cycling). */
export function tabBatches(
  slice: CorpusSlice,
  tokenizer: Tokenizer,
  anchors: ResolvedAnchors,
  o: TabTrainingOptions,
): ModelBatch[] {
  if (slice.documents.length === 0) throw new Error("the corpus slice holds no document");
  const pad = tokenizer.padId ?? tokenizer.eosId;
  const out: ModelBatch[] = [];
  for (let step = 0; step < o.steps; step++) {
    const inputIds = new Int32Array(o.batch * o.seqLen).fill(pad);
    const isAnchor = new Uint8Array(o.batch * o.seqLen);
    const lengths = new Int32Array(o.batch);
    for (let r = 0; r < o.batch; r++) {
      const text = slice.documents[(step * o.batch + r) % slice.documents.length] as string;
      const doc = encodeDocument(text, tokenizer, anchors);
      const n = Math.min(o.seqLen, doc.ids.length);
      inputIds.set(doc.ids.subarray(0, n), r * o.seqLen);
      isAnchor.set(doc.anchors.subarray(0, n), r * o.seqLen);
      lengths[r] = n;
    }
    out.push({
      inputIds,
      batch: o.batch,
      seqLen: o.seqLen,
      attention: "anchor",
      isAnchor,
      lengths,
    });
  }
  return out;
}

/** One step's numbers for the live plot. */
export interface TabStep {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  ms: number;
}

/**
 * Runs the steps of @anllm/trainer's loop (gradAccum 1): loss and backward in a tidy scope, the
 * global gradient norm, the clipping factor, AdamW at `learningRate(schedule, step - 1)`.
 */
export async function trainInTab(
  model: Llama2,
  batches: readonly ModelBatch[],
  o: TabTrainingOptions,
  onStep?: (s: TabStep) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<TabStep[]> {
  const params = model.parameters();
  const optimizer = new AdamW(params, o.optimizer);
  const history: TabStep[] = [];
  try {
    for (let i = 0; i < o.steps && !signal?.aborted; i++) {
      const t0 = performance.now();
      const lr = learningRate(o.schedule, i);
      const batch = batches[i % batches.length] as ModelBatch;
      const lossT = tidy(() => {
        const l: Tensor = model.loss(batch);
        backward(l);
        return l;
      });
      const loss = await lossT.item();
      lossT.dispose();
      const gradNorm = await globalGradNorm(params.values());
      const factor = clipFactor(gradNorm, o.maxGradNorm);
      if (Number.isFinite(loss) && Number.isFinite(gradNorm)) optimizer.step(lr, factor);
      optimizer.zeroGrad();
      const s = { step: i + 1, loss, lr, gradNorm, ms: performance.now() - t0 };
      history.push(s);
      await onStep?.(s);
    }
  } finally {
    optimizer.dispose();
  }
  return history;
}
