// WGSL builder of the single elementwise kernel: every op of the table is one case of a switch on
// the op code (a uniform), so all elementwise work shares one pipeline. Broadcasting by strides.
import { STRIDE_PRELUDE } from "../kernel";
import { ELEM_OPS, type ElemOp, GRAD_CODE_OFFSET } from "./table";

/** Workgroup size of the elementwise kernel. */
export const ELEM_WG = 256;
/** Highest rank the elementwise kernel broadcasts over. */
export const MAX_RANK = 8;

/** Meta word layout (see elementwise.ref.ts for the same layout in JS). */
export const META = { n: 0, op: 1, rank: 2, modes: 3, dt: 4, s: 8, s2: 9, shape: 10, strides: 18 };

function cases(): string {
  const out: string[] = [];
  for (const op of Object.values(ELEM_OPS as Record<string, ElemOp>)) {
    out.push(`case ${op.code}u: { r = ${op.wgsl}; }`);
    if (op.gradWgsl) {
      out.push(
        `case ${op.code + GRAD_CODE_OFFSET}u: { let g = y; let o = z; r = ${op.gradWgsl}; }`,
      );
    }
  }
  return out.join("\n      ");
}

/** Full WGSL of the elementwise kernel over the given binding declarations. */
export function elementwiseWgsl(decls: string): string {
  return /* wgsl */ `${decls}
const WG: u32 = ${ELEM_WG}u;
fn tanh_(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }
fn powf(x: f32, p: f32) -> f32 {
  if (x >= 0.0) { return pow(x, p); }
  if (p == round(p)) { let m = pow(-x, p); return select(m, -m, (i32(p) & 1) == 1); }
  return nan_();
}
fn toF(bits: u32, dt: u32) -> f32 {
  if (dt == 0u) { return bitcast<f32>(bits); }
  if (dt == 1u) { return f32(bitcast<i32>(bits)); }
  return f32(bits);
}
fn fromF(v: f32, dt: u32) -> u32 {
  if (dt == 0u) { return bitcast<u32>(v); }
  if (dt == 1u) { return bitcast<u32>(i32(v)); }
  return u32(v);
}
fn src(k: u32, i: u32) -> u32 {
  let mode = (M(${META.modes}u) >> (2u * k)) & 3u;
  if (mode == 0u) { return i; }
  if (mode == 1u) { return 0u; }
  var rem = i;
  var off = 0u;
  let rank = M(${META.rank}u);
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let sz = M(${META.shape}u + u32(d));
    off += (rem % sz) * M(${META.strides}u + k * ${MAX_RANK}u + u32(d));
    rem = rem / sz;
  }
  return off;
}
@compute @workgroup_size(${ELEM_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${STRIDE_PRELUDE}
  let n = M(${META.n}u);
  let op = M(${META.op}u);
  let dtA = M(${META.dt}u); let dtB = M(${META.dt + 1}u); let dtC = M(${META.dt + 2}u); let dtO = M(${META.dt + 3}u);
  let s = Mf(${META.s}u);
  let s2 = Mf(${META.s2}u);
  for (var i = tid; i < n; i += nthreads) {
    if (op == 0u && dtA == dtO) { st_out(i, ld_a(src(0u, i))); continue; }
    let x = toF(ld_a(src(0u, i)), dtA);
    let y = toF(ld_b(src(1u, i)), dtB);
    let z = toF(ld_c(src(2u, i)), dtC);
    var r: f32 = 0.0;
    switch op {
      ${cases()}
      default: { r = nan_(); }
    }
    st_out(i, fromF(r, dtO));
  }
}`;
}
