// WGSL of gather along an axis (x [outer, V, inner], ids [count] -> [outer, count, inner]) and of
// its gradient, a scatter-add through f32 compare-exchange atomics.
import { STRIDE_PRELUDE } from "../kernel";

/** Workgroup size of gather / scatter-add. */
export const GATHER_WG = 256;

/** meta: outer, V, inner, count. Out-of-range ids give zeros. */
export function gatherWgsl(decls: string): string {
  return /* wgsl */ `${decls}
const WG: u32 = ${GATHER_WG}u;
@compute @workgroup_size(${GATHER_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${STRIDE_PRELUDE}
  let outer = M(0u); let V = M(1u); let inner = M(2u); let count = M(3u);
  let n = outer * count * inner;
  for (var i = tid; i < n; i += nthreads) {
    let e = i % inner;
    let c = (i / inner) % count;
    let o = i / (inner * count);
    let id = ld_ids(c);
    if (id < 0 || u32(id) >= V) { st_out(i, 0u); continue; }
    st_out(i, ld_x((o * V + u32(id)) * inner + e));
  }
}`;
}

/** meta as gather; dx must be zeroed; g [outer, count, inner] is added into dx rows. */
export function scatterAddWgsl(decls: string): string {
  return /* wgsl */ `${decls}
const WG: u32 = ${GATHER_WG}u;
@compute @workgroup_size(${GATHER_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${STRIDE_PRELUDE}
  let outer = M(0u); let V = M(1u); let inner = M(2u); let count = M(3u);
  let n = outer * count * inner;
  for (var i = tid; i < n; i += nthreads) {
    let e = i % inner;
    let c = (i / inner) % count;
    let o = i / (inner * count);
    let id = ld_ids(c);
    if (id < 0 || u32(id) >= V) { continue; }
    add_dx((o * V + u32(id)) * inner + e, ld_g(i));
  }
}`;
}
