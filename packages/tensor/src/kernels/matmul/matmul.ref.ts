// CPU reference of the batched matmul with transposed operands and broadcast batch dims.
import type { TypedArray } from "../../dtype";

/** Matmul parameters: C[batch, M, N] = op(A) @ op(B). */
export interface MatmulParams {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Output batch dims (at most 4) and each operand's element stride per batch dim. */
  batchShape: number[];
  aBatchStrides: number[];
  bBatchStrides: number[];
}

function batchOffset(b: number, shape: number[], strides: number[]): number {
  let rem = b;
  let off = 0;
  for (let d = shape.length - 1; d >= 0; d--) {
    const sz = shape[d] as number;
    off += (rem % sz) * (strides[d] as number);
    rem = Math.floor(rem / sz);
  }
  return off;
}

/** arrays = [a, b, c]. */
export function matmulRef(p: MatmulParams, arrays: TypedArray[]): void {
  const [a, b, c] = arrays as [Float32Array, Float32Array, Float32Array];
  const { M, N, K } = p;
  const batch = p.batchShape.reduce((x, y) => x * y, 1);
  const row = new Float64Array(N);
  for (let bi = 0; bi < batch; bi++) {
    const aOff = batchOffset(bi, p.batchShape, p.aBatchStrides);
    const bOff = batchOffset(bi, p.batchShape, p.bBatchStrides);
    const cOff = bi * M * N;
    for (let i = 0; i < M; i++) {
      row.fill(0);
      // accumulate a[i, k] * b[k, :] into the row (i-k-j order keeps b reads contiguous)
      for (let k = 0; k < K; k++) {
        const av = a[p.transA ? aOff + k * M + i : aOff + i * K + k] as number;
        if (av === 0) continue;
        if (p.transB) {
          for (let j = 0; j < N; j++)
            row[j] = (row[j] as number) + av * (b[bOff + j * K + k] as number);
        } else {
          const base = bOff + k * N;
          for (let j = 0; j < N; j++) row[j] = (row[j] as number) + av * (b[base + j] as number);
        }
      }
      for (let j = 0; j < N; j++) c[cOff + i * N + j] = row[j] as number;
    }
  }
}
