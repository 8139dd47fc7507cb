// WGSL of the strided copy: walks an iteration shape and copies raw 32-bit words from a strided
// source position to a strided destination position (permute, slice, concat, expand, pad).
import { STRIDE_PRELUDE } from "../kernel";

/** Workgroup size of the copy kernel. */
export const COPY_WG = 256;

/** Elements of the last dim one invocation copies (index math is paid once per chunk). */
export const COPY_CHUNK = 64;

/** meta: n, rank, srcOff, dstOff, shape[8], srcStrides[8], dstStrides[8]. */
export function copyWgsl(decls: string): string {
  return /* wgsl */ `${decls}
const WG: u32 = ${COPY_WG}u;
@compute @workgroup_size(${COPY_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${STRIDE_PRELUDE}
  let n = M(0u); let rank = M(1u);
  let last = M(4u + rank - 1u);
  let sLast = M(12u + rank - 1u);
  let dLast = M(20u + rank - 1u);
  let nChunks = (last + ${COPY_CHUNK - 1}u) / ${COPY_CHUNK}u;
  let items = (n / last) * nChunks;
  for (var it = tid; it < items; it += nthreads) {
    let chunk = it % nChunks;
    var rem = it / nChunks;
    var so = M(2u);
    var dst = M(3u);
    for (var d = i32(rank) - 2; d >= 0; d--) {
      let sz = M(4u + u32(d));
      let cd = rem % sz;
      rem = rem / sz;
      so += cd * M(12u + u32(d));
      dst += cd * M(20u + u32(d));
    }
    let e0 = chunk * ${COPY_CHUNK}u;
    let e1 = min(last, e0 + ${COPY_CHUNK}u);
    for (var e = e0; e < e1; e++) { st_dst(dst + e * dLast, ld_src(so + e * sLast)); }
  }
}`;
}
