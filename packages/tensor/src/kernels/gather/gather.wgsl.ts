// WGSL of gather along an axis (x [outer, V, inner], ids [count] -> [outer, count, inner]) and of
// its gradient, a deterministic scatter-add (each id's positions summed in order by one thread).
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
    if (id < 0 || u32(id) >= V) { st_out(i, W_out(0)); continue; }
    st_out(i, ld_x((o * V + u32(id)) * inner + e));
  }
}`;
}

/**
 * meta: count. For each position c of ids: links[c] = the next position c' > c holding the same id
 * (-1 if none), links[count + c] = 1 if no earlier position holds that id (c starts its chain).
 * O(count^2) compares in the worst case, but no floats: it only orders the scatter-add below.
 */
export function scatterLinksWgsl(decls: string): string {
  return /* wgsl */ `${decls}
const WG: u32 = ${GATHER_WG}u;
@compute @workgroup_size(${GATHER_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${STRIDE_PRELUDE}
  let count = M(0u);
  for (var c = tid; c < count; c += nthreads) {
    let id = ld_ids(c);
    var next = -1;
    for (var k = c + 1u; k < count; k++) { if (ld_ids(k) == id) { next = i32(k); break; } }
    var first = 1;
    for (var k = 0u; k < c; k++) { if (ld_ids(k) == id) { first = 0; break; } }
    st_links(c, next);
    st_links(count + c, first);
  }
}`;
}

/**
 * meta as gather; dx must be zeroed; g [outer, count, inner] is added into dx rows. Deterministic:
 * the thread of an id's first position sums its chain (links) in position order, then writes the row
 * once, so results are bit-identical run to run and equal the CPU reference's sequential sums.
 */
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
    if (id < 0 || u32(id) >= V || ld_links(count + c) == 0) { continue; }
    var acc = 0.0;
    var k = i32(c);
    loop {
      if (k < 0) { break; }
      acc += ld_g((o * count + u32(k)) * inner + e);
      k = ld_links(u32(k));
    }
    let d = (o * V + u32(id)) * inner + e;
    st_dx(d, ld_dx(d) + acc);
  }
}`;
}
