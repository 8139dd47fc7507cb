// WGSL of rotary embedding in the HF rotate-half layout: for d < half, the pair (d, d + half) is
// rotated by angle pos * theta^(-2d/headDim). The backward is the inverse rotation (sign = -1).
// An invocation owns one (batch, token, d) and rotates that pair in every head, so each cos/sin
// (the costly part on software adapters) is computed once per token instead of once per head.
import { STRIDE_PRELUDE } from "../kernel";

/** Workgroup size of rope. */
export const ROPE_WG = 256;

/** meta: batch, nHeads, seqLen, headDim, theta, sign. Bindings x, pos (i32 [batch, seqLen]), y. */
export function ropeWgsl(decls: string): string {
  return /* wgsl */ `${decls}
const WG: u32 = ${ROPE_WG}u;
@compute @workgroup_size(${ROPE_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${STRIDE_PRELUDE}
  let batch = M(0u); let nHeads = M(1u); let seqLen = M(2u); let hd = M(3u);
  let theta = Mf(4u); let sgn = Mf(5u);
  let half = hd / 2u;
  let n = batch * seqLen * half;
  for (var i = tid; i < n; i += nthreads) {
    let d = i % half;
    let t = (i / half) % seqLen;
    let b = i / (half * seqLen);
    let invFreq = 1.0 / pow(theta, f32(2u * d) / f32(hd));
    let ang = f32(ld_pos(b * seqLen + t)) * invFreq;
    let c = cos(ang); let s = sin(ang) * sgn;
    for (var h = 0u; h < nHeads; h++) {
      let rowBase = ((b * nHeads + h) * seqLen + t) * hd;
      let x1 = ld_x(rowBase + d); let x2 = ld_x(rowBase + d + half);
      st_y(rowBase + d, x1 * c - x2 * s);
      st_y(rowBase + d + half, x2 * c + x1 * s);
    }
  }
}`;
}
