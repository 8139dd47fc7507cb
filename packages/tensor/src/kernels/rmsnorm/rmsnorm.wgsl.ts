// WGSL of RMSNorm over the last axis: y = x * rstd * w with rstd = 1/sqrt(mean(x^2) + eps), and
// its input gradient dx = rstd * (g w - xhat * mean(g w xhat)); the weight gradient sums
// g * x * rstd down the rows in one pass (partial sums per chunk of rows).
import { rowKernel } from "../rows";
import { DW_CHUNK } from "./rmsnorm.ref";

/** meta: rows, n, eps. Bindings x, w, y, rstd. */
export function rmsNormWgsl(decls: string, perThread = false): string {
  return rowKernel(
    decls,
    /* wgsl */ `
    let n = M(1u); let eps = Mf(2u);
    let base = row * n;
    var ss = 0.0;
    for (var j = lid; j < n; j += STRIDE) { let v = ld_x(base + j); ss += v * v; }
    ss = wgSum(lid, ss);
    let r = inverseSqrt(ss / f32(n) + eps);
    for (var j = lid; j < n; j += STRIDE) { st_y(base + j, ld_x(base + j) * r * ld_w(j)); }
    if (lid == 0u) { st_rstd(row, r); }`,
    perThread,
  );
}

/** meta as forward. Bindings x, w, g, rstd, dx. */
export function rmsNormBackwardWgsl(decls: string, perThread = false): string {
  return rowKernel(
    decls,
    /* wgsl */ `
    let n = M(1u);
    let base = row * n;
    let r = ld_rstd(row);
    var d = 0.0;
    for (var j = lid; j < n; j += STRIDE) { d += ld_g(base + j) * ld_w(j) * ld_x(base + j) * r; }
    d = wgSum(lid, d) / f32(n);
    for (var j = lid; j < n; j += STRIDE) {
      let xh = ld_x(base + j) * r;
      st_dx(base + j, r * (ld_g(base + j) * ld_w(j) - xh * d));
    }`,
    perThread,
  );
}

/** Workgroup size of the weight-gradient kernel. */
export const DW_WG = 64;

/** meta as forward. Bindings x, g, rstd, partial [chunks, n]: one invocation per (chunk, column). */
export function rmsNormDwWgsl(decls: string): string {
  return /* wgsl */ `${decls}
@compute @workgroup_size(${DW_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let rows = M(0u); let n = M(1u);
  let j = gid.x;
  let c = gid.y;
  if (j >= n) { return; }
  let r0 = c * ${DW_CHUNK}u;
  let r1 = min(rows, r0 + ${DW_CHUNK}u);
  var acc = 0.0;
  for (var r = r0; r < r1; r++) { acc += ld_g(r * n + j) * ld_x(r * n + j) * ld_rstd(r); }
  st_partial(c * n + j, acc);
}`;
}
