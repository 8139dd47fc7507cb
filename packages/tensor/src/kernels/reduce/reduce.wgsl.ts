// WGSL of the axis reduction (sum / max / argmax): input viewed as [outer, r, inner]; output
// [outer, nChunks, inner] where each output reduces one chunk of the r axis (nChunks = 1 for a
// plain reduction; more for the first pass of a two-pass reduction of a long axis).
// Two variants: one workgroup per output with a tree in workgroup memory (GPUs), or one
// invocation per output with a serial loop (software adapters: barriers are costly there).

/** Threads per workgroup of the reduction. */
export const REDUCE_WG = 64;

const COMMON = /* wgsl */ `
fn better(op: u32, v: f32, j: u32, acc: f32, idx: u32) -> bool {
  if (op == 0u) { return false; }
  return v > acc || (v == acc && j < idx);
}
fn jRange(o: u32) -> vec3<u32> {
  let r = M(1u); let inner = M(2u); let chunk = M(4u);
  let nChunks = (r + chunk - 1u) / chunk;
  let oi = o % inner;
  let c = (o / inner) % nChunks;
  let ob = o / (inner * nChunks);
  let base = ob * r * inner + oi;
  return vec3<u32>(base, c * chunk, min(r, (c + 1u) * chunk));
}`;

/** meta: outer, r, inner, op (0 sum, 1 max, 2 argmax), chunk, nOut. */
export function reduceWgsl(decls: string, perThread: boolean): string {
  if (perThread) {
    return /* wgsl */ `${decls}
${COMMON}
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let inner = M(2u); let op = M(3u); let nOut = M(5u);
  let tid = gid.x + gid.y * nwg.x * ${REDUCE_WG}u;
  for (var o = tid; o < nOut; o += nwg.x * nwg.y * ${REDUCE_WG}u) {
    let jr = jRange(o);
    var acc = select(ninf_(), 0.0, op == 0u);
    var idx = jr.y;
    for (var j = jr.y; j < jr.z; j++) {
      let v = ld_x(jr.x + j * inner);
      if (op == 0u) { acc += v; } else if (v > acc || j == jr.y) { acc = v; idx = j; }
    }
    if (op == 2u) { st_out(o, idx); } else { st_out(o, bitcast<u32>(acc)); }
  }
}`;
  }
  return /* wgsl */ `${decls}
${COMMON}
var<workgroup> sv: array<f32, ${REDUCE_WG}>;
var<workgroup> si: array<u32, ${REDUCE_WG}>;
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let inner = M(2u); let op = M(3u); let nOut = M(5u);
  for (var o = wid.x + wid.y * nwg.x; o < nOut; o += nwg.x * nwg.y) {
    let jr = jRange(o);
    var acc = select(ninf_(), 0.0, op == 0u);
    var idx = 0xffffffffu;
    for (var j = jr.y + lid; j < jr.z; j += ${REDUCE_WG}u) {
      let v = ld_x(jr.x + j * inner);
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
