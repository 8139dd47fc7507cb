// CPU reference of the strided copy.
import type { TypedArray } from "../../dtype";

/** Strided copy parameters (element units). */
export interface CopyParams {
  shape: number[];
  srcOffset: number;
  srcStrides: number[];
  dstOffset: number;
  dstStrides: number[];
}

/** arrays = [src, dst] (same dtype). */
export function copyRef(p: CopyParams, arrays: TypedArray[]): void {
  const [src, dst] = arrays as [TypedArray, TypedArray];
  const n = p.shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; i++) {
    // decompose i into coordinates of the iteration shape
    let rem = i;
    let so = p.srcOffset;
    let d0 = p.dstOffset;
    for (let d = p.shape.length - 1; d >= 0; d--) {
      const sz = p.shape[d] as number;
      const c = rem % sz;
      rem = (rem - c) / sz;
      so += c * (p.srcStrides[d] as number);
      d0 += c * (p.dstStrides[d] as number);
    }
    dst[d0] = src[so] as number;
  }
}
