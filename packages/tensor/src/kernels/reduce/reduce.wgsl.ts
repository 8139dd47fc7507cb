// WGSL of the axis reduction (sum / max / argmax): input viewed as [outer, r, inner], one
// workgroup per output element, a strided partial per thread, then a tree in workgroup memory.

/** Threads per workgroup of the reduction. */
export const REDUCE_WG = 64;

/** Reduction kernel WGSL; meta: outer, r, inner, op (0 sum, 1 max, 2 argmax). */
export function reduceWgsl(decls: string): string {
  return /* wgsl */ `${decls}
var<workgroup> sv: array<f32, ${REDUCE_WG}>;
var<workgroup> si: array<u32, ${REDUCE_WG}>;
fn better(op: u32, v: f32, j: u32, acc: f32, idx: u32) -> bool {
  if (op == 0u) { return false; }
  return v > acc || (v == acc && j < idx);
}
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let outer = M(0u); let r = M(1u); let inner = M(2u); let op = M(3u);
  let nOut = outer * inner;
  for (var o = wid.x + wid.y * nwg.x; o < nOut; o += nwg.x * nwg.y) {
    let base = (o / inner) * r * inner + (o % inner);
    var acc = select(ninf_(), 0.0, op == 0u);
    var idx = 0xffffffffu;
    for (var j = lid; j < r; j += ${REDUCE_WG}u) {
      let v = ld_x(base + j * inner);
      if (op == 0u) { acc += v; } else if (better(op, v, j, acc, idx) || idx == 0xffffffffu) { acc = v; idx = j; }
    }
    sv[lid] = acc;
    si[lid] = idx;
    workgroupBarrier();
    for (var st = ${REDUCE_WG / 2}u; st > 0u; st = st / 2u) {
      if (lid < st) {
        let v = sv[lid + st]; let j = si[lid + st];
        if (op == 0u) { sv[lid] = sv[lid] + v; }
        else if (j != 0xffffffffu && (si[lid] == 0xffffffffu || better(op, v, j, sv[lid], si[lid]))) {
          sv[lid] = v; si[lid] = j;
        }
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      if (op == 2u) { st_out(o, si[0]); } else { st_out(o, bitcast<u32>(sv[0])); }
    }
    workgroupBarrier();
  }
}`;
}
