// The same reference model written with tfjs (for the same-run comparison against
// @tensorflow/tfjs-backend-webgpu): dense causal mask, RoPE by slices, Adam via optimizer.minimize.
import type * as TF from "@tensorflow/tfjs-core";
import { type BenchConfig, batchData, initValues, paramShapes } from "./model";

/** One training step of the model on tfjs; returns a function that runs a step. */
export function makeTfjs(tf: typeof TF, c: BenchConfig): () => Promise<number> {
  const vars = new Map<string, TF.Variable>();
  let seed = 1;
  for (const [name, s] of paramShapes(c))
    vars.set(name, tf.variable(tf.tensor(initValues(s, seed++), s), true, `${c.name}.${name}`));
  const P = (n: string) => vars.get(n) as TF.Variable;
  const { ids, targets } = batchData(c);
  const idsT = tf.tensor1d(ids, "int32");
  const onehot = tf.oneHot(tf.tensor1d(targets, "int32"), c.vocabSize);
  const hd = c.dModel / c.nHeads;
  const half = hd / 2;
  const ang = new Float32Array(c.seqLen * half);
  for (let t = 0; t < c.seqLen; t++)
    for (let d = 0; d < half; d++) ang[t * half + d] = t / 10000 ** ((2 * d) / hd);
  const cos = tf.cos(tf.tensor2d(ang, [c.seqLen, half]));
  const sin = tf.sin(tf.tensor2d(ang, [c.seqLen, half]));
  const bias = tf.tensor2d(
    Float32Array.from({ length: c.seqLen * c.seqLen }, (_, i) =>
      i % c.seqLen > Math.floor(i / c.seqLen) ? -1e9 : 0,
    ),
    [c.seqLen, c.seqLen],
  );
  const N = c.batch * c.seqLen;
  const lin = (x: TF.Tensor, w: string) => tf.matMul(x as TF.Tensor2D, P(w), false, true);
  const norm = (x: TF.Tensor, w: string) =>
    tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-5))), P(w)) as TF.Tensor2D;
  const heads = (x: TF.Tensor) =>
    tf.transpose(tf.reshape(x, [c.batch, c.seqLen, c.nHeads, hd]), [0, 2, 1, 3]);
  const rope = (x: TF.Tensor) => {
    const x1 = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, half]);
    const x2 = tf.slice(x, [0, 0, 0, half], [-1, -1, -1, half]);
    return tf.concat(
      [tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))],
      -1,
    );
  };
  const opt = tf.train.adam(1e-3);
  const varList = [...vars.values()];
  return async () => {
    const cost = opt.minimize(
      () => {
        let x: TF.Tensor = tf.gather(P("tok"), idsT);
        for (let l = 0; l < c.nLayers; l++) {
          const a = norm(x, `${l}.an`);
          const q = rope(heads(lin(a, `${l}.wq`)));
          const k = rope(heads(lin(a, `${l}.wk`)));
          const v = heads(lin(a, `${l}.wv`));
          const s = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)), bias);
          const o = tf.reshape(tf.transpose(tf.matMul(tf.softmax(s), v), [0, 2, 1, 3]), [
            N,
            c.dModel,
          ]) as TF.Tensor2D;
          x = tf.add(x, lin(o, `${l}.wo`));
          const f = norm(x, `${l}.fn`);
          x = tf.add(
            x,
            lin(
              tf.mul(
                tf.mul(lin(f, `${l}.w1`), tf.sigmoid(lin(f, `${l}.w1`))),
                lin(f, `${l}.w3`),
              ) as TF.Tensor2D,
              `${l}.w2`,
            ),
          );
        }
        const logits = lin(norm(x, "norm"), "head");
        return tf.losses.softmaxCrossEntropy(onehot, logits) as TF.Scalar;
      },
      true,
      varList,
    ) as TF.Scalar;
    const v = (await cost.data())[0] as number;
    cost.dispose();
    return v;
  };
}
