// Dtypes and typed-array helpers (the f16/bf16 conversions live in half.ts).

/**
 * Element types a tensor can hold: f32 for compute, f16 for storage (kernels read it into f32,
 * accumulate in f32 and round once when they write f16), i32/u32 for ids.
 */
export type DType = "f32" | "f16" | "i32" | "u32";
/**
 * Host array matching a dtype. f16 tensors are read and written on the host as Float32Array
 * (the values are exactly representable in f32); only the device stores them as 16 bits.
 */
export type TypedArray = Float32Array | Int32Array | Uint32Array;

/** Bytes one element of `dtype` takes on a device. */
export function dtypeBytes(dtype: DType): number {
  return dtype === "f16" ? 2 : 4;
}

/**
 * Bytes of device storage for `elems` elements of `dtype`: at least 4 and a multiple of 4 (WebGPU
 * copies and writes work in 4-byte units; an odd f16 count gets one padding element).
 */
export function storageBytes(elems: number, dtype: DType): number {
  return Math.max(4, Math.ceil((elems * dtypeBytes(dtype)) / 4) * 4);
}

/** A new zeroed typed array of `n` elements for `dtype` (f32 for f16, see TypedArray). */
export function allocArray(dtype: DType, n: number): TypedArray {
  if (dtype === "f32" || dtype === "f16") return new Float32Array(n);
  if (dtype === "i32") return new Int32Array(n);
  return new Uint32Array(n);
}

/** Copy of `src` (numbers or any typed array) converted to `dtype`. */
export function toArray(src: ArrayLike<number>, dtype: DType): TypedArray {
  const out = allocArray(dtype, src.length);
  out.set(src);
  return out;
}

/** Dtype code used in kernel metadata: 0 = f32, 1 = i32, 2 = u32, 3 = f16. */
export function dtypeCode(dtype: DType): number {
  return dtype === "f32" ? 0 : dtype === "i32" ? 1 : dtype === "u32" ? 2 : 3;
}

/** True for the floating-point dtypes (f32 and f16). */
export function isFloat(dtype: DType): boolean {
  return dtype === "f32" || dtype === "f16";
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
