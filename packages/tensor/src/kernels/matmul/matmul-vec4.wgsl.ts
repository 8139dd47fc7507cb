// WGSL builders of the vectorised matmul variants (used when the shapes allow 16-byte loads):
// "nn" (B not transposed, N % 4 == 0; A read scalar, plain or transposed): each invocation owns
// TM rows x 4*TV contiguous columns held in vec4 accumulators; "nt" (B transposed, A plain,
// K % 4 == 0): both operands read as vec4 along K, TM x TN dot-product accumulators.
import { unroll } from "../kernel";
import { MATMUL_BATCH, type MatmulTiling } from "./matmul.wgsl";

/** "nn" variant: t.tn counts vec4 column groups per invocation. */
export function matmulNNWgsl(decls: string, t: MatmulTiling, transA: boolean): string {
  const { tm, tn: tv, wx, wy } = t;
  const aIdx = (i: number) => (transA ? `aOff + k * Mm + r${i}` : `aOff + r${i} * Kk + k`);
  return /* wgsl */ `${decls}
@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${MATMUL_BATCH}
  let Nv = Nn / 4u;
  let row0 = ${wy === 1 ? `wid.y * ${tm}u` : `(wid.y * ${wy}u + lid.y) * ${tm}u`};
  let cv0 = (wid.x * ${wx}u + lid.x) * ${tv}u;
  if (row0 >= Mm || cv0 >= Nv) { return; }
  ${unroll(tm, (i) => `let r${i} = min(row0 + ${i}u, Mm - 1u);`)}
  ${unroll(tv, (v) => `let c${v} = min(cv0 + ${v}u, Nv - 1u);`)}
  ${unroll(tm * tv, (q) => `var acc${q} = vec4<f32>(0.0);`)}
  let bOffv = bOff / 4u;
  for (var k = 0u; k < Kk; k++) {
    ${unroll(tm, (i) => `let a${i} = ld_a(${aIdx(i)});`)}
    ${unroll(tv, (v) => `let b${v} = ld_b(bOffv + k * Nv + c${v});`)}
    ${unroll(tm * tv, (q) => `acc${q} += a${Math.floor(q / tv)} * b${q % tv};`)}
  }
  let cOffv = cOff / 4u;
  ${unroll(
    tm * tv,
    (q) =>
      `if (row0 + ${Math.floor(q / tv)}u < Mm && cv0 + ${q % tv}u < Nv) { st_c(cOffv + (row0 + ${Math.floor(q / tv)}u) * Nv + cv0 + ${q % tv}u, acc${q}); }`,
  )}
}`;
}

/** "nt" variant: C = A B^T with A [M, K], B [N, K], K % 4 == 0. */
export function matmulNTWgsl(decls: string, t: MatmulTiling): string {
  const { tm, tn, wx, wy } = t;
  return /* wgsl */ `${decls}
@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${MATMUL_BATCH}
  let Kv = Kk / 4u;
  let row0 = ${wy === 1 ? `wid.y * ${tm}u` : `(wid.y * ${wy}u + lid.y) * ${tm}u`};
  let col0 = (wid.x * ${wx}u + lid.x) * ${tn}u;
  if (row0 >= Mm || col0 >= Nn) { return; }
  ${unroll(tm, (i) => `let r${i} = (aOff / 4u) + min(row0 + ${i}u, Mm - 1u) * Kv;`)}
  ${unroll(tn, (j) => `let c${j} = (bOff / 4u) + min(col0 + ${j}u, Nn - 1u) * Kv;`)}
  ${unroll(tm * tn, (q) => `var acc${q} = vec4<f32>(0.0);`)}
  for (var k = 0u; k < Kv; k++) {
    ${unroll(tm, (i) => `let a${i} = ld_a(r${i} + k);`)}
    ${unroll(tn, (j) => `let b${j} = ld_b(c${j} + k);`)}
    ${unroll(tm * tn, (q) => `acc${q} += a${Math.floor(q / tn)} * b${q % tn};`)}
  }
  ${unroll(
    tm * tn,
    (q) =>
      `if (row0 + ${Math.floor(q / tn)}u < Mm && col0 + ${q % tn}u < Nn) { st_c(cOff + (row0 + ${Math.floor(q / tn)}u) * Nn + col0 + ${q % tn}u, dot(acc${q}, vec4<f32>(1.0))); }`,
  )}
}`;
}
