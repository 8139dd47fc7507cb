// The kernel contract shared by both devices: a WGSL builder (WebGPU device) and a hand-written
// CPU reference (CPU device) over the same bindings and parameters.
import type { TypedArray } from "../dtype";

/** Element type of a storage binding as the shader sees it. */
export type BindingType = "f32" | "i32" | "u32" | "vec4<f32>";

/** One storage binding of a kernel, in the order tensors are passed to `run`. */
export interface BindingSpec {
  name: string;
  type: BindingType;
  write: boolean;
}

/** What the WebGPU device tells a builder when it compiles a variant. */
export interface ShaderEnv {
  /** WGSL declarations of the meta uniform and every binding with ld_/st_ accessors. */
  decls: string;
  /** Elements per bound page (bindings larger than the binding limit are split into pages). */
  pageElems: number;
  /** true on a software adapter (lavapipe): selects CPU-friendly variants. */
  software: boolean;
}

/** A compute kernel: WGSL for the GPU, plain loops for the CPU, same parameters `P`. */
export interface KernelDef<P> {
  name: string;
  bindings(p: P): BindingSpec[];
  /** Variant key: everything baked into the shader text (not the meta words). */
  variant(p: P, software: boolean): string;
  wgsl(p: P, env: ShaderEnv): string;
  /** Uniform words (u32; floats as bits) read in WGSL with M(i) / Mf(i); at most 64. */
  meta(p: P): number[];
  /** Workgroup counts [x, y, z]. */
  grid(p: P, software: boolean): [number, number, number];
  /** CPU reference over the binding arrays (same order as bindings()). */
  ref(p: P, arrays: TypedArray[]): void;
}

/**
 * Most workgroups a memory-bound grid-stride kernel launches on a software adapter: lavapipe
 * pays per workgroup, so fewer, longer-looping groups run faster: elementwise add over 180k
 * values 1.46 -> 0.66 ms, rope 0.94 -> 0.56, AdamW 0.61 -> 0.42, embedding gather 1.47 -> 0.77
 * (the strided copy kernel is the exception: it ran 3x slower capped, so it is not).
 */
export const SOFTWARE_MAX_GROUPS = 32;

/**
 * Workgroup count for a grid-stride loop over `n` items with `wg`-wide groups; `software` caps
 * it at SOFTWARE_MAX_GROUPS (memory-bound kernels only).
 */
export function strideGroups(n: number, wg: number, software = false): number {
  return Math.max(1, Math.min(Math.ceil(n / wg), software ? SOFTWARE_MAX_GROUPS : 65535));
}

/** WGSL that yields the global linear thread id and the total thread count for stride loops. */
export const STRIDE_PRELUDE = /* wgsl */ `
  let tid = gid.x + gid.y * nwg.x * WG;
  let nthreads = nwg.x * nwg.y * WG;`;

/** WGSL code generation: `f(i)` for i in [0, n), joined by `sep` (unrolled statements or terms). */
export function unroll(n: number, f: (i: number) => string, sep = "\n    "): string {
  return Array.from({ length: n }, (_, i) => f(i)).join(sep);
}
