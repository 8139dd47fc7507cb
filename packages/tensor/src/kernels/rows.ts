// Shared WGSL for row kernels: one 64-thread workgroup per row (grid-stride over rows) and
// workgroup-wide sum / max through workgroup memory.

/** Threads per workgroup of row kernels. */
export const ROW_WG = 64;

/** Workgroup reduction helpers (call from uniform control flow). */
export const ROW_HELPERS = /* wgsl */ `
var<workgroup> red: array<f32, ${ROW_WG}>;
fn wgSum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn wgMax(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

/** Rows per thread-per-row variant workgroup. */
const THREAD_WG = 64;

/**
 * Entry point of a row kernel; the body sees `row`, `lid` and strides its loops by `STRIDE`.
 * Rows count at meta word 0. `perThread` (software adapters): one invocation per row, no
 * workgroup memory or barriers (barriers are costly on CPU implementations).
 */
export function rowKernel(decls: string, body: string, perThread = false): string {
  if (perThread) {
    return /* wgsl */ `${decls}
const STRIDE: u32 = 1u;
fn wgSum(lid: u32, v: f32) -> f32 { return v; }
fn wgMax(lid: u32, v: f32) -> f32 { return v; }
@compute @workgroup_size(${THREAD_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let rows = M(0u);
  let lid = 0u;
  for (var row = gid.x + gid.y * nwg.x * ${THREAD_WG}u; row < rows; row += nwg.x * nwg.y * ${THREAD_WG}u) {
${body}
  }
}`;
  }
  return /* wgsl */ `${decls}
const STRIDE: u32 = ${ROW_WG}u;
${ROW_HELPERS}
@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let rows = M(0u);
  for (var row = wid.x + wid.y * nwg.x; row < rows; row += nwg.x * nwg.y) {
${body}
  }
}`;
}

/** Workgroup grid for `rows` rows (perThread: THREAD_WG rows per workgroup). */
export function rowGrid(rows: number, perThread = false): [number, number, number] {
  if (perThread) return [Math.max(1, Math.min(Math.ceil(rows / THREAD_WG), 65535)), 1, 1];
  return [
    Math.max(1, Math.min(rows, 65535)),
    Math.max(1, Math.min(Math.ceil(rows / 65535), 65535)),
    1,
  ];
}
