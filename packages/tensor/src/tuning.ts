// What the autotuner (autotune.ts) chooses among and what it has chosen: the candidate variants
// per kernel family and adapter kind, the shape classes a choice applies to, and the per-device
// table of choices that `matmul` and `attention` consult (without importing the tuner itself).
import type { Device } from "./device";
import type { AttentionParams } from "./kernels/attention/attention.ref";
import type { MatmulTiling } from "./kernels/matmul/matmul.wgsl";

/** One shape to tune for. */
export type TuneWork =
  | { op: "matmul"; m: number; k: number; n: number; transA?: boolean; transB?: boolean }
  | ({ op: "attention" } & Pick<
      AttentionParams,
      "batch" | "nHeads" | "nKvHeads" | "lq" | "lk" | "headDim"
    >);

/** Options a matmul candidate passes to `matmul`. */
export interface MatmulChoice {
  tiling?: MatmulTiling;
  scalar?: boolean;
}

/** Attention kernel families a candidate may name. */
export type AttentionFamily = "generic" | "unrolled" | "tiled";

const tiling = (tm: number, tn: number, wx: number, wy: number): MatmulTiling => ({
  tm,
  tn,
  wx,
  wy,
});

/** Matmul candidates by name, per adapter kind ("default": the built-in choice). */
export const MATMUL_CANDIDATES: Record<"software" | "hardware", Record<string, MatmulChoice>> = {
  software: {
    default: {},
    "24x4/8x1": { tiling: tiling(24, 4, 8, 1) },
    "20x4/8x1": { tiling: tiling(20, 4, 8, 1) },
    "16x4/8x1": { tiling: tiling(16, 4, 8, 1) },
    "12x4/8x1": { tiling: tiling(12, 4, 8, 1) },
    "8x8/8x1": { tiling: tiling(8, 8, 8, 1) },
    "4x8/8x1": { tiling: tiling(4, 8, 8, 1) },
    "4x4/8x1": { tiling: tiling(4, 4, 8, 1) },
    scalar: { scalar: true },
  },
  hardware: {
    default: {},
    "4x4/16x16": { tiling: tiling(4, 4, 16, 16) },
    "2x2/16x16": { tiling: tiling(2, 2, 16, 16) },
    "4x4/8x8": { tiling: tiling(4, 4, 8, 8) },
    scalar: { scalar: true },
  },
};

/** Attention candidates per adapter kind (tiled kernels never win on a CPU, so not timed there). */
export const ATTENTION_CANDIDATES: Record<"software" | "hardware", AttentionFamily[]> = {
  software: ["unrolled", "generic"],
  hardware: ["tiled", "generic"],
};

/** Rounds to the nearest power of two (shape classes: one tuning serves nearby shapes). */
function bucket(x: number): number {
  return 2 ** Math.round(Math.log2(Math.max(1, x)));
}

/** The shape class of a matmul: its transposes and M, N, K rounded to powers of two. */
export function matmulShapeClass(w: {
  m: number;
  k: number;
  n: number;
  transA?: boolean;
  transB?: boolean;
}): string {
  return `matmul ${bucket(w.m)}x${bucket(w.k)}x${bucket(w.n)} ${+!!w.transA}${+!!w.transB}`;
}

/** The shape class of an attention call: headDim, GQA group and lengths rounded. */
export function attentionShapeClass(w: {
  nHeads: number;
  nKvHeads: number;
  lq: number;
  lk: number;
  headDim: number;
}): string {
  return `attention hd${w.headDim} g${w.nHeads / w.nKvHeads} q${bucket(w.lq)} k${bucket(w.lk)}`;
}

const tables = new WeakMap<Device, Map<string, string>>();
let recorder: TuneWork[] | null = null;

/** Internal: the table of choices of a device (shape class -> candidate name). */
export function tuningTable(dev: Device): Map<string, string> {
  let t = tables.get(dev);
  if (!t) {
    t = new Map();
    tables.set(dev, t);
  }
  return t;
}

/** Internal: whether ops need to build shape classes (a recording is on, or choices exist). */
export function tuningActive(dev: Device): boolean {
  return recorder !== null || (tables.get(dev)?.size ?? 0) > 0;
}

/** Internal: the recorded choice for a shape class on a device, if any. */
export function tunedChoice(dev: Device, shapeClass: string): string | undefined {
  return tables.get(dev)?.get(shapeClass);
}

/** Internal: ops report the shapes they run (with no forced variant) while a recording is on. */
export function noteWork(w: TuneWork): void {
  recorder?.push(w);
}

/**
 * Runs fn (e.g. one training step) and returns the matmul and attention shapes it ran with
 * automatic variant choice: the work list to give `autotune`.
 */
export async function recordTuneWork(fn: () => unknown): Promise<TuneWork[]> {
  const outer = recorder;
  const mine: TuneWork[] = [];
  recorder = mine;
  try {
    await fn();
  } finally {
    recorder = outer;
  }
  return mine;
}
