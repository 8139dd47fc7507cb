// Next-token cross-entropy through the LM head, chunked over rows so that [tokens x vocabSize]
// logits never exist at once: an op with its own backward (customGrad) whose forward sums the
// loss chunk by chunk and whose backward recomputes each chunk's logits to produce that chunk's
// rows of dHidden and its share of dHead.
import {
  add,
  arange,
  compare,
  concat,
  crossEntropy,
  customGrad,
  matmul,
  mul,
  reshape,
  scale,
  slice,
  softmax,
  sub,
  sum,
  type Tensor,
  tensor,
  tidy,
} from "@anllm/tensor";

/** Options of `lmHeadLoss`. */
export interface HeadLossOptions {
  /** most logits ([rows x vocabSize] elements) held at once; default 2^22 (16 MiB of f32) */
  maxLogits?: number;
}

/**
 * Mean cross-entropy of `hidden @ head^T` against `targets` (-100 ignored), chunked over rows.
 * @param hidden [N, dModel] final-norm hidden states
 * @param head [vocabSize, dModel] LM head (or tied embedding)
 * @param targets [N] next-token ids, -100 = ignore
 * @returns scalar tensor; gradients reach hidden and head when grad is enabled
 */
export function lmHeadLoss(
  hidden: Tensor,
  head: Tensor,
  targets: Int32Array,
  opts: HeadLossOptions = {},
): Tensor {
  const n = hidden.shape[0] as number;
  const vocab = head.shape[0] as number;
  let count = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== -100) count++;
  if (count === 0) return scale(sum(hidden), 0); // nothing to predict: zero loss, zero gradient
  const rows = Math.max(1, Math.floor((opts.maxLogits ?? 2 ** 22) / vocab));
  const device = hidden.device;
  const tgt = tensor(targets, [n], { dtype: "i32", device });
  // sum over rows [s, e) of the cross-entropy, divided by the count of all predicted rows
  const chunkLoss = (h: Tensor, w: Tensor, s: number, e: number) =>
    tidy(() =>
      scale(
        crossEntropy(matmul(h, w, { transB: true }), slice(tgt, 0, s, e), { reduction: "sum" }),
        1 / count,
      ),
    );
  if (n <= rows) {
    // one chunk: the plain ops and their own gradients
    const loss = chunkLoss(hidden, head, 0, n);
    tgt.dispose();
    return loss;
  }
  const [needHidden, needHead] = [hidden.requiresGrad, head.requiresGrad];
  const chunks: [number, number][] = [];
  for (let s = 0; s < n; s += rows) chunks.push([s, Math.min(n, s + rows)]);
  const loss = customGrad((h: Tensor, w: Tensor) => {
    let value: Tensor | null = null;
    for (const [s, e] of chunks) {
      const l = tidy(() => chunkLoss(slice(h, 0, s, e), w, s, e));
      const prev: Tensor | null = value;
      value = prev ? add(prev, l) : l;
      if (prev) {
        prev.dispose();
        l.dispose();
      }
    }
    return {
      value: value as Tensor,
      gradient: (dy) => {
        const dRows: Tensor[] = [];
        let dHead: Tensor | null = null;
        for (const [s, e] of chunks) {
          const [dh, dw] = tidy(() => {
            const hc = slice(h, 0, s, e);
            const d = logitsGrad(
              matmul(hc, w, { transB: true }),
              targets.subarray(s, e),
              count,
              dy,
            );
            return [
              needHidden ? matmul(d, w) : null, // [rows, dModel]
              needHead ? matmul(d, hc, { transA: true }) : null, // [vocabSize, dModel]
            ];
          });
          if (dh) dRows.push(dh);
          if (dw) {
            const prev: Tensor | null = dHead;
            dHead = prev ? add(prev, dw) : dw;
            if (prev) {
              prev.dispose();
              dw.dispose();
            }
          }
        }
        const dHidden = needHidden ? concat(dRows, 0) : null; // [N, dModel]
        for (const t of dRows) t.dispose();
        return [dHidden, dHead];
      },
    };
  });
  const out = loss(hidden, head);
  tgt.dispose(); // only the forward reads it
  return out;
}

/**
 * Gradient of one chunk's loss (the sum over its rows of the cross-entropy, divided by `count`)
 * w.r.t. its logits [rows, vocabSize]: dy / count * (softmax(logits) - onehot(target)) on rows
 * whose target is a token id, zero on the others. Consumes `logits`.
 */
function logitsGrad(logits: Tensor, rowTargets: Int32Array, count: number, dy: Tensor): Tensor {
  const [r, vocab] = logits.shape as [number, number];
  const device = logits.device;
  const probs = softmax(logits);
  logits.dispose();
  const classes = reshape(arange(vocab, { dtype: "i32", device }), [1, vocab]);
  const ids = tensor(rowTargets, [r, 1], { dtype: "i32", device });
  const hit = compare("eq", classes, ids); // [rows, vocabSize] one-hot, no hit for -100
  const diff = sub(probs, hit);
  probs.dispose();
  hit.dispose();
  const weights = Float32Array.from(rowTargets, (t) => (t >= 0 && t < vocab ? 1 / count : 0));
  return mul(diff, mul(tensor(weights, [r, 1], { device }), dy));
}
