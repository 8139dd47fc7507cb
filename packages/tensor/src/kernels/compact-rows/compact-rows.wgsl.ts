// WGSL of the in-place row compaction: one invocation per (batch entry, mid index, inner element)
// walks that column's kept rows in increasing order, so no invocation reads a row another one has
// already overwritten (each row is moved by the invocations of its own columns only).
import { STRIDE_PRELUDE } from "../kernel";

/** Workgroup size of the compaction kernel. */
export const COMPACT_ROWS_WG = 256;

/** meta: batch, mid, rows, inner. */
export function compactRowsWgsl(decls: string): string {
  return /* wgsl */ `${decls}
const WG: u32 = ${COMPACT_ROWS_WG}u;
@compute @workgroup_size(${COMPACT_ROWS_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${STRIDE_PRELUDE}
  let batch = M(0u); let mid = M(1u); let rows = M(2u); let inner = M(3u);
  let items = batch * mid * inner;
  for (var it = tid; it < items; it += nthreads) {
    let e = it % inner;
    let bm = it / inner;
    let count = u32(ld_table(3u * bm));
    let first = u32(ld_table(3u * bm + 1u));
    let off = u32(ld_table(3u * bm + 2u));
    let base = bm * rows * inner + e;
    for (var i = first; i < count; i++) {
      let src = u32(ld_table(off + i));
      st_x(base + i * inner, ld_x(base + src * inner));
    }
  }
}`;
}
