// WGSL builder of the register-blocked batched matmul C = op(A) @ op(B). Each invocation owns a
// TM x TN block of C: rows blocked per thread, columns interleaved across the workgroup's x lanes
// (so neighbouring lanes read neighbouring addresses). Transposed operands are read in place.
import { unroll } from "../kernel";

/** Shape of one matmul variant (baked into the shader). */
export interface MatmulTiling {
  tm: number;
  tn: number;
  wx: number;
  wy: number;
}

/** Variant used on software adapters (lavapipe: 8-wide SIMD lanes, no workgroup memory). */
export const SOFTWARE_TILING: MatmulTiling = { tm: 8, tn: 4, wx: 8, wy: 1 };
/** Variant used on hardware GPUs. */
export const GPU_TILING: MatmulTiling = { tm: 4, tn: 4, wx: 16, wy: 16 };

/**
 * WGSL prelude of every matmul variant: sizes from the meta words and the A/B/C offsets of batch
 * entry wid.z (broadcast batch dims have stride 0).
 */
export const MATMUL_BATCH = /* wgsl */ `
  let Mm = M(0u); let Nn = M(1u); let Kk = M(2u); let brank = M(3u);
  var rem = wid.z;
  var aOff = 0u; var bOff = 0u;
  for (var d = i32(brank) - 1; d >= 0; d--) {
    let sz = M(4u + u32(d));
    let cd = rem % sz;
    rem = rem / sz;
    aOff += cd * M(8u + u32(d));
    bOff += cd * M(12u + u32(d));
  }
  let cOff = wid.z * Mm * Nn;`;

/** Full WGSL for one tiling and transpose combination. */
export function matmulWgsl(
  decls: string,
  t: MatmulTiling,
  transA: boolean,
  transB: boolean,
): string {
  const { tm, tn, wx, wy } = t;
  const aIdx = (i: number) => (transA ? `aOff + k * Mm + r${i}` : `aOff + r${i} * Kk + k`);
  const bIdx = (j: number) => (transB ? `bOff + c${j} * Kk + k` : `bOff + k * Nn + c${j}`);
  return /* wgsl */ `${decls}
@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${MATMUL_BATCH}
  let row0 = ${wy === 1 ? `wid.y * ${tm}u` : `(wid.y * ${wy}u + lid.y) * ${tm}u`};
  let col0 = wid.x * ${wx * tn}u + lid.x;
  if (row0 >= Mm) { return; }
  ${unroll(tm, (i) => `let r${i} = min(row0 + ${i}u, Mm - 1u);`)}
  ${unroll(tn, (j) => `let c${j} = min(col0 + ${j * wx}u, Nn - 1u);`)}
  var acc: array<f32, ${tm * tn}>;
  for (var k = 0u; k < Kk; k++) {
    ${unroll(tm, (i) => `let a${i} = ld_a(${aIdx(i)});`)}
    ${unroll(tn, (j) => `let b${j} = ld_b(${bIdx(j)});`)}
    ${unroll(tm * tn, (q) => `acc[${q}] += a${Math.floor(q / tn)} * b${q % tn};`)}
  }
  ${unroll(
    tm * tn,
    (q) =>
      `if (row0 + ${Math.floor(q / tn)}u < Mm && col0 + ${(q % tn) * wx}u < Nn) { st_c(cOff + (row0 + ${Math.floor(q / tn)}u) * Nn + col0 + ${(q % tn) * wx}u, acc[${q}]); }`,
  )}
}`;
}
