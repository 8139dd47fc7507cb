// The reference Llama-like model of the benchmarks, written with @anllm/tensor ops: embedding,
// RMSNorm, q/k/v/o projections, RoPE, causal attention, SwiGLU MLP, lm head, fused loss, AdamW.
import * as T from "../src/index";

/** Model and batch shape of one benchmark configuration. */
export interface BenchConfig {
  name: string;
  dModel: number;
  nLayers: number;
  nHeads: number;
  seqLen: number;
  batch: number;
  vocabSize: number;
}

/** SwiGLU hidden width (about 8/3 dModel, multiple of 32). */
export function hiddenDim(c: BenchConfig): number {
  return Math.round((8 * c.dModel) / 3 / 32) * 32;
}

/** Parameter shapes by name (HF layout: linear weights [out, in]). */
export function paramShapes(c: BenchConfig): Map<string, number[]> {
  const d = c.dModel;
  const h = hiddenDim(c);
  const m = new Map<string, number[]>([["tok", [c.vocabSize, d]]]);
  for (let l = 0; l < c.nLayers; l++) {
    for (const n of ["wq", "wk", "wv", "wo"]) m.set(`${l}.${n}`, [d, d]);
    m.set(`${l}.w1`, [h, d]);
    m.set(`${l}.w3`, [h, d]);
    m.set(`${l}.w2`, [d, h]);
    m.set(`${l}.an`, [d]);
    m.set(`${l}.fn`, [d]);
  }
  m.set("norm", [d]);
  m.set("head", [c.vocabSize, d]);
  return m;
}

/** Deterministic host init shared by both implementations. */
export function initValues(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (shape.length === 1) return new Float32Array(n).fill(1);
  const r = T.seededRandom(seed);
  const std = 0.02;
  return Float32Array.from({ length: n }, () => r.normal() * std);
}

/** Deterministic token ids [batch * seqLen] (inputs) and next-token targets. */
export function batchData(c: BenchConfig): { ids: Int32Array; targets: Int32Array } {
  const r = T.seededRandom(99);
  const n = c.batch * c.seqLen;
  const ids = Int32Array.from({ length: n }, () => r.int(c.vocabSize));
  const targets = Int32Array.from({ length: n }, (_, i) => ids[(i + 1) % n] as number);
  return { ids, targets };
}

/** One training step of the model on @anllm/tensor; returns a function that runs a step. */
export function makeOurs(c: BenchConfig): () => Promise<number> {
  const shapes = paramShapes(c);
  const params = new Map<string, T.Tensor>();
  const state = new Map<string, [T.Tensor, T.Tensor]>();
  let seed = 1;
  for (const [name, s] of shapes) {
    params.set(name, T.keep(T.param(T.tensor(initValues(s, seed++), s))));
    state.set(name, [T.keep(T.zeros(s)), T.keep(T.zeros(s))]);
  }
  const { ids, targets } = batchData(c);
  const idsT = T.keep(T.tensor(ids, [c.batch, c.seqLen]));
  const tgtT = T.keep(T.tensor(targets, [c.batch * c.seqLen]));
  const pos = T.keep(
    T.tensor(
      Int32Array.from({ length: c.batch * c.seqLen }, (_, i) => i % c.seqLen),
      [c.batch, c.seqLen],
    ),
  );
  const mask = T.makeAttentionMask({ batch: c.batch, lq: c.seqLen, mode: "causal" });
  const P = (n: string) => params.get(n) as T.Tensor;
  const hd = c.dModel / c.nHeads;
  const heads = (x: T.Tensor) =>
    T.permute(T.reshape(x, [c.batch, c.seqLen, c.nHeads, hd]), [0, 2, 1, 3]);
  const lin = (x: T.Tensor, w: string) => T.matmul(x, P(w), { transB: true });
  let step = 0;
  return async () => {
    step++;
    const loss = T.tidy(() => {
      let x = T.embedding(P("tok"), idsT);
      for (let l = 0; l < c.nLayers; l++) {
        const h = T.rmsNorm(x, P(`${l}.an`), 1e-5);
        const q = T.rope(heads(lin(h, `${l}.wq`)), pos);
        const k = T.rope(heads(lin(h, `${l}.wk`)), pos);
        const v = heads(lin(h, `${l}.wv`));
        const o = T.reshape(T.permute(T.attention(q, k, v, mask), [0, 2, 1, 3]), [
          c.batch,
          c.seqLen,
          c.dModel,
        ]);
        x = T.add(x, lin(o, `${l}.wo`));
        const f = T.rmsNorm(x, P(`${l}.fn`), 1e-5);
        x = T.add(x, lin(T.mul(T.silu(lin(f, `${l}.w1`)), lin(f, `${l}.w3`)), `${l}.w2`));
      }
      const logits = lin(
        T.reshape(T.rmsNorm(x, P("norm"), 1e-5), [c.batch * c.seqLen, c.dModel]),
        "head",
      );
      const loss = T.crossEntropy(logits, tgtT);
      T.backward(loss);
      return loss;
    });
    for (const [name, p] of params) {
      const [m, v] = state.get(name) as [T.Tensor, T.Tensor];
      T.adamwUpdate(p, p.grad as T.Tensor, m, v, { lr: 1e-3, step, weightDecay: 0.1 });
      p.grad?.dispose();
      p.grad = null;
    }
    const value = await loss.item();
    loss.dispose();
    return value;
  };
}
