// A toy problem for trainer tests (the trainer knows no model): softmax regression on a seeded,
// linearly separable synthetic dataset, served by a resumable BatchStream whose cursor is the
// index of the next batch.

import {
  add,
  cast,
  crossEntropy,
  matmul,
  param,
  seededRandom,
  type Tensor,
  tensor,
} from "@anllm/tensor";
import type { BatchStream, Json } from "../src/index";

/** One batch: features [batch, dIn] and class labels [batch]. */
export interface ToyBatch {
  x: Float32Array;
  y: Int32Array;
  batch: number;
}

export const D_IN = 8;
export const N_CLASSES = 4;

/** Deterministic batch number `i` (features from a seeded generator, labels from a fixed rule). */
export function toyBatch(i: number, batch: number): ToyBatch {
  const rng = seededRandom(1000 + i);
  const x = new Float32Array(batch * D_IN);
  const y = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    let best = -Infinity;
    for (let d = 0; d < D_IN; d++) x[b * D_IN + d] = rng.next() * 2 - 1;
    for (let c = 0; c < N_CLASSES; c++) {
      // class score = sum of two features with fixed signs
      const s = x[b * D_IN + c]! - 0.5 * x[b * D_IN + ((c + 3) % D_IN)]!;
      if (s > best) {
        best = s;
        y[b] = c;
      }
    }
  }
  return { x, y, batch };
}

/** A resumable stream of `count` toy batches (or endless when count is undefined). */
export function toyStream(batch: number, count?: number): BatchStream<ToyBatch> {
  let next = 0;
  return {
    async *iterate(cursor: Json | undefined) {
      next = typeof cursor === "number" ? cursor : 0;
      while (count === undefined || next < count) {
        const b = toyBatch(next, batch);
        next += 1;
        yield b;
      }
    },
    cursor: () => next,
  };
}

/** Fresh seeded parameters: W [dIn, nClasses], b [nClasses]. */
export function toyParams(seed = 5): Map<string, Tensor> {
  const rng = seededRandom(seed);
  const w = Float32Array.from({ length: D_IN * N_CLASSES }, () => (rng.next() - 0.5) * 0.2);
  return new Map<string, Tensor>([
    ["w", param(tensor(w, [D_IN, N_CLASSES]))],
    ["b", param(tensor(new Float32Array(N_CLASSES), [N_CLASSES]))],
  ]);
}

/** train() options of the toy problem (constant lr 0.05, 2 warm-up steps, batches of 8). */
export function toyTrainOptions(
  params: Map<string, Tensor>,
  steps: number,
  compute: "f32" | "f16" = "f32",
) {
  return {
    params,
    loss: (b: ToyBatch) => toyLoss(params, b, compute),
    data: toyStream(8),
    steps,
    batchTokens: (b: ToyBatch) => b.batch,
    schedule: { kind: "constant" as const, lr: 0.05, warmupSteps: 2 },
    progress: "none" as const,
  };
}

/** Every parameter's values, in map order. */
export async function paramValues(params: Map<string, Tensor>): Promise<number[][]> {
  const out: number[][] = [];
  for (const p of params.values()) out.push(Array.from(await p.data()));
  return out;
}

/**
 * Mean cross-entropy of the softmax regression on one batch; `compute: "f16"` runs it in half
 * precision on f16 casts of the (f32) parameters, as mixed-precision training does.
 */
export function toyLoss(
  params: Map<string, Tensor>,
  b: ToyBatch,
  compute: "f32" | "f16" = "f32",
): Tensor {
  const x = tensor(b.x, [b.batch, D_IN], { dtype: compute });
  const y = tensor(b.y, [b.batch], { dtype: "i32" });
  const p = (name: string) =>
    compute === "f32" ? params.get(name)! : cast(params.get(name)!, compute);
  const logits = add(matmul(x, p("w")), p("b"));
  return crossEntropy(logits, y);
}
