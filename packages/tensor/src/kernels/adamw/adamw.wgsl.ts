// WGSL of the fused AdamW step (decoupled weight decay, bias correction), in place on p, m, v.
import { STRIDE_PRELUDE } from "../kernel";

/** Workgroup size of AdamW. */
export const ADAMW_WG = 256;

/** meta: n, lr, beta1, beta2, eps, weightDecay, 1 - beta1^step, 1 - beta2^step. */
export function adamwWgsl(decls: string): string {
  return /* wgsl */ `${decls}
const WG: u32 = ${ADAMW_WG}u;
@compute @workgroup_size(${ADAMW_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${STRIDE_PRELUDE}
  let n = M(0u); let lr = Mf(1u); let b1 = Mf(2u); let b2 = Mf(3u); let eps = Mf(4u);
  let wd = Mf(5u); let bc1 = Mf(6u); let bc2 = Mf(7u);
  for (var i = tid; i < n; i += nthreads) {
    let g = ld_g(i);
    let m = b1 * ld_m(i) + (1.0 - b1) * g;
    let v = b2 * ld_v(i) + (1.0 - b2) * g * g;
    st_m(i, m);
    st_v(i, v);
    var p = ld_p(i) * (1.0 - lr * wd);
    p -= lr * (m / bc1) / (sqrt(v / bc2) + eps);
    st_p(i, p);
  }
}`;
}
