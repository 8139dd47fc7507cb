// CPU reference of the elementwise kernel: the same meta layout, plain loops over typed arrays.
import type { TypedArray } from "../../dtype";
import { GRAD_CODE_OFFSET, OPS_BY_CODE } from "./table";

/** Parameters of one elementwise run (also encoded as meta words for WGSL). */
export interface ElemParams {
  n: number;
  op: number;
  /** Output shape. */
  shape: number[];
  /** Per input (a, b, c): element strides over the output shape (0 = broadcast). */
  strides: number[][];
  /** Per input: 0 = same layout as output, 1 = scalar, 2 = strided. */
  modes: number[];
  dtypes: number[];
  s: number;
  s2: number;
}

function offset(p: ElemParams, k: number, i: number): number {
  const mode = p.modes[k] as number;
  if (mode === 0) return i;
  if (mode === 1) return 0;
  const st = p.strides[k] as number[];
  let rem = i;
  let off = 0;
  for (let d = p.shape.length - 1; d >= 0; d--) {
    const sz = p.shape[d] as number;
    off += (rem % sz) * (st[d] as number);
    rem = Math.floor(rem / sz);
  }
  return off;
}

/** out[i] = op(a[ia], b[ib], c[ic]) with broadcasting; arrays = [a, b, c, out]. */
export function elementwiseRef(p: ElemParams, arrays: TypedArray[]): void {
  const [a, b, c, out] = arrays as [TypedArray, TypedArray, TypedArray, TypedArray];
  const isGrad = p.op >= GRAD_CODE_OFFSET;
  const def = OPS_BY_CODE.get(isGrad ? p.op - GRAD_CODE_OFFSET : p.op);
  if (!def) throw new Error(`elementwise: unknown op code ${p.op}`);
  const f = isGrad ? def.gradRef : def.ref;
  if (!f) throw new Error(`elementwise: op code ${p.op} has no reference`);
  const { s, s2 } = p;
  const fast = p.modes.every((m) => m === 0);
  for (let i = 0; i < p.n; i++) {
    const x = a[fast ? i : offset(p, 0, i)] as number;
    const y = b[fast ? i : offset(p, 1, i)] as number;
    const z = c[fast ? i : offset(p, 2, i)] as number;
    out[i] = isGrad
      ? (f as (x: number, g: number, o: number, s: number) => number)(x, y, z, s)
      : f(x, y, z, s, s2);
  }
}
