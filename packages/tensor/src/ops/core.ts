// Shared helpers of the op layer: output allocation, shape checks, broadcasting and the
// elementwise launcher every elementwise op goes through.
import { type Backend, getBackend } from "../device";
import { type DType, dtypeCode, shapeSize } from "../dtype";
import { ShapeError } from "../errors";
import { elementwiseKernel } from "../kernels/elementwise/elementwise.kernel";
import { ELEM_OPS, type ElemOpName, GRAD_CODE_OFFSET } from "../kernels/elementwise/table";
import { Tensor } from "../tensor";

/** Internal: a new uninitialised tensor on the device of `like` (or the default device). */
export function empty(shape: readonly number[], dtype: DType, like?: Tensor): Tensor {
  const b = like ? like.backend : getBackend();
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape [${shape}]`);
    n *= d;
  }
  return Tensor.fresh(
    b,
    b.alloc(n, dtype, () => `${dtype} [${shape.join(", ")}]`),
    shape,
    dtype,
  );
}

/** Normalises a possibly negative axis. */
export function normAxis(axis: number, rank: number, what = "axis"): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new ShapeError(`${what} ${axis} out of range for rank ${rank}`);
  }
  return a;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i] as number;
  }
  return st;
}

/** numpy broadcast of shapes. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i] as number;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) {
        throw new ShapeError(`shapes ${shapes.map((x) => `[${x}]`).join(", ")} do not broadcast`);
      }
    }
  }
  return out;
}

/** Strides of `shape` read as `out` shape (0 along broadcast dims). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const st = stridesOf(shape);
  const res = new Array<number>(out.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const o = out.length - shape.length + i;
    res[o] = shape[i] === 1 ? 0 : (st[i] as number);
  }
  return res;
}

/** Internal: asserts all tensors live on one device and are not disposed. */
export function checkSame(op: string, ts: Tensor[]): void {
  const first = ts[0];
  for (const t of ts) {
    t.check();
    if (first && t.backend !== first.backend) {
      throw new ShapeError(`${op}: tensors are on different devices`);
    }
  }
}

/** Internal: runs one elementwise op (by name or raw code) over broadcast inputs. */
export function launchElementwise(
  op: ElemOpName | number,
  inputs: Tensor[],
  outDtype: DType,
  s = 0,
  s2 = 0,
  outShape?: readonly number[],
  backend?: Backend,
): Tensor {
  checkSame(typeof op === "number" ? `op ${op}` : op, inputs);
  const code = typeof op === "number" ? op : ELEM_OPS[op].code;
  const shape = outShape ?? broadcastShapes(...inputs.map((t) => t.shape));
  const b = inputs[0]?.backend ?? backend ?? getBackend();
  const out = Tensor.fresh(
    b,
    b.alloc(shapeSize(shape), outDtype, () => `${outDtype} [${shape.join(", ")}]`),
    shape,
    outDtype,
  );
  if (out.size === 0) return out;
  // ops without inputs (fill) read a 1-element dummy that is never used
  const dummy = inputs.length === 0 ? Tensor.fresh(b, b.alloc(1, "f32"), [1], "f32") : null;
  const args = [0, 1, 2].map((k) => (inputs[k] ?? inputs[0] ?? dummy) as Tensor);
  // inputs of the output's size read at index i (broadcasting cannot reorder them)
  const modes = args.map((t) => (t.size === 1 ? 1 : t.size === out.size ? 0 : 2));
  out.backend.run(
    elementwiseKernel,
    {
      n: out.size,
      op: code,
      shape: [...shape],
      strides: args.map((t) => broadcastStrides(t.shape, shape)),
      modes,
      dtypes: [...args.map((t) => dtypeCode(t.dtype)), dtypeCode(outDtype)],
      s,
      s2,
    },
    [...args, out].map((t) => ({ storage: t.storage, dtype: t.dtype })),
  );
  dummy?.dispose();
  return out;
}

/** Internal: gradient of a unary op: g * op'(x) (o = forward output). */
export function unaryGrad(op: ElemOpName, x: Tensor, g: Tensor, o: Tensor, s = 0): Tensor {
  return launchElementwise(ELEM_OPS[op].code + GRAD_CODE_OFFSET, [x, g, o], floatOut(x, g), s);
}

/** Result dtype of arithmetic between a and b. */
export function promote(a: DType, b: DType): DType {
  return a === b ? a : "f32";
}

/**
 * Dtype of a floating-point result computed from `ts`: f16 when every input is f16 (the kernels
 * accumulate in f32 and round once on store), otherwise f32 (ints and mixed inputs widen to f32).
 */
export function floatOut(...ts: Tensor[]): DType {
  return ts.length > 0 && ts.every((t) => t.dtype === "f16") ? "f16" : "f32";
}
