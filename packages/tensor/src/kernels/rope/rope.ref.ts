// CPU reference of rotary embedding (HF rotate-half), angles rounded to f32 like the GPU.
import type { TypedArray } from "../../dtype";

/** x [batch, nHeads, seqLen, headDim]; sign -1 applies the inverse rotation. */
export interface RopeParams {
  batch: number;
  nHeads: number;
  seqLen: number;
  headDim: number;
  theta: number;
  sign: number;
}

/** arrays = [x, pos, y]. */
export function ropeRef(p: RopeParams, arrays: TypedArray[]): void {
  const [x, pos, y] = arrays as [Float32Array, Int32Array, Float32Array];
  const half = p.headDim / 2;
  for (let b = 0; b < p.batch; b++) {
    for (let h = 0; h < p.nHeads; h++) {
      for (let t = 0; t < p.seqLen; t++) {
        const base = ((b * p.nHeads + h) * p.seqLen + t) * p.headDim;
        const position = pos[b * p.seqLen + t] as number;
        for (let d = 0; d < half; d++) {
          // angle = position * theta^(-2d / headDim), in f32 as HF computes it
          const invFreq = Math.fround(1 / Math.fround(p.theta ** ((2 * d) / p.headDim)));
          const ang = Math.fround(position * invFreq);
          const c = Math.cos(ang);
          const s = Math.sin(ang) * p.sign;
          const x1 = x[base + d] as number;
          const x2 = x[base + d + half] as number;
          y[base + d] = x1 * c - x2 * s;
          y[base + d + half] = x2 * c + x1 * s;
        }
      }
    }
  }
}
