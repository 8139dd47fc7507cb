// Next-token cross-entropy through the LM head, chunked over rows so that [tokens x vocabSize]
// logits never exist at once: forward and the head's gradient are computed chunk by chunk, then
// re-attached to the graph through a surrogate whose gradient is exactly that precomputed gradient.
import {
  add,
  concat,
  crossEntropy,
  isGradEnabled,
  keep,
  matmul,
  mul,
  reshape,
  scale,
  slice,
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
  const [n, dModel] = hidden.shape as [number, number];
  const vocab = head.shape[0] as number;
  let count = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== -100) count++;
  if (count === 0) return scale(sum(hidden), 0); // nothing to predict: zero loss, zero gradient
  const rows = Math.max(1, Math.floor((opts.maxLogits ?? 2 ** 22) / vocab));
  const device = hidden.device;
  const tgt = (s: number, e: number) =>
    tensor(targets.subarray(s, e), [e - s], { dtype: "i32", device });
  const chunkLoss = (h: Tensor, w: Tensor, s: number, e: number) =>
    scale(crossEntropy(matmul(h, w, { transB: true }), tgt(s, e), { reduction: "sum" }), 1 / count);
  if (n <= rows) return chunkLoss(hidden, head, 0, n);
  const needGrad = isGradEnabled() && (hidden.requiresGrad || head.requiresGrad);
  if (!needGrad) {
    let acc: Tensor | null = null;
    for (let s = 0; s < n; s += rows) {
      const e = Math.min(n, s + rows);
      const prev: Tensor | null = acc;
      acc = tidy(() => {
        const l = chunkLoss(slice(hidden, 0, s, e), head, s, e);
        return prev ? add(prev, l) : l;
      });
      prev?.dispose();
    }
    return acc as Tensor;
  }
  // gradients chunk by chunk on detached leaves; only one chunk of logits alive at a time
  const wLeaf = head.detach();
  wLeaf.requiresGrad = true;
  const gradRows: Tensor[] = [];
  let value = 0 as number | Tensor;
  for (let s = 0; s < n; s += rows) {
    const e = Math.min(n, s + rows);
    const prev = value;
    value = tidy(() => {
      const hc = slice(hidden, 0, s, e).detach();
      hc.requiresGrad = true;
      const l = chunkLoss(hc, wLeaf, s, e);
      l.backward();
      gradRows.push(keep(hc.grad as Tensor));
      return typeof prev === "number" ? l.detach() : add(prev, l.detach());
    });
    if (typeof prev !== "number") prev.dispose();
  }
  const gHidden = concat(gradRows, 0); // [N, dModel]
  for (const g of gradRows) g.dispose();
  const gHead = wLeaf.grad as Tensor; // [vocabSize, dModel]
  wLeaf.grad = null;
  const surrogate = add(sum(mul(reshape(hidden, [n, dModel]), gHidden)), sum(mul(head, gHead)));
  gHead.dispose(); // grads live outside tidy scopes; the graph holds its own reference
  return add(sub(surrogate, surrogate.detach()), value as Tensor);
}
