// Dtypes and typed-array helpers (the f16/bf16 conversions live in half.ts).

/** Element types a tensor can hold (f32 for compute, i32/u32 for ids). */
export type DType = "f32" | "i32" | "u32";
/** Host array matching a dtype. */
export type TypedArray = Float32Array | Int32Array | Uint32Array;

/** A new zeroed typed array of `n` elements for `dtype`. */
export function allocArray(dtype: DType, n: number): TypedArray {
  if (dtype === "f32") return new Float32Array(n);
  if (dtype === "i32") return new Int32Array(n);
  return new Uint32Array(n);
}

/** Copy of `src` (numbers or any typed array) converted to `dtype`. */
export function toArray(src: ArrayLike<number>, dtype: DType): TypedArray {
  const out = allocArray(dtype, src.length);
  out.set(src);
  return out;
}

/** Dtype code used in kernel metadata: 0 = f32, 1 = i32, 2 = u32. */
export function dtypeCode(dtype: DType): number {
  return dtype === "f32" ? 0 : dtype === "i32" ? 1 : 2;
}

/** Number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Bits of a float as u32 (for kernel metadata). */
export function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0] as number;
}
