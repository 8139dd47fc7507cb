// Tensor factories: from host data, constants, seeded random, ranges, and f16/bf16 loading.
import type { Device } from "./device";
import { type Backend, getBackend } from "./device";
import { allocArray, type DType, shapeSize, type TypedArray, toArray } from "./dtype";
import { ShapeError } from "./errors";
import { bf16ToF32, f16ToF32, f32ToF16Checked } from "./half";
import { empty, launchElementwise } from "./ops/core";
import { seededRandom } from "./random";
import { Tensor } from "./tensor";

/** Options of the factories. */
export interface TensorOptions {
  dtype?: DType;
  /** Name used in error messages (e.g. the weight a range error is about). */
  name?: string;
  requiresGrad?: boolean;
  device?: Device;
}

function backendOf(opts?: TensorOptions): Backend {
  return (opts?.device as Backend | undefined) ?? getBackend();
}

function finish(t: Tensor, opts?: TensorOptions): Tensor {
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

/** A tensor from host values (copied to the device). */
export function tensor(
  data: ArrayLike<number>,
  shape: readonly number[],
  opts?: TensorOptions,
): Tensor {
  const n = shapeSize(shape);
  if (data.length !== n) {
    throw new ShapeError(`tensor(): ${data.length} values for shape [${shape}] (needs ${n})`);
  }
  const inferred: DType =
    data instanceof Int32Array ? "i32" : data instanceof Uint32Array ? "u32" : "f32";
  const dtype = opts?.dtype ?? inferred;
  const arr: TypedArray =
    (dtype === "f32" && data instanceof Float32Array) ||
    (dtype === "i32" && data instanceof Int32Array) ||
    (dtype === "u32" && data instanceof Uint32Array)
      ? (data as TypedArray)
      : toArray(data, dtype);
  const b = backendOf(opts);
  // f16: the device stores 16-bit codes; values beyond f16's range are refused, not made inf
  const stored = dtype === "f16" ? f32ToF16Checked(arr, opts?.name ?? "tensor()") : arr;
  const what = () => opts?.name ?? `${dtype} [${shape.join(", ")}]`;
  return finish(Tensor.fresh(b, b.upload(stored, what), shape, dtype), opts);
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, opts?: TensorOptions): Tensor {
  const b = backendOf(opts);
  const dtype = opts?.dtype ?? "f32";
  return finish(launchElementwise("fill", [], dtype, value, 0, shape, b), opts);
}

/** Zeros. */
export function zeros(shape: readonly number[], opts?: TensorOptions): Tensor {
  return full(shape, 0, opts);
}

/** Ones. */
export function ones(shape: readonly number[], opts?: TensorOptions): Tensor {
  return full(shape, 1, opts);
}

/** Internal: same shape/dtype/device filled with `value`. */
export function fullLike(t: Tensor, value: number): Tensor {
  return launchElementwise("fill", [], t.dtype, value, 0, t.shape, t.backend);
}

/** Normal samples from a seeded generator (Box-Muller); same values on every device. */
export function randn(
  shape: readonly number[],
  opts: TensorOptions & { seed: number; std?: number; mean?: number },
): Tensor {
  const rng = seededRandom(opts.seed);
  const n = shapeSize(shape);
  const out = new Float32Array(n);
  const std = opts.std ?? 1;
  const mean = opts.mean ?? 0;
  for (let i = 0; i < n; i++) out[i] = mean + std * rng.normal();
  return tensor(out, shape, { ...opts, dtype: "f32" });
}

/** Uniform samples in [low, high) from a seeded generator. */
export function uniform(
  shape: readonly number[],
  opts: TensorOptions & { seed: number; low?: number; high?: number },
): Tensor {
  const rng = seededRandom(opts.seed);
  const n = shapeSize(shape);
  const out = new Float32Array(n);
  const low = opts.low ?? 0;
  const high = opts.high ?? 1;
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * rng.next();
  return tensor(out, shape, { ...opts, dtype: "f32" });
}

/** 0, 1, ..., n-1 (f32 unless dtype given). */
export function arange(n: number, opts?: TensorOptions): Tensor {
  const arr = allocArray(opts?.dtype ?? "f32", n);
  for (let i = 0; i < n; i++) arr[i] = i;
  return tensor(arr, [n], opts);
}

/**
 * IEEE half-precision bits -> tensor: f16 (the codes uploaded as they are) when `opts.dtype` is
 * "f16", else f32.
 */
export function fromF16(u16: Uint16Array, shape: readonly number[], opts?: TensorOptions): Tensor {
  checkSize("fromF16", u16.length, shape);
  if (opts?.dtype === "f16") {
    const b = backendOf(opts);
    const what = () => opts?.name ?? `f16 [${shape.join(", ")}]`;
    return finish(Tensor.fresh(b, b.upload(u16, what), shape, "f16"), opts);
  }
  return tensor(f16ToF32(u16), shape, { ...opts, dtype: "f32" });
}

/**
 * bfloat16 bits -> f32 tensor, or f16 when `opts.dtype` is "f16" (bf16 reaches 3.4e38, f16 only
 * 65504: values beyond that are refused with an F16RangeError naming `opts.name`).
 */
export function fromBF16(u16: Uint16Array, shape: readonly number[], opts?: TensorOptions): Tensor {
  return tensor(bf16ToF32(u16), shape, { ...opts, dtype: opts?.dtype === "f16" ? "f16" : "f32" });
}

function checkSize(what: string, n: number, shape: readonly number[]): void {
  if (n !== shapeSize(shape)) {
    throw new ShapeError(`${what}: ${n} values for shape [${shape}] (needs ${shapeSize(shape)})`);
  }
}

/** Internal: uninitialised tensor (for ops). */
export { empty };
